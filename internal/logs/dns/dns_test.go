package dns

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

var testNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

func newParser() logs.Parser {
	return Formats()[0].New(logs.Options{Now: func() time.Time { return testNow }, Location: time.UTC})
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestBind(t *testing.T) {
	cases := []struct {
		line, src, action, qname, qtype, qclass string
		rd, denied                              bool
		time                                    string
	}{
		{"client 192.0.2.1#5353: query: example.com IN A +", "192.0.2.1", ActQuery, "example.com", "A", "IN", true, false, "2024-06-15T12:00:00Z"},
		{"client @0x7f6450002ef0 192.0.2.1#5353 (example.com): query: example.com IN A +E(0)K (10.0.0.1)", "192.0.2.1", ActQuery, "example.com", "A", "IN", true, false, ""},
		{"12-Nov-2015 23:34:08.622 client 127.0.0.1#59680 (cnn.com): query: cnn.com IN AAAA -EDC (127.0.0.1)", "127.0.0.1", ActQuery, "cnn.com", "AAAA", "IN", false, false, "2015-11-12T23:34:08.622Z"},
		{"12-Nov-2015 23:34:08.622 queries: info: client @0x7f 2001:db8::53#59680 (x.example): view outside: query: x.example IN ANY +T (192.0.2.53)", "2001:db8::53", ActQuery, "x.example", "ANY", "IN", true, false, ""},
		{"Jul 24 14:16:55 raid5 named[3935]: client 194.145.196.18#4795: query 'ricreig.com/NS/IN' denied", "194.145.196.18", ActDenied, "ricreig.com", "NS", "IN", false, true, "2023-07-24T14:16:55Z"},
		{"Jul 24 14:17:13 raid5 named[3935]: client 148.160.29.6#33081: query (cache) 'geo-mueller.de/NS/IN' denied", "148.160.29.6", ActDenied, "geo-mueller.de", "NS", "IN", false, true, ""},
		{"11-Aug-2013 03:36:11.372 error: client 1.2.3.4#52115: zone transfer 'domain.com/AXFR/IN' denied", "1.2.3.4", ActXferDenied, "domain.com", "AXFR", "IN", false, true, "2013-08-11T03:36:11.372Z"},
		{"Aug 27 16:59:00 host named[28098]: client @0x7f6450002ef0 192.0.2.1#23332 (example.com): bad zone transfer request: 'test.com/IN': non-authoritative zone (NOTAUTH)", "192.0.2.1", ActXferDenied, "test.com", "", "IN", false, true, ""},
		{"Oct 23 03:35:40 update-security: error: client @0x7f4e45c07a48 192.0.2.237#55956 (example.ca): zone transfer 'example.ca/AXFR/IN' denied", "192.0.2.237", ActXferDenied, "example.ca", "AXFR", "IN", false, true, ""},
		{"Jul 28 08:45:16 router1 named[135105]: client @0x7f13c4158c00 1.2.3.4#3074 (example.com): query (cache) example.com/RRSIG/IN' denied", "1.2.3.4", ActDenied, "example.com", "RRSIG", "IN", false, true, ""},
		{"03-Nov-2022 13:34:52.235 security: error: client @0x7fb04c007328 ::1#62449 (example.com): zone transfer 'example.com/AXFR/IN' denied", "::1", ActXferDenied, "example.com", "AXFR", "IN", false, true, ""},
		{"client @0x7f 192.0.2.9#53 (x.example): query failed (REFUSED) for x.example/IN/A at query.c:5432", "192.0.2.9", ActRefused, "x.example", "A", "IN", false, true, ""},
		{"client @0x7f 192.0.2.9#53: update 'zone.example/IN' denied", "192.0.2.9", ActUpdateDenied, "zone.example", "", "IN", false, true, ""},
		{"Jan  2 03:04:05 ns named[1]: REFUSED unexpected RCODE resolving 'x.example/A/IN': 198.51.100.1#53", "", ActUpstreamRefused, "x.example", "A", "IN", false, true, ""},
		{"Jan  2 03:04:05 ns named[1]: zone example.com/IN: loaded serial 2024010101", "", ActOther, "", "", "", false, false, ""},
		{"13-Oct-2014 14:43:44.167 client 10.0.0.2#59857 (amazon.com): query: amazon.com IN A + (10.0.0.1)\r", "10.0.0.2", ActQuery, "amazon.com", "A", "IN", true, false, ""},
	}
	for _, c := range cases {
		var ev logs.Event
		if err := newParser().Parse(c.line, &ev); err != nil {
			t.Errorf("%v: %s", err, c.line)
			continue
		}
		d := ev.DNS
		src := ""
		if ev.Src.IsValid() {
			src = ev.Src.String()
		}
		if src != c.src || d.Action != c.action || d.QName != c.qname || d.QType != c.qtype || d.QClass != c.qclass || d.RD != c.rd || d.Denied != c.denied {
			t.Errorf("got src=%s %+v: %s", src, d, c.line)
		}
		if c.time != "" && ev.Time.Format(time.RFC3339Nano) != c.time {
			t.Errorf("time %s, want %s", ev.Time.Format(time.RFC3339Nano), c.time)
		}
		if ev.Kind != logs.KindDNS || ev.Format != "bind" {
			t.Errorf("kind %v format %q", ev.Kind, ev.Format)
		}
	}
	for _, bad := range []string{
		"", "Jan  2 03:04:05 mx postfix/smtpd[1]: connect from x[192.0.2.7]",
		"2013-01-04 17:03:46 login authenticator failed for (x) [24.106.174.74]: 535",
		`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326`,
		"client nothing here", "client 300.1.1.1#53: query: x IN A +",
	} {
		var ev logs.Event
		err := newParser().Parse(bad, &ev)
		if _, ok := err.(*logs.ParseError); !ok {
			t.Errorf("accepted %q (err %v)", bad, err)
		}
	}
}

// TestFail2banNamedRefused: every sample fail2ban flags gives its host.
func TestFail2banNamedRefused(t *testing.T) {
	lines := readLines(t, testkit.Fixture(t, "fail2ban/named-refused"))
	total, hits := 0, 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "# failJSON:") {
			continue
		}
		var c struct {
			Match bool   `json:"match"`
			Host  string `json:"host"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "# failJSON:")), &c); err != nil {
			t.Fatal(err)
		}
		want, err := netip.ParseAddr(c.Host)
		if !c.Match || err != nil || i+1 >= len(lines) {
			continue
		}
		total++
		var ev logs.Event
		if err := newParser().Parse(lines[i+1], &ev); err != nil || ev.Src != want {
			t.Errorf("err=%v src=%v want %v: %s", err, ev.Src, want, lines[i+1])
			continue
		}
		if !ev.DNS.Denied {
			t.Errorf("not denied: %s", lines[i+1])
		}
		hits++
	}
	t.Logf("%d/%d", hits, total)
	if total == 0 {
		t.Fatal("no samples")
	}
}

// TestCrowdsecBind9: the source address crowdsec's bind9 parser asserts,
// in the order of the lines it parsed (every line of the file).
func TestCrowdsecBind9(t *testing.T) {
	dir := testkit.Fixture(t, "crowdsec-hub/tests/bind9-logs")
	lines := readLines(t, dir+"/bind9-logs.log")
	var want []string
	for _, l := range readLines(t, dir+"/parser.assert") {
		if strings.HasPrefix(l, `results["s01-parse"]`) && strings.Contains(l, `.Evt.Meta["source_ip"] == `) {
			want = append(want, strings.Trim(l[strings.Index(l, " == ")+4:], `"`))
		}
	}
	if len(want) != len(lines) {
		t.Fatalf("%d asserted addresses for %d lines", len(want), len(lines))
	}
	for i, l := range lines {
		var ev logs.Event
		if err := newParser().Parse(l, &ev); err != nil {
			t.Errorf("%v: %s", err, l)
			continue
		}
		if ev.Src.String() != want[i] || !ev.DNS.Denied {
			t.Errorf("src %v denied %v, want %s: %s", ev.Src, ev.DNS.Denied, want[i], l)
		}
	}
}

