package remote

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

	"github.com/irtui/irtui/internal/logs"
)

// logFile is a log written by the test, line by line, numbered.
type logFile struct {
	path string
	mu   sync.Mutex
	next int
}

func newLog(t testing.TB, name string, n int) *logFile {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	l := &logFile{path: filepath.Join(dir, name), next: 1}
	if err := os.WriteFile(l.path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l.write(t, n)
	return l
}

func lineText(i int) string {
	return fmt.Sprintf("192.0.2.%d - - [23/Nov/2026:09:00:00 +0000] \"GET /p/%d HTTP/1.1\" 200 12 \"-\" \"t\"", i%250+1, i)
}

// write appends n numbered lines to the file at its current name.
func (l *logFile) write(t testing.TB, n int) {
	t.Helper()
	l.writeTo(t, l.path, n)
}

func (l *logFile) writeTo(t testing.TB, path string, n int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(lineText(l.next))
		b.WriteByte('\n')
		l.next++
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// expectExactly reads until lines 1..n have arrived, failing on any line
// out of order, repeated or missing.
func expectExactly(t testing.TB, ch <-chan logs.Line, from, to int, host string, timeout time.Duration) {
	t.Helper()
	expectLines(t, ch, from, to, host, timeout, true)
}

// expectLines is expectExactly, checking line numbers only when checkNo
// (they count lines delivered, so lost lines shift them).
func expectLines(t testing.TB, ch <-chan logs.Line, from, to int, host string, timeout time.Duration, checkNo bool) {
	t.Helper()
	deadline := time.After(timeout)
	for want := from; want <= to; {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("source ended at line %d of %d", want, to)
			}
			if l.Text != lineText(want) {
				t.Fatalf("got %q, want line %d (%q)", l.Text, want, lineText(want))
			}
			if l.Host != host || (checkNo && l.No != int64(want)) {
				t.Fatalf("line %d: host %q no %d", want, l.Host, l.No)
			}
			want++
		case <-deadline:
			t.Fatalf("timed out waiting for line %d of %d", want, to)
		}
	}
}

func expectNothing(t testing.TB, ch <-chan logs.Line, d time.Duration) {
	t.Helper()
	select {
	case l := <-ch:
		t.Fatalf("unexpected line %d: %q", l.No, l.Text)
	case <-time.After(d):
	}
}

func waitFor(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newSource(t testing.TB, s *sshd, path string, fromStart bool) *Source {
	t.Helper()
	src, err := New(s.url(path), Options{Args: s.Args, FromStart: fromStart, MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// noRemoteLeft fails when any process below sshd still mentions path:
// a follower left running on the remote host after its link went.
func noRemoteLeft(t testing.TB, s *sshd, path string) {
	t.Helper()
	waitFor(t, "the remote follower to end", 10*time.Second, func() bool { return !remoteMentions(s, path) })
}

// remoteSleeping reports whether the follower of path is in its loop
// waiting for the file to appear (a sleep under it).
func remoteSleeping(s *sshd, path string) bool {
	for _, p := range descendants(s.cmd.Process.Pid) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid)); err == nil && strings.Contains(string(b), filepath.Base(path)) {
			for _, c := range children(p.pid) {
				if c.comm == "sleep" {
					return true
				}
			}
		}
	}
	return false
}

// remoteMentions reports whether a process below sshd has path in its
// command line.
func remoteMentions(s *sshd, path string) bool {
	for _, p := range descendants(s.cmd.Process.Pid) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid)); err == nil && strings.Contains(string(b), filepath.Base(path)) {
			return true
		}
	}
	return false
}

