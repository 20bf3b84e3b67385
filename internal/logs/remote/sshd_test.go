package remote

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// sshd is a real OpenSSH server run by the test on 127.0.0.1 with its own
// host key and authorized_keys, and the client options (a config file
// with a throwaway key and known_hosts) that reach it without touching
// ~/.ssh.
type sshd struct {
	dir         string
	port        int
	cmd         *exec.Cmd
	done        chan struct{}
	user        string
	bin, config string
	// Args are the ssh options a Source needs to reach this server.
	Args []string
}

func keygen(t testing.TB, path string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "irtui-test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
}

func startSSHD(t testing.TB) *sshd {
	t.Helper()
	testkit.NeedRoot(t) // sshd changes user and needs its privilege separation
	sshdPath := testkit.NeedTool(t, "sshd", "openssh-server")
	testkit.NeedTool(t, "ssh", "openssh-client")
	testkit.NeedTool(t, "ssh-keygen", "openssh-client")
	if _, err := os.Stat("/run/sshd"); err != nil {
		// Debian's sshd refuses to start without its privilege separation
		// directory, which its init script normally creates.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	keygen(t, filepath.Join(dir, "host"))
	keygen(t, filepath.Join(dir, "client"))
	pub, _ := os.ReadFile(filepath.Join(dir, "client.pub"))
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host.pub"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("authorized_keys", string(pub))
	cfg := write("sshd_config", fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers %s
LogLevel ERROR
`, port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), u.Username))
	write("known_hosts", fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub))
	client := write("ssh_config", fmt.Sprintf(`Host *
  IdentityFile %s
  IdentitiesOnly yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
`, filepath.Join(dir, "client"), filepath.Join(dir, "known_hosts")))
	s := &sshd{dir: dir, port: port, user: u.Username, Args: []string{"-F", client}, bin: sshdPath, config: cfg}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// start runs the server (again, after stop: same port, same keys).
func (s *sshd) start(t testing.TB) {
	t.Helper()
	s.done = make(chan struct{})
	s.cmd = exec.Command(s.bin, "-D", "-e", "-f", s.config)
	var log bytes.Buffer
	s.cmd.Stderr = &log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := s.done
	go func() { s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("sshd exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not listen: %v: %s", err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server and every session process it started (its process
// group); sessions run in their own groups, so they are found by parent.
func (s *sshd) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.killSessions()
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// sessions lists the per-connection sshd processes (monitor and session
// child) under the listener, not the user's commands they run.
func (s *sshd) sessions() []int {
	var out []int
	for _, p := range descendants(s.cmd.Process.Pid) {
		if p.comm == "sshd" {
			out = append(out, p.pid)
		}
	}
	return out
}

type proc struct {
	pid  int
	comm string
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []proc {
	var out []proc
	queue := []int{pid}
	for len(queue) > 0 {
		kids := children(queue[0])
		queue = queue[1:]
		for _, k := range kids {
			out = append(out, k)
			queue = append(queue, k.pid)
		}
	}
	return out
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []proc {
	var out []proc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so cut at ')'.
		i := bytes.LastIndexByte(b, ')')
		j := bytes.IndexByte(b, '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, proc{pid: n, comm: string(b[j+1 : i])})
		}
	}
	return out
}

// killSessions drops every open link the hard way: the session processes
// die without closing anything politely, as when a link is cut.
func (s *sshd) killSessions() int {
	n := 0
	for _, pid := range s.sessions() {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

func (s *sshd) url(path string) string {
	return fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, s.port, path)
}

// collect runs src until ctx ends, gathering its lines.
func collect(ctx context.Context, src logs.Source) (<-chan logs.Line, <-chan error) {
	ch := make(chan logs.Line, 1<<16)
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, ch); close(ch) }()
	return ch, errc
}