func TestSSHGuardBind(t *testing.T) {
	lines := readLines(t, testkit.Fixture(t, "sshguard/tests.txt"))
	n := 0
	for i := 1; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) != 4 || f[0] != "120" {
			continue
		}
		n++
		var ev logs.Event
		if err := newParser().Parse(lines[i-1], &ev); err != nil || ev.Src != netip.MustParseAddr(f[1]) {
			t.Errorf("err=%v src=%v want %s: %s", err, ev.Src, f[1], lines[i-1])
		}
	}
	if n == 0 {
		t.Fatal("no BIND samples")
	}
}

// TestRealDNS: the real query logs parse at >= 99.5 %, and the queries
// counted equal the lines that say "query:".
func TestRealDNS(t *testing.T) {
	for _, rel := range []string{
		"real-dns/sunilbinghamton-DNS-activity-monitor/queries.log",
		"real-dns/sunilbinghamton-DNS-activity-monitor/queries1.log",
	} {
		lines := readLines(t, testkit.Fixture(t, rel))
		p := newParser()
		ok, queries, grep, rd := 0, 0, 0, 0
		for _, l := range lines {
			if strings.Contains(l, ": query: ") {
				grep++
			}
			var ev logs.Event
			if err := p.Parse(l, &ev); err != nil {
				t.Logf("%v: %q", err, l)
				continue
			}
			ok++
			if ev.DNS.Action == ActQuery {
				queries++
				if ev.DNS.RD {
					rd++
				}
			}
		}
		t.Logf("%s: %d/%d parsed, %d queries (%d with RD)", rel, ok, len(lines), queries, rd)
		if ok*1000 < len(lines)*995 {
			t.Errorf("%s: parsed %d of %d", rel, ok, len(lines))
		}
		if queries != grep {
			t.Errorf("%s: %d queries, grep counts %d", rel, queries, grep)
		}
	}
}

