package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if got := ConfigPath(); got != filepath.Join(dir, "irtui", "config.yaml") {
		t.Fatalf("ConfigPath %q", got)
	}
	c, err := LoadConfig(ConfigPath())
	if err != nil || len(c.OwnDomains) != 0 {
		t.Fatalf("missing file: %+v %v", c, err)
	}
	if err := os.MkdirAll(filepath.Dir(ConfigPath()), 0o755); err != nil {
		t.Fatal(err)
	}
	yml := "allowlist: [192.0.2.1]\nown_domains:\n  - example.com\n  - example.org\ndkim_selectors: [s1]\n"
	if err := os.WriteFile(ConfigPath(), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = LoadConfig(ConfigPath())
	if err != nil || strings.Join(c.OwnDomains, ",") != "example.com,example.org" || c.DKIMSelectors[0] != "s1" {
		t.Fatalf("%+v %v", c, err)
	}
	if err := os.WriteFile(ConfigPath(), []byte("own_domains: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(ConfigPath()); err == nil || !strings.Contains(err.Error(), "fix the YAML") {
		t.Errorf("bad YAML: %v", err)
	}
}

func TestLocalTarget(t *testing.T) {
	p := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	cases := []struct {
		addrs    []netip.Addr
		host     string
		loopOnly bool
	}{
		{p("0.0.0.0"), "127.0.0.1", false},
		{p("::"), "127.0.0.1", false},
		{p("127.0.0.53"), "127.0.0.53", true},
		{p("::1", "127.0.0.1"), "127.0.0.1", true},
		{p("192.0.2.10"), "192.0.2.10", false},
		{p("127.0.0.1", "192.0.2.10"), "127.0.0.1", false},
	}
	for _, c := range cases {
		host, lo, ok := localTarget(c.addrs)
		if !ok || host != c.host || lo != c.loopOnly {
			t.Errorf("%v: %q %v %v", c.addrs, host, lo, ok)
		}
	}
	if _, _, ok := localTarget(nil); ok {
		t.Error("no addresses gave a target")
	}
}

// The checklist against this host's real /proc: a Go SMTP server (open
// relay) and a miekg/dns open resolver listen on loopback ports the test
// names; both only serve this host, so both are fine; the own domain's
// records come from a loopback zone server.
func TestCheckLocal(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	smtp := startSMTP(t, openPolicy, false)
	dnsAddr := startDNS(t, resolverBehaviour{recursive: true}.mux(t))
	zone := zoneServer(t, mailZone(t))
	port := func(a string) uint16 {
		_, p, _ := net.SplitHostPort(a)
		return netip.MustParseAddrPort("127.0.0.1:" + p).Port()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := CheckLocal(ctx, LocalOptions{
		ProcRoot: "/proc", Timeout: 2 * time.Second, Resolver: zone,
		SMTPPort: port(smtp.addr()), DNSPort: port(dnsAddr),
		Config: Config{OwnDomains: []string{"good.example.com", "bad.example.net"}, DKIMSelectors: []string{"sel1"}},
	})
	checks := map[string]Result{}
	for _, r := range results {
		checks[r.Check+" "+r.Target] = r
	}
	relay := checks["relay "+smtp.addr()]
	if relay.Verdict != Fine || !strings.Contains(relay.Summary, "listens only on 127.0.0.1") {
		t.Errorf("relay: %v %q", relay.Verdict, relay.Summary)
	}
	res := checks["resolver "+dnsAddr]
	if res.Verdict != Fine || !strings.Contains(res.Summary, "listens only on 127.0.0.1") {
		t.Errorf("resolver: %v %q", res.Verdict, res.Summary)
	}
	if r := checks["mail-dns good.example.com"]; r.Verdict != Fine {
		t.Errorf("good.example.com: %v %s", r.Verdict, r.Summary)
	}
	if r := checks["mail-dns bad.example.net"]; r.Verdict != Problem {
		t.Errorf("bad.example.net: %v %s", r.Verdict, r.Summary)
	}
	if _, ok := checks["syn this host"]; !ok {
		t.Errorf("no syn check in %v", results)
	}
	if Worst(results) != Problem || Worst(results).ExitCode() != 1 {
		t.Errorf("worst %v", Worst(results))
	}

	var text bytes.Buffer
	if err := WriteChecklist(&text, results); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[ ok ] relay", "[FAIL] mail-dns  bad.example.net", "result: problems found (exit 1)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("checklist lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, results); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&js)
	n := 0
	for dec.More() {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		if _, ok := obj["verdict"].(string); !ok {
			t.Errorf("object without a verdict word: %v", obj)
		}
		n++
	}
	if n != len(results) {
		t.Errorf("%d JSON objects for %d results", n, len(results))
	}
}

func TestCheckLocalNothingListening(t *testing.T) {
	needLittleEndian(t)
	results := CheckLocal(context.Background(), LocalOptions{ProcRoot: "testdata/proc-flood", SMTPPort: 2525, DNSPort: 5353})
	if len(results) != 4 || !results[0].Skipped || !results[1].Skipped || !results[2].Skipped {
		t.Fatalf("%+v", results)
	}
	if results[3].Check != "syn" || results[3].Verdict != Problem {
		t.Errorf("syn: %+v", results[3])
	}
	if Worst(results[:3]) != Fine {
		t.Error("skipped checks counted")
	}
}
