package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/irtui/irtui/internal/testkit"
	"github.com/irtui/irtui/internal/trace"
	"github.com/irtui/irtui/internal/trace/tracetest"
)

// The `irtui trace --json` contract: one object per line and address, in
// the order given, every key present, unknown values null.
func TestTraceJSONContract(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv := tracetest.Start(t)
	ip := netip.MustParseAddr("192.0.2.10")
	srv.TXT(trace.OriginQuery(ip), "64500 | 192.0.2.0/24 | NL | ripencc | 2007-03-13")
	srv.TXT(trace.ASQuery(64500), "64500 | NL | ripencc | 2001-05-01 | EXAMPLE\x1b]0;pwned\x07-NET")
	srv.Add(t, "10.2.0.192.in-addr.arpa. 60 IN PTR host10.example.net.", "host10.example.net. 60 IN A 192.0.2.10")
	srv.TXT(trace.AbuseQuery(ip), "abuse@example.net")

	var out, errb bytes.Buffer
	code := traceMain([]string{"--json", "--resolver", srv.Addr, "192.0.2.10", "::ffff:198.51.100.9"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Fatalf("escape sequence in output: %q", out.String())
	}
	var objs []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2:\n%s", len(objs), out.String())
	}
	for _, m := range objs {
		for _, k := range []string{"ip", "asn", "as_name", "prefix", "country", "registry", "ptr", "ptr_confirmed", "abuse"} {
			if _, ok := m[k]; !ok {
				t.Errorf("key %q missing in %v", k, m)
			}
		}
	}
	got := fmt.Sprintln(objs[0]["ip"], objs[0]["asn"], objs[0]["as_name"], objs[0]["prefix"], objs[0]["country"],
		objs[0]["registry"], objs[0]["ptr"], objs[0]["ptr_confirmed"], objs[0]["abuse"])
	want := "192.0.2.10 64500 EXAMPLE?]0;pwned?-NET 192.0.2.0/24 NL ripencc host10.example.net true [abuse@example.net]\n"
	if got != want {
		t.Errorf("first object:\n got %s\nwant %s", got, want)
	}
	// Nothing is known about the second: nulls, never invented values.
	second := objs[1]
	if second["ip"] != "198.51.100.9" {
		t.Errorf("ip %v", second["ip"])
	}
	for _, k := range []string{"asn", "as_name", "prefix", "country", "registry", "ptr", "ptr_confirmed"} {
		if second[k] != nil {
			t.Errorf("%s = %v, want null", k, second[k])
		}
	}
	if srv.Count(trace.OriginQuery(ip), dns.TypeTXT) != 1 {
		t.Error("origin not asked exactly once")
	}
}

func TestTraceText(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	table := testkit.Fixture(t, "asn-data/jpastuszek-asn-db/ip2asn-v4.tsv")
	var out, errb bytes.Buffer
	if code := traceMain([]string{"--offline", "--asn-db", table, "8.8.8.8"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"AS15169 GOOGLE - Google LLC", "prefix    8.8.8.0/24", "country   US", "PTR       unknown", "abuse     unknown"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
}

func TestTraceErrors(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--offline", "192.0.2.1", "not-an-ip\x1b[2J"}, 2, `"not-an-ip?[2J" is not an IP address`},
		{[]string{}, 2, "name one or more addresses"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--help"}, 0, "usage: irtui trace"},
		{[]string{"--offline", "--asn-db", "/nonexistent/table", "192.0.2.1"}, 1, "cannot open AS table"},
	} {
		var out, errb bytes.Buffer
		code := traceMain(c.args, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.msg)
		}
	}
	corrupt := testkit.Fixture(t, "asn-data/m-lab-uuid-annotator/testdata/RouteViewIPv4.corrupt")
	var out, errb bytes.Buffer
	if code := traceMain([]string{"--offline", "--asn-db", corrupt, "192.0.2.1"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "RouteViewIPv4.corrupt:50:") || out.Len() != 0 {
		t.Errorf("corrupt table: exit %d, stderr %q, stdout %q", code, errb.String(), out.String())
	}
}
