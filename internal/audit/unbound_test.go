package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
)

// startUnbound runs a real unbound in the foreground on a loopback port,
// with a stub zone example.org served by a miekg/dns authoritative server,
// and stops it at cleanup. extra is appended to the server: clause.
func startUnbound(t *testing.T, access string, extra string) string {
	t.Helper()
	unbound := testkit.NeedTool(t, "unbound", "unbound")
	auth := startDNS(t, resolverBehaviour{zone: "example.org."}.mux(t))
	authPort := auth[strings.LastIndexByte(auth, ':')+1:]

	dir := worldDir(t, "irtui-unbound-")
	port := freePort(t)
	conf := fmt.Sprintf(`server:
	interface: 127.0.0.1
	port: %[1]d
	do-ip6: no
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 %[2]s
	username: ""
	chroot: ""
	directory: "%[3]s"
	pidfile: "%[3]s/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 1
	num-threads: 1
	module-config: "iterator"
	edns-buffer-size: 4096
%[5]s
stub-zone:
	name: "example.org"
	stub-addr: 127.0.0.1@%[4]s
remote-control:
	control-enable: no
`, port, access, dir, authPort, extra)
	file := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("unbound-checkconf", file).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(unbound, "-d", "-c", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("unbound output:\n%s", out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, done)
	return addr
}

func TestResolverAgainstUnbound(t *testing.T) {
	cases := []struct {
		name        string
		access      string
		extra       string
		want        Verdict
		rateLimited bool
	}{
		{"open", "allow", "", Problem, false},
		{"closed", "refuse", "", Fine, false},
		{"open with ip-ratelimit", "allow", "\tip-ratelimit: 5\n", Problem, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := startUnbound(t, c.access, c.extra)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := CheckResolver(ctx, ResolverOptions{Addr: addr, Timeout: 3 * time.Second, Name: "www.example.org", AnyName: "example.org"})
			d := r.Data.(*ResolverData)
			if r.Verdict != c.want {
				t.Fatalf("verdict %v, want %v: %s\n%s", r.Verdict, c.want, r.Summary, strings.Join(r.Transcript, "\n"))
			}
			if d.Burst.RateLimited != c.rateLimited {
				t.Errorf("rate limited %v, want %v: %+v\n%s", d.Burst.RateLimited, c.rateLimited, d.Burst, strings.Join(r.Transcript, "\n"))
			}
			if c.want == Problem && (!d.Recursion.RA || d.Recursion.AA || d.Recursion.Answers == 0) {
				t.Errorf("recursion probe %+v", d.Recursion)
			}
			if c.want == Problem && !c.rateLimited && d.Any.Factor < AmplificationLimit {
				t.Errorf("ANY through unbound amplified only x%.1f: %+v", d.Any.Factor, d.Any)
			}
			if c.want == Fine && d.Recursion.Rcode != "REFUSED" {
				t.Errorf("closed unbound answered %s", d.Recursion.Rcode)
			}
		})
	}
}