func TestFollowResumesAfterDroppedLink(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "access.log", 100)
	src := newSource(t, s, lf.path, true)
	var warns []string
	var wmu sync.Mutex
	src.SetWarn(func(m string) { wmu.Lock(); warns = append(warns, m); wmu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, errc := collect(ctx, src)
	expectExactly(t, ch, 1, 100, "127.0.0.1", 15*time.Second)
	if h := src.Health(); !h.Connected || h.Lines != 100 || h.Offset != fileSize(t, lf.path) {
		t.Fatalf("health after the backlog: %+v", h)
	}
	lf.write(t, 50)
	expectExactly(t, ch, 101, 150, "127.0.0.1", 10*time.Second)

	// Cut the link in the middle of a stream: lines keep being written
	// while it is down and while it comes back.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 40; i++ {
			lf.write(t, 25)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if n := s.killSessions(); n == 0 {
		t.Fatal("no ssh session to cut")
	}
	<-done
	expectExactly(t, ch, 151, 1150, "127.0.0.1", 20*time.Second)
	expectNothing(t, ch, 500*time.Millisecond)
	h := src.Health()
	if h.Reconnects < 1 || h.Lines != 1150 || h.LastError == "" {
		t.Fatalf("health after the cut: %+v", h)
	}
	wmu.Lock()
	if len(warns) == 0 || !strings.Contains(warns[0], "reconnecting") {
		t.Errorf("warnings: %q", warns)
	}
	wmu.Unlock()

	// A second cut while the writer is idle, then more lines.
	s.killSessions()
	waitFor(t, "the reconnect", 10*time.Second, func() bool { return src.Health().Reconnects >= 2 && src.Health().Connected })
	lf.write(t, 10)
	expectExactly(t, ch, 1151, 1160, "127.0.0.1", 10*time.Second)

	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	noRemoteLeft(t, s, lf.path)
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestRotationWhileDisconnected(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "mail.log", 20)
	src := newSource(t, s, lf.path, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := collect(ctx, src)
	expectExactly(t, ch, 1, 20, "127.0.0.1", 15*time.Second)

	// The server goes away; meanwhile the log is written, rotated (the
	// writer still appends to the renamed file for a while, as nginx does
	// until it reopens), and a new file starts.
	s.stop()
	lf.write(t, 30)
	if err := os.Rename(lf.path, lf.path+".1"); err != nil {
		t.Fatal(err)
	}
	lf.writeTo(t, lf.path+".1", 5)
	lf.write(t, 15)
	time.Sleep(300 * time.Millisecond)
	s.start(t)
	expectExactly(t, ch, 21, 70, "127.0.0.1", 20*time.Second)
	lf.write(t, 5)
	expectExactly(t, ch, 71, 75, "127.0.0.1", 10*time.Second)
	if h := src.Health(); h.Recovered != 35 {
		t.Errorf("recovered %d lines from the rotated file, want 35: %+v", h.Recovered, h)
	}
}

func TestRotationWhileConnected(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "access.log", 10)
	src := newSource(t, s, lf.path, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := collect(ctx, src)
	expectExactly(t, ch, 1, 10, "127.0.0.1", 15*time.Second)
	for round := 0; round < 2; round++ {
		base := 10 + round*60
		lf.write(t, 20)
		os.Remove(lf.path + ".1")
		if err := os.Rename(lf.path, lf.path+".1"); err != nil {
			t.Fatal(err)
		}
		lf.writeTo(t, lf.path+".1", 20) // written after the rename
		lf.write(t, 20)                 // the new file
		expectExactly(t, ch, base+1, base+60, "127.0.0.1", 20*time.Second)
	}
	expectNothing(t, ch, 1500*time.Millisecond)
	if h := src.Health(); h.Rotations < 2 {
		t.Errorf("rotations: %+v", h)
	}
}

func TestFromEndAndMissingFile(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "app.log", 30)
	lf.next = 1 // the lines already there are not expected
	src := newSource(t, s, lf.path, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := collect(ctx, src)
	waitFor(t, "the connection", 10*time.Second, func() bool { return src.Health().Connected })
	expectNothing(t, ch, 300*time.Millisecond)
	lf.write(t, 5)
	expectExactly(t, ch, 1, 5, "127.0.0.1", 10*time.Second)

	// A file that does not exist yet is waited for, and read from its start.
	missing := filepath.Join(filepath.Dir(lf.path), "later.log")
	src2 := newSource(t, s, missing, false)
	ch2, _ := collect(ctx, src2)
	waitFor(t, "the follower to wait for the file", 10*time.Second, func() bool { return remoteSleeping(s, missing) })
	later := &logFile{path: missing, next: 1}
	later.write(t, 3)
	expectExactly(t, ch2, 1, 3, "127.0.0.1", 10*time.Second)
	later.write(t, 2)
	expectExactly(t, ch2, 4, 5, "127.0.0.1", 10*time.Second)
}

func TestAuthFailureIsReported(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "x.log", 1)
	// A config with another key: the server refuses it.
	other := filepath.Join(t.TempDir(), "other")
	keygen(t, other)
	cfg := filepath.Join(t.TempDir(), "cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n", other, filepath.Join(s.dir, "known_hosts"))), 0o600)
	src, err := New(s.url(lf.path), Options{Args: []string{"-F", cfg}, MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	collect(ctx, src)
	waitFor(t, "two failed attempts", 20*time.Second, func() bool { return src.Health().Reconnects >= 2 })
	h := src.Health()
	if h.Connected || !strings.Contains(h.LastError, "Permission denied") || h.Host != "127.0.0.1" {
		t.Fatalf("health: %+v", h)
	}
}

// The plain command source (--cmd 'ssh HOST tail -F …') already follows a
// remote file: no resume, but lines arrive.
func TestCommandSourceOverSSH(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "cmd.log", 5)
	argv := append([]string{"ssh"}, s.Args...)
	argv = append(argv, "-p", fmt.Sprint(s.port), s.user+"@127.0.0.1", "tail", "-n", "+1", "-F", lf.path)
	src, err := logs.NewCommandSource(strings.Join(argv, " "))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := collect(ctx, src)
	for i := 1; i <= 5; i++ {
		select {
		case l := <-ch:
			if l.Text != lineText(i) {
				t.Fatalf("line %d: %q", i, l.Text)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no line %d through --cmd ssh", i)
		}
	}
}

func TestSample(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "s.log", 40)
	src := newSource(t, s, lf.path, false)
	got := src.Sample(10)
	if len(got) != 10 || got[9] != lineText(40) {
		t.Fatalf("sample: %q", got)
	}
}

