package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
)

// tmuxTerm drives the real binary in a real terminal: a private tmux
// server, keys with send-keys, the screen with capture-pane.
type tmuxTerm struct {
	t      *testing.T
	tmux   string
	socket string
}

func (tt *tmuxTerm) run(args ...string) (string, error) {
	out, err := exec.Command(tt.tmux, append([]string{"-L", tt.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (tt *tmuxTerm) screen() string {
	out, err := tt.run("capture-pane", "-p", "-t", "e2e")
	if err != nil {
		tt.t.Fatalf("capture-pane: %v: %s", err, out)
	}
	return out
}

// waitFor polls the screen until every want is on it.
func (tt *tmuxTerm) waitFor(what string, want ...string) string {
	tt.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		s = tt.screen()
		ok := true
		for _, w := range want {
			if !strings.Contains(s, w) {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	tt.t.Fatalf("%s: screen never showed %q:\n%s", what, want, s)
	return ""
}

func (tt *tmuxTerm) keys(ks ...string) {
	tt.t.Helper()
	for _, k := range ks {
		if out, err := tt.run("send-keys", "-t", "e2e", k); err != nil {
			tt.t.Fatalf("send-keys %s: %v: %s", k, err, out)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// appendLog writes combined-format lines, a few carrying a hostile user
// agent, until ctx ends.
func appendLog(ctx context.Context, t *testing.T, path string, wg *sync.WaitGroup) {
	defer wg.Done()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	for i := 0; ; i++ {
		var b strings.Builder
		ts := time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700")
		for k := range 50 {
			fmt.Fprintf(&b, "203.0.113.%d - - [%s] \"GET /img/hero.jpg HTTP/1.1\" 200 51234 \"-\" \"%s\"\n", (i*50+k)%200+1, ts, evilUA)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			t.Error(err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestEndToEndTmux builds irtui, runs `irtui watch` in tmux at 80x24 on a
// log being appended to, and walks the console with real key presses.
func TestEndToEndTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	tmux := testkit.NeedTool(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "irtui")
	build := exec.Command("go", "build", "-o", bin, "./cmd/irtui")
	build.Dir = testkit.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	log := filepath.Join(dir, "access.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go appendLog(ctx, t, log, &wg)
	defer func() { cancel(); wg.Wait() }()

	tt := &tmuxTerm{t: t, tmux: tmux, socket: fmt.Sprintf("irtui-e2e-%d", os.Getpid())}
	t.Cleanup(func() { tt.run("kill-server") })
	// the command is an argument vector: tmux runs it without a shell
	if out, err := tt.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "-e", "NO_COLOR=1", "-e", "XDG_CONFIG_HOME="+dir,
		bin, "watch", "--offline", "--dry-run", "--state-dir", filepath.Join(dir, "state"), "--refresh", "500ms", log); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	tt.run("set-option", "-t", "e2e", "remain-on-exit", "on")

	s := tt.waitFor("overview", "irtui [DRY-RUN] [1 Overview]", "access.log", "page_flood")
	if lines := strings.Split(strings.TrimRight(s, "\n"), "\n"); len(lines) > 24 {
		t.Fatalf("%d lines on a 24-line terminal", len(lines))
	}

	tt.keys("2")
	tt.waitFor("attackers", "[2 Attackers]", "AS unknown")
	tt.keys("Enter")
	tt.waitFor("prefixes", "ASes › AS unknown", "203.0.113.0/24")
	tt.keys("Enter")
	tt.waitFor("addresses", "› 203.0.113.0/24", "203.0.113.1")
	tt.keys("Enter")
	tt.waitFor("address", "Address", "Recent lines", "GET /img/hero.jpg")

	tt.keys("b")
	tt.waitFor("block dialog", "Block 203.0.113.", "Rules (DRY-RUN", "enter apply")
	tt.keys("Enter")
	tt.waitFor("applied", "blocked 1 target(s)")
	tt.keys("6")
	tt.waitFor("blocks", "Active blocks: 1", "/32")
	tt.keys("u")
	tt.waitFor("unblocked", "Active blocks: 0", "unblocked")

	// the hostile user agent is shown inert, and never set the title
	if out, _ := tt.run("resize-window", "-t", "e2e", "-x", "250", "-y", "30"); out != "" {
		t.Logf("resize-window: %s", out)
	}
	tt.keys("7")
	tt.waitFor("log at 250 columns", "Log: following", "?]0;pwned? ?[2J bot")
	if title, _ := tt.run("display-message", "-p", "-t", "e2e", "#{pane_title}"); strings.Contains(title, "pwned") {
		t.Fatalf("the user agent set the pane title: %q", title)
	}
	tt.keys("p")
	tt.waitFor("paused", "Log: PAUSED")

	tt.run("resize-window", "-t", "e2e", "-x", "50", "-y", "12")
	tt.waitFor("too small", "Terminal too small: 50x12")
	tt.run("resize-window", "-t", "e2e", "-x", "80", "-y", "24")
	tt.waitFor("back to 80x24", "[7 Log]", "Log: PAUSED")

	tt.keys("?")
	tt.waitFor("help", "Keys: everywhere, then on Log", "p follow")
	tt.keys("Escape", "q")
	tt.waitExit("q")
}

// waitExit waits for the program to end and fails unless it exited with
// status 0. tmux may mark the pane dead (its terminal closed) a moment
// before it learns the exit status, and under load sometimes never
// reports it: a dead pane with no status and no signal is taken as a
// normal end.
func (tt *tmuxTerm) waitExit(what string) {
	tt.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := tt.run("display-message", "-p", "-t", "e2e", "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}")
		f := strings.Split(strings.TrimSpace(out), "|")
		if len(f) == 3 && f[0] == "1" {
			switch {
			case f[1] == "0":
				return
			case f[1] != "" || f[2] != "":
				tt.t.Fatalf("irtui exited with status %q signal %q:\n%s", f[1], f[2], tt.screen())
			case time.Now().After(deadline):
				tt.t.Logf("tmux never reported the exit status of the dead pane; taking it as 0")
				return
			}
		} else if time.Now().After(deadline) {
			tt.t.Fatalf("%s did not quit (%q):\n%s", what, out, tt.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDemoDrillTmux runs `irtui --demo` in tmux: DRILL in the header, a
// finding and the suggested playbook on the Overview, the Playbook screen,
// a step done and one skipped, then q ends the drill on its score, which
// is printed again after the console exits.
func TestDemoDrillTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives it in tmux")
	}
	tmux := testkit.NeedTool(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "irtui")
	build := exec.Command("go", "build", "-o", bin, "./cmd/irtui")
	build.Dir = testkit.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tt := &tmuxTerm{t: t, tmux: tmux, socket: fmt.Sprintf("irtui-e2e-demo-%d", os.Getpid())}
	t.Cleanup(func() { tt.run("kill-server") })
	if out, err := tt.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "-e", "NO_COLOR=1", "-e", "XDG_CONFIG_HOME="+dir,
		"-e", "IRTUI_STATE_DIR="+filepath.Join(dir, "state"), "-e", "TMPDIR="+dir,
		bin, "--demo", "--speed", "4", "--refresh", "500ms"); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	tt.run("set-option", "-t", "e2e", "remain-on-exit", "on")

	tt.waitFor("the attack's finding", "irtui [DRILL]", "press 8: suggested playbook", "Mode: DRILL", "page_flood")
	tt.keys("8")
	tt.waitFor("playbooks", "[8 Playbook]", "SUGGESTED BY", "enter start playbook")
	tt.keys("Enter")
	tt.waitFor("run", "Step 1 of", "▶ now     1")
	tt.keys("Enter")
	tt.waitFor("step 1 done", "Step 2 of", "done    1")
	tt.keys("s")
	tt.waitFor("step 2 skipped", "Step 3 of", "skipped 2")
	tt.keys("1")
	tt.waitFor("overview", "[1 Overview]", "press 8: playbook ", "at step 3/")
	tt.keys("q")
	s := tt.waitFor("score", "[DRILL]", "The drill is over", `Drill "accidental-dos"`, "playbook steps:  1 done, 1 skipped")
	if strings.Contains(s, "detected:        never") {
		t.Fatalf("the finding on screen was not taken as the detection:\n%s", s)
	}
	tt.keys("q")
	tt.waitExit("q on the score")
	// the score, printed on the terminal after the console left it (its
	// first line may have scrolled into the history)
	out, err := tt.run("capture-pane", "-p", "-t", "e2e", "-S", "-50")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Drill "accidental-dos"`, "attack stopped:", "playbook steps:  1 done, 1 skipped"} {
		if !strings.Contains(out, want) {
			t.Fatalf("printed score lacks %q:\n%s", want, out)
		}
	}
	// the drill cleaned up after itself
	if left, _ := filepath.Glob(filepath.Join(dir, "irtui-drill-*")); len(left) > 0 {
		t.Fatalf("the drill's directory was left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "timeline.jsonl")); err == nil {
		t.Fatal("the drill wrote into the operator's timeline")
	}
}
