// Package lapitest runs a real CrowdSec Local API (Debian's crowdsec 1.4.6,
// agent disabled) for tests: its own configuration, SQLite database and
// machines in a temporary directory, no online API, no hub, optionally
// inside a network namespace.
package lapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
)

// LAPI is a CrowdSec Local API run by a test.
type LAPI struct {
	Dir    string
	Config string
	URL    string
	NetNS  string // "" for this namespace
}

// NeedCrowdSec skips (fails in CI) without crowdsec and cscli.
func NeedCrowdSec(t testing.TB) {
	t.Helper()
	testkit.NeedTool(t, "crowdsec", "crowdsec")
	testkit.NeedTool(t, "cscli", "crowdsec")
}

// FreePort asks the kernel for a free TCP port on loopback.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts crowdsec -no-cs listening on listen (host:port), inside
// netns when given; hc, when not nil, is how the test reaches it (a
// client dialling inside that namespace). It stops with the test.
func Start(t testing.TB, listen, netns string, hc *http.Client) *LAPI {
	t.Helper()
	NeedCrowdSec(t)
	dir := t.TempDir()
	l := &LAPI{Dir: dir, Config: filepath.Join(dir, "config.yaml"), URL: "http://" + listen, NetNS: netns}
	for _, d := range []string{"data", "hub", "notifications", "plugins"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`common:
  daemonize: false
  log_media: stdout
  log_level: warning
  working_dir: .
config_paths:
  config_dir: %[1]s/
  data_dir: %[1]s/data/
  simulation_path: %[1]s/simulation.yaml
  hub_dir: %[1]s/hub/
  index_path: %[1]s/hub/.index.json
  notification_dir: %[1]s/notifications/
  plugin_dir: %[1]s/plugins/
db_config:
  type: sqlite
  db_path: %[1]s/data/crowdsec.db
  use_wal: false
api:
  client:
    credentials_path: %[1]s/local_api_credentials.yaml
  server:
    log_level: warning
    listen_uri: %[2]s
    profiles_path: %[1]s/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
`, dir, listen)
	files := map[string]string{
		"config.yaml":                cfg,
		"simulation.yaml":            "simulation: false\n",
		"local_api_credentials.yaml": "",
		"profiles.yaml":              "name: default_ip_remediation\nfilters:\n - Alert.Remediation == true && Alert.GetScope() == \"Ip\"\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// cscli decisions add logs in as a machine of its own.
	l.Cscli(t, "machines", "add", "cscli-test", "--password", "pw-cscli-0123456789", "-f", filepath.Join(dir, "local_api_credentials.yaml"))
	argv := []string{"crowdsec", "-c", l.Config, "-no-cs"}
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	if hc == nil {
		hc = http.DefaultClient
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(l.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("crowdsec exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the LAPI does not answer on %s: %v\n%s", l.URL, err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return l
}

// Cscli runs cscli against this LAPI's configuration, in its namespace.
func (l *LAPI) Cscli(t testing.TB, args ...string) string {
	t.Helper()
	argv := append([]string{"cscli", "-c", l.Config, "--error"}, args...)
	if l.NetNS != "" {
		argv = append([]string{"ip", "netns", "exec", l.NetNS}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("cscli %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Machine registers a machine and returns the path of its credentials file.
func (l *LAPI) Machine(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(l.Dir, name+"-credentials.yaml")
	l.Cscli(t, "machines", "add", name, "--password", "pw-"+name+"-0123456789", "-f", path)
	// cscli writes the listen address; keep it (the test reaches the LAPI there).
	return path
}

// Bouncer registers a bouncer and returns its API key.
func (l *LAPI) Bouncer(t testing.TB, name string) string {
	t.Helper()
	key := "key" + name + "0123456789abcdef"
	l.Cscli(t, "bouncers", "add", name, "--key", key)
	return key
}

// csAlert is a row of cscli decisions list -o json.
type csAlert struct {
	ID        int64  `json:"id"`
	MachineID string `json:"machine_id"`
	Decisions []struct {
		ID       int64  `json:"id"`
		Origin   string `json:"origin"`
		Scope    string `json:"scope"`
		Value    string `json:"value"`
		Scenario string `json:"scenario"`
		Duration string `json:"duration"`
		Type     string `json:"type"`
	} `json:"decisions"`
}

// Active returns origin → values of the decisions in force, as cscli
// (not irtui) sees them.
func (l *LAPI) Active(t testing.TB) map[string][]string {
	t.Helper()
	out := l.Cscli(t, "decisions", "list", "-a", "-o", "json", "--limit", "0")
	var alerts []csAlert
	if strings.TrimSpace(out) != "null" && strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &alerts); err != nil {
			t.Fatalf("cscli decisions list: %v: %s", err, out)
		}
	}
	m := map[string][]string{}
	for _, a := range alerts {
		for _, d := range a.Decisions {
			if left, err := time.ParseDuration(d.Duration); err == nil && left > 0 {
				m[d.Origin] = append(m[d.Origin], d.Value)
			}
		}
	}
	return m
}