func TestNoAllocation(t *testing.T) {
	p := newParser()
	for _, l := range []string{
		"12-Nov-2015 23:34:08.622 client 127.0.0.1#59680 (cnn.com): query: cnn.com IN A + (127.0.0.1)",
		"Jul 24 14:16:55 raid5 named[3935]: client @0x7f 2001:db8::1#4795: query 'ricreig.com/NS/IN' denied",
	} {
		var ev logs.Event
		if n := testing.AllocsPerRun(100, func() { _ = p.Parse(l, &ev) }); n != 0 {
			t.Errorf("%v allocations: %s", n, l)
		}
	}
}

func FuzzBind(f *testing.F) {
	for _, s := range []string{
		"client 192.0.2.1#5353: query: example.com IN A +",
		"12-Nov-2015 23:34:08.622 queries: info: client @0x7f 2001:db8::53#59680 (x): view v: query: x IN ANY +T (192.0.2.53)",
		"Jul 24 14:16:55 raid5 named[3935]: client 194.145.196.18#4795: query (cache) 'ricreig.com/NS/IN' denied",
		"Jan  2 03:04:05 ns named[1]: REFUSED unexpected RCODE resolving 'x.example/A/IN': 198.51.100.1#53",
		"client @0x7f 192.0.2.9#53 (x.example): query failed (REFUSED) for x.example/IN/A at query.c:5432",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var ev logs.Event
		err := newParser().Parse(line, &ev)
		if err != nil {
			if _, ok := err.(*logs.ParseError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if ev.Kind != logs.KindDNS || ev.DNS.Action == "" || ev.Time.Location() != time.UTC {
			t.Fatalf("incomplete event %+v", ev)
		}
		if len(ev.DNS.QName) > len(line) {
			t.Fatal("qname longer than the line")
		}
	})
}

func BenchmarkRealDNS(b *testing.B) {
	lines := readLines(b, testkit.Fixture(b, "real-dns/sunilbinghamton-DNS-activity-monitor/queries.log"))
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	p := newParser()
	var ev logs.Event
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			ev = logs.Event{}
			_ = p.Parse(l, &ev)
		}
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
