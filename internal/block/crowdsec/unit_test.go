package crowdsec

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/irtui/irtui/internal/block"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// testBackend is a backend whose last listing is set by the test: Prepare
// is a pure function of it.
func testBackend(t *testing.T, refs map[block.ElemKey][]decRef) (*Backend, *block.Installed) {
	t.Helper()
	c, err := NewClient(Credentials{URL: "http://192.0.2.1:8080", Login: "irtui-ops", Password: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend(c)
	have := &block.Installed{Elems: map[block.ElemKey]block.ElemState{}}
	for k, rr := range refs {
		have.Elems[k] = block.ElemState{Expires: rr[0].until}
		have.Present = true
	}
	b.last, b.refs = have, refs
	return b, have
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func want(exp time.Time, ps ...string) *block.State {
	rs := &block.RuleState{Rule: block.Rule{Action: block.Drop}, Elems: map[netip.Prefix]time.Time{}}
	for _, p := range ps {
		rs.Elems[pfx(p)] = exp
	}
	return &block.State{Rules: map[string]*block.RuleState{dropAll: rs}}
}

func TestPrepareGolden(t *testing.T) {
	k := func(p string) block.ElemKey { return block.ElemKey{Rule: dropAll, Prefix: pfx(p)} }
	b, have := testBackend(t, map[block.ElemKey][]decRef{
		k("192.0.2.7"):       {{id: 11, until: t0.Add(time.Hour)}},                                     // kept
		k("198.51.100.0/24"): {{id: 12, until: t0.Add(time.Hour)}},                                     // extended
		k("203.0.113.9"):     {{id: 13, until: t0.Add(time.Hour)}, {id: 14, until: t0.Add(time.Hour)}}, // duplicate goes
		k("203.0.113.10"):    {{id: 15, until: t0.Add(time.Hour)}},                                     // unblocked
	})
	b.SetReason("mail_relay finding f3 \x1b[31m")
	st := want(t0.Add(time.Hour), "192.0.2.7", "203.0.113.9", "2001:db8:7::/48", "192.0.2.8")
	st.Rules[dropAll].Elems[pfx("198.51.100.0/24")] = t0.Add(3 * time.Hour)
	batch, err := b.Prepare(st, have, t0)
	if err != nil {
		t.Fatal(err)
	}
	s := batch.Summary
	if s.Added != 2 || s.Refreshed != 1 || s.Removed != 1 || s.RemovesAll {
		t.Fatalf("summary %+v", s)
	}
	golden(t, "prepare.txt", batch.Text())

	// Everything goes: one DELETE per decision, nothing posted.
	batch, err = b.Prepare(&block.State{Rules: map[string]*block.RuleState{}}, have, t0)
	if err != nil || !batch.Summary.RemovesAll || strings.Contains(batch.Text(), "POST") || strings.Count(batch.Text(), "# DELETE") != 5 {
		t.Fatalf("unblock all: %v\n%s", err, batch.Text())
	}
	// A listing not from this backend's last Installed is refused.
	if _, err := b.Prepare(st, &block.Installed{Elems: have.Elems}, t0); err == nil {
		t.Fatal("stale listing accepted")
	}
}

func TestExecRefusesForeignSteps(t *testing.T) {
	b, _ := testBackend(t, nil)
	for _, st := range []block.Step{
		{Program: "POST", Args: []string{"http://198.51.100.1/v1/alerts"}},
		{Program: "DELETE", Args: []string{"http://192.0.2.1:8080/v1/decisions/abc"}},
		{Program: "DELETE", Args: []string{"http://192.0.2.1:8080/v1/alerts"}},
		{Program: "PUT", Args: []string{"http://192.0.2.1:8080/v1/alerts"}},
		{Program: "POST", Args: []string{"http://192.0.2.1:8080/v1/watchers"}},
	} {
		if err := b.Exec(t.Context(), block.Batch{Steps: []block.Step{st}}); err == nil {
			t.Errorf("%+v executed", st)
		}
	}
}

func TestCheckDecisions(t *testing.T) {
	okd := NewDecision{Prefix: pfx("192.0.2.7"), Duration: time.Hour}
	for _, bad := range []NewDecision{
		{Prefix: netip.Prefix{}, Duration: time.Hour},
		{Prefix: netip.MustParsePrefix("192.0.2.7/24"), Duration: time.Hour},
		{Prefix: netip.MustParsePrefix("::ffff:192.0.2.7/128"), Duration: time.Hour},
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Duration: time.Hour},
		{Prefix: pfx("192.0.2.8"), Duration: 0},
		{Prefix: pfx("192.0.2.8"), Duration: block.MaxTTL + time.Second},
	} {
		if err := CheckDecisions([]NewDecision{okd, bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := CheckDecisions([]NewDecision{okd}); err != nil {
		t.Fatal(err)
	}
}

func TestRangeNote(t *testing.T) {
	if RangeNote([]netip.Prefix{pfx("192.0.2.7"), pfx("2001:db8::1")}) != "" {
		t.Fatal("note for single addresses")
	}
	if n := RangeNote([]netip.Prefix{pfx("198.51.100.0/24")}); !strings.Contains(n, "198.51.100.0/24 → 198.51.100.0") {
		t.Fatalf("note %q", n)
	}
}

func TestParseCredentials(t *testing.T) {
	c, err := ParseCredentials([]byte("url: http://127.0.0.1:8080/\nlogin: web1\npassword: s3cret\n"))
	if err != nil || c.Login != "web1" || c.URL != "http://127.0.0.1:8080/" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{"", "url: ftp://x\nlogin: a\npassword: b\n", "url: http://x\nlogin: a\n", "[", "url: [1,2]\n"} {
		if _, err := ParseCredentials([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 9, 1, 2, 300000000, time.UTC)
	for _, s := range []string{"2026-11-23T09:01:02.3Z", "2026-11-23 09:01:02.3 +0000 UTC", "2026-11-23 10:01:02.3 +0100 CET"} {
		if got := parseTime(s); !got.Equal(want) {
			t.Errorf("%q → %s", s, got)
		}
	}
	if !parseTime("yesterday").IsZero() {
		t.Error("junk parsed")
	}
}

func printable(s string) bool {
	for _, r := range s {
		if r == 0x1b || r == 0x9b || (unicode.IsControl(r)) {
			return false
		}
	}
	return true
}

func FuzzFindings(f *testing.F) {
	f.Add(`[{"id":1,"machine_id":"web1","scenario":"crowdsecurity/ssh-bf","message":"x","events_count":6,"start_at":"2026-11-23 09:01:02.3 +0000 UTC","source":{"scope":"Ip","value":"192.0.2.66","ip":"192.0.2.66"},"decisions":[{"id":3,"origin":"crowdsec","type":"ban","scope":"Ip","value":"192.0.2.66","duration":"3h"}]}]`)
	f.Add(`[{"scenario":"\u001b]0;pwn\u0007","source":{"scope":"Range","value":"::ffff:1.2.3.4/120"},"decisions":[{"origin":"irtui"}]}]`)
	f.Fuzz(func(t *testing.T, data string) {
		var alerts []Alert
		if json.Unmarshal([]byte(data), &alerts) != nil {
			return
		}
		for _, fd := range Findings(alerts, t0) {
			if !printable(fd.Summary) {
				t.Fatalf("summary %q", fd.Summary)
			}
			for _, s := range fd.Samples {
				if !printable(s) {
					t.Fatalf("sample %q", s)
				}
			}
			for _, p := range fd.Targets {
				if p != block.NormalizePrefix(p) {
					t.Fatalf("target %s not normalised", p)
				}
			}
		}
	})
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte("url: http://127.0.0.1:8080/\nlogin: a\npassword: b\n"))
	f.Add([]byte("url: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCredentials(b)
		if err == nil {
			if _, err := NewClient(c, nil); err != nil {
				t.Fatalf("parsed credentials refused by the client: %v", err)
			}
		}
	})
}

func FuzzParseValue(f *testing.F) {
	f.Add("Ip", "192.0.2.7")
	f.Add("Range", "2001:db8::/48")
	f.Add("range", "::ffff:192.0.2.0/120")
	f.Fuzz(func(t *testing.T, scope, value string) {
		p, err := parseValue(scope, value)
		if err == nil && p != block.NormalizePrefix(p) {
			t.Fatalf("%s %q → %s not normalised", scope, value, p)
		}
	})
}
