package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestAuditUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--help"}, 0, "irtui audit relay HOST[:PORT]"},
		{[]string{"relay", "--help"}, 0, "-no-starttls"},
		{[]string{"relay"}, 2, "give exactly one target"},
		{[]string{"relay", "a.example.com", "b.example.com"}, 2, "give exactly one target"},
		{[]string{"resolver", "ns.example.com", "--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"frobnicate"}, 2, `unknown check "frobnicate"`},
		{[]string{"syn", "extra"}, 2, "takes no arguments"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := auditMain(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.args, code, c.code, errb.String())
		}
	}
}

// Flags may follow the target, and syn reads the proc root it is given.
func TestAuditSynFixture(t *testing.T) {
	var out, errb bytes.Buffer
	code := auditMain([]string{"syn", "--proc", "../../internal/audit/testdata/proc-quiet", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	var r struct {
		Check, Verdict string
		Data           struct {
			HalfOpen int `json:"half_open"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Check != "syn" || r.Verdict != "fine" || r.Data.HalfOpen != 2 {
		t.Errorf("%+v", r)
	}
	out.Reset()
	if code := auditMain([]string{"syn", "--proc", "../../internal/audit/testdata/proc-flood"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "[FAIL] syn") {
		t.Errorf("flood: exit %d\n%s", code, out.String())
	}
}

func TestAuditRelayCannotConnect(t *testing.T) {
	var out, errb bytes.Buffer
	// Port 1 on loopback: nothing listens there, so the verdict is "could not tell".
	code := auditMain([]string{"relay", "127.0.0.1:1", "--timeout", "1s"}, &out, &errb)
	if code != 2 || !strings.Contains(out.String(), "cannot connect") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}
