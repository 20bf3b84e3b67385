// Package testkit owns what tests need from the machine they run on: the
// shared fixtures, root, network namespaces and Debian tools. On a user's
// machine a missing piece skips the test with the reason; when CI is set it
// fails it, so nothing an issue asks for silently does not run in CI.
package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether the CI environment variable is set.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing skips t, or fails it in CI, with reason.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", reason)
	}
	t.Skipf("skipped: %s", reason)
}

// Root returns the project's root directory (the one holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Fixtures returns ../shared/fixtures beside the project root, skipping (or
// failing in CI) when it is absent.
func Fixtures(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(Root(t), "..", "shared", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		Missing(t, "../shared/fixtures is not beside the checkout")
	}
	return dir
}

// Fixture returns the path of a file under the shared fixtures.
func Fixture(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Fixtures(t), rel)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "fixture "+rel+" is missing")
	}
	return p
}

// NeedTool returns the path of a command, skipping (failing in CI) when it is
// not installed. hint names the Debian package.
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (apt-get install "+debianPackage+")")
	}
	return p
}

// NeedRoot skips (fails in CI) unless the test runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root (network namespaces and firewall changes)")
	}
}

// CPUTime returns the process's user and system CPU time, for benchmarks
// to report: a busy machine inflates it less than wall time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
