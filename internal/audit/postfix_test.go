package audit

import (
	"context"
	"crypto/x509"
	"encoding/pem"
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

	"github.com/irtui/irtui/internal/testkit"
)

const postfixMaster = "/usr/lib/postfix/sbin/master"

// freePort finds a loopback port free for both TCP and UDP at the moment of
// the call, for daemons that cannot be told to pick their own.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()
			return port
		}
	}
	t.Fatal("no free loopback port")
	return 0
}

// worldDir makes a temporary directory the daemons' unprivileged users can
// enter (t.TempDir is private to root).
func worldDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startPostfix runs a real Postfix master in the foreground with its own
// configuration directory, listening on 127.0.0.1, and stops it (and every
// daemon it started) when the test ends.
func startPostfix(t *testing.T, mynetworks string, withTLS bool) string {
	t.Helper()
	testkit.NeedRoot(t)
	postfix := testkit.NeedTool(t, "postfix", "postfix")
	if _, err := os.Stat(postfixMaster); err != nil {
		testkit.Missing(t, postfixMaster+" is missing (apt-get install postfix)")
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		testkit.Missing(t, "user postfix is missing (apt-get install postfix)")
	}
	uid, _ := strconv.Atoi(owner.Uid)

	dir := worldDir(t, "irtui-postfix-")
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{conf, filepath.Join(dir, "queue"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "data"), uid, -1); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
myhostname = mx.example.com
mydomain = example.com
mydestination = $myhostname, localhost
mynetworks = %[2]s
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
smtpd_error_sleep_time = 0
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
`, dir, mynetworks)
	if withTLS {
		certFile, keyFile := writeCert(t, conf)
		main += fmt.Sprintf("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", certFile, keyFile)
	}
	master := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`, port)
	for name, text := range map[string]string{"main.cf": main, "master.cf": master} {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// "postfix check" creates the queue directories with the right owners.
	if out, err := exec.Command(postfix, "-c", conf, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix check: %v\n%s", err, out)
	}
	cmd := exec.Command(postfixMaster, "-c", conf, "-d")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The master and its daemons share the process group we gave it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("postfix output:\n%s\nmaillog:\n%s", out.String(), log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, done)
	return addr
}

// waitListening polls until a daemon accepts connections: an external
// process has no readiness callback.
func waitListening(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("the daemon exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 15s", addr)
}

func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	c := selfSigned(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestRelayAgainstPostfix(t *testing.T) {
	cases := []struct {
		name       string
		mynetworks string
		tls        bool
		want       Verdict
	}{
		// 127.0.0.0/8 in mynetworks makes every local client trusted: open.
		{"closed", "192.0.2.0/24", false, Fine},
		{"open", "127.0.0.0/8", false, Problem},
		{"closed with STARTTLS", "192.0.2.0/24", true, Fine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := startPostfix(t, c.mynetworks, c.tls)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r := CheckRelay(ctx, RelayOptions{Addr: addr, Timeout: 10 * time.Second})
			tr := strings.Join(r.Transcript, "\n")
			if r.Verdict != c.want {
				t.Fatalf("verdict %v, want %v: %s\n%s", r.Verdict, c.want, r.Summary, tr)
			}
			if !strings.Contains(tr, "ESMTP Postfix") {
				t.Errorf("not talking to Postfix:\n%s", tr)
			}
			d := r.Data.(*RelayData)
			if c.tls && (!d.StartTLSOffered || d.TLSVersion == "") {
				t.Errorf("STARTTLS not used against Postfix:\n%s", tr)
			}
			for _, a := range d.Attempts {
				if a.Outcome == outcomeNotTested {
					t.Errorf("attempt %q (tls %v) not tested:\n%s", a.Variant, a.TLS, tr)
				}
			}
		})
	}
}