// The remote command survives any path: it is run here by a local sh -c,
// as a remote login shell would run it.
func TestRemoteCommandQuoting(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	for _, name := range []string{"plain.log", "with space.log", "it's.log", "$(touch pwned).log", "`id`;x.log", "-dash.log", "quote\"d.log"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", remoteCommand(path, "", "0"))
		cmd.Dir = dir
		stdin, _ := cmd.StdinPipe()
		out := logs.NewTailBuffer(1 << 16)
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "output for "+name, 5*time.Second, func() bool { return strings.Contains(out.String(), "two\n") })
		stdin.Close() // the link goes: the follower must end by itself
		waitErr := make(chan error, 1)
		go func() { waitErr <- cmd.Wait() }()
		select {
		case <-waitErr:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s: the follower did not end when its input closed", name)
		}
		h, ok := parseHeader(strings.SplitN(out.String(), "\n", 2)[0])
		if !ok || h.start != 0 || h.old != 0 || !strings.HasSuffix(out.String(), "\none\ntwo\n") {
			t.Fatalf("%s: output %q", name, out.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Fatalf("%s: the path was run as a command", name)
		}
	}
}

// BenchmarkRemoteBacklog reads a 100,000-line access log from its start
// through a real sshd on loopback: the cost of following a remote file.
func BenchmarkRemoteBacklog(b *testing.B) {
	s := startSSHD(b)
	lf := newLog(b, "big.log", 100000)
	size := fileSize(b, lf.path)
	b.SetBytes(size)
	for b.Loop() {
		src := newSource(b, s, lf.path, true)
		ctx, cancel := context.WithCancel(context.Background())
		ch, _ := collect(ctx, src)
		for n := 0; n < 100000; n++ {
			<-ch
		}
		cancel()
	}
	b.ReportMetric(100000*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// When the file irtui was reading is gone from PATH.1 too (rotated twice
// while the link was down), or was truncated, the operator is told, and
// following goes on with the file at PATH from its start.
func TestLostRotationAndTruncationWarn(t *testing.T) {
	s := startSSHD(t)
	lf := newLog(t, "r.log", 10)
	src := newSource(t, s, lf.path, true)
	warns := make(chan string, 100)
	src.SetWarn(func(m string) { warns <- m })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := collect(ctx, src)
	expectExactly(t, ch, 1, 10, "127.0.0.1", 15*time.Second)

	s.stop()
	lf.write(t, 5) // 11..15: lost with the file
	os.Rename(lf.path, lf.path+".1")
	os.Rename(lf.path+".1", lf.path+".2")
	lf.write(t, 5) // 16..20 in a new file
	s.start(t)
	expectLines(t, ch, 16, 20, "127.0.0.1", 20*time.Second, false)
	waitWarn(t, warns, "lines written to it after the drop are lost")

	s.stop()
	if err := os.Truncate(lf.path, 0); err != nil {
		t.Fatal(err)
	}
	lf.write(t, 2) // 21..22 in the truncated file
	s.start(t)
	expectLines(t, ch, 21, 22, "127.0.0.1", 20*time.Second, false)
	waitWarn(t, warns, "shrank")
}

func waitWarn(t *testing.T, warns <-chan string, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-warns:
			if strings.Contains(m, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no warning saying %q", want)
		}
	}
}
