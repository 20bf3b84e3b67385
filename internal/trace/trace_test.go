package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/trace/tracetest"
)

// The console hands a Tracer to the analyzer as its AS enrichment, with
// epochs.
var (
	_ analyze.ASResolver = (*Tracer)(nil)
	_ analyze.ASEpocher  = (*Tracer)(nil)
)

func newTracer(t *testing.T, srv *tracetest.Server, mod func(*Config)) *Tracer {
	t.Helper()
	cfg := Config{
		Resolvers:        []string{srv.Addr},
		NoDiskCache:      true,
		Timeout:          300 * time.Millisecond,
		QueriesPerSecond: 10000,
		Burst:            10000,
	}
	if mod != nil {
		mod(&cfg)
	}
	tr := New(cfg)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// exampleZone serves a complete, well-behaved answer set for addr.
func exampleZone(srv *tracetest.Server, addr string, asn uint32, prefix, ptr string) {
	ip := netip.MustParseAddr(addr)
	srv.TXT(OriginQuery(ip), fmt.Sprintf("%d | %s | NL | ripencc | 2007-03-13", asn, prefix))
	srv.TXT(ASQuery(asn), fmt.Sprintf("%d | NL | ripencc | 2001-05-01 | EXAMPLE-NET - Example Networks B.V., NL", asn))
	rev, _ := dns.ReverseAddr(addr)
	srv.AddRR(&dns.PTR{Hdr: dns.RR_Header{Name: rev, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: ptr})
	if ip.Is4() {
		srv.AddRR(&dns.A{Hdr: dns.RR_Header{Name: ptr, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: ip.AsSlice()})
	} else {
		srv.AddRR(&dns.AAAA{Hdr: dns.RR_Header{Name: ptr, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 60}, AAAA: ip.AsSlice()})
	}
	srv.TXT(AbuseQuery(ip), "abuse@example.net")
}

func TestQueryNames(t *testing.T) {
	ip6 := netip.MustParseAddr("2001:db8::7")
	rev6, _ := dns.ReverseAddr("2001:db8::7")
	for _, c := range []struct{ got, want string }{
		{OriginQuery(netip.MustParseAddr("192.0.2.10")), "10.2.0.192.origin.asn.cymru.com."},
		{OriginQuery(netip.MustParseAddr("::ffff:192.0.2.10")), "10.2.0.192.origin.asn.cymru.com."},
		{OriginQuery(ip6), strings.TrimSuffix(rev6, "ip6.arpa.") + "origin6.asn.cymru.com."},
		{AbuseQuery(netip.MustParseAddr("127.0.0.2")), "2.0.0.127.abuse-contacts.abusix.zone."},
		{AbuseQuery(ip6), strings.TrimSuffix(rev6, "ip6.arpa.") + "abuse-contacts.abusix.zone."},
		{ASQuery(15169), "AS15169.asn.cymru.com."},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestLookupComplete(t *testing.T) {
	srv := tracetest.Start(t)
	exampleZone(srv, "192.0.2.10", 64500, "192.0.2.0/24", "host10.example.net.")
	exampleZone(srv, "2001:db8::7", 64501, "2001:db8::/32", "v6.example.net.")
	tr := newTracer(t, srv, nil)

	info, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	want := Info{IP: netip.MustParseAddr("192.0.2.10"), ASN: 64500, ASNs: []uint32{64500},
		ASName: "EXAMPLE-NET - Example Networks B.V., NL", Prefix: netip.MustParsePrefix("192.0.2.0/24"),
		Country: "NL", Registry: "ripencc", Allocated: "2007-03-13", ASSource: "dns",
		PTR: "host10.example.net", PTRChecked: true, PTRConfirmed: true, Abuse: []string{"abuse@example.net"}}
	if fmt.Sprintf("%+v", info) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", info, want)
	}

	info6, err := tr.Lookup(t.Context(), netip.MustParseAddr("2001:db8::7"))
	if err != nil || info6.ASN != 64501 || info6.Prefix.String() != "2001:db8::/32" || !info6.PTRConfirmed {
		t.Fatalf("IPv6: %+v %v", info6, err)
	}

	// A second lookup is answered from the cache.
	before := srv.Total()
	if _, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10")); err != nil {
		t.Fatal(err)
	}
	if srv.Total() != before {
		t.Fatalf("cached lookup sent %d queries", srv.Total()-before)
	}
}

func TestCymruAnswerForms(t *testing.T) {
	srv := tracetest.Start(t)
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	// Multi-origin, CRLF, quotes, leading spaces.
	srv.TXT(OriginQuery(ip("192.0.2.1")), " 15169 13335 | 192.0.2.0/24 | US | arin | 2018\r\n")
	srv.TXT(ASQuery(15169), "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US\r\n")
	// Unknown registry is dropped, not shown.
	srv.TXT(OriginQuery(ip("198.51.100.1")), "\"64500 | 198.51.100.0/24 | DE | rdm | 2007-03-13\"")
	srv.TXT(ASQuery(64500), "64500 | DE | random | 2007-03-13 | NAME | WITH | PIPES")
	// Two prefixes cover the address: the more specific wins.
	srv.TXT(OriginQuery(ip("203.0.113.9")), "64496 | 203.0.0.0/16 | JP | apnic | 2001-01-01")
	srv.TXT(OriginQuery(ip("203.0.113.9")), "64497 | 203.0.113.0/24 | JP | apnic | 2010-01-01")
	srv.TXT(ASQuery(64497), "64497 | JP | apnic | 2010-01-01 | MORE-SPECIFIC")
	// Unrouted: NA columns.
	srv.TXT(OriginQuery(ip("2001:db8:ffff::1")), "NA | NA | NA | NA | NA")
	tr := newTracer(t, srv, nil)

	cases := []struct {
		ip     string
		asn    uint32
		asns   []uint32
		name   string
		reg    string
		prefix string
	}{
		{"192.0.2.1", 15169, []uint32{15169, 13335}, "GOOGLE - Google LLC, US", "arin", "192.0.2.0/24"},
		{"198.51.100.1", 64500, []uint32{64500}, "NAME | WITH | PIPES", "", "198.51.100.0/24"},
		{"203.0.113.9", 64497, []uint32{64497}, "MORE-SPECIFIC", "apnic", "203.0.113.0/24"},
	}
	for _, c := range cases {
		info, _ := tr.Lookup(t.Context(), ip(c.ip))
		if info.ASN != c.asn || !slices.Equal(info.ASNs, c.asns) || info.ASName != c.name || info.Registry != c.reg || info.Prefix.String() != c.prefix {
			t.Errorf("%s: got %+v", c.ip, info)
		}
	}
	info, _ := tr.Lookup(t.Context(), ip("2001:db8:ffff::1"))
	if !info.Unrouted || info.ASN != 0 {
		t.Errorf("NA answer: %+v", info)
	}
}

func TestNXDOMAINEverywhere(t *testing.T) {
	srv := tracetest.Start(t)
	tr := newTracer(t, srv, nil)
	info, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.99"))
	if err != nil {
		t.Fatalf("NXDOMAIN is an answer, not an error: %v", err)
	}
	b, _ := json.Marshal(info)
	want := `{"ip":"192.0.2.99","asn":null,"origins":null,"as_name":null,"prefix":null,"country":null,"registry":null,"allocated":null,"routed":false,"ptr":null,"ptr_confirmed":null,"abuse":[],"source":"dns"}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}
	// Negative answers are cached: asking again sends nothing.
	n := srv.Total()
	tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.99"))
	if srv.Total() != n {
		t.Fatalf("negative answers not cached: %d more queries", srv.Total()-n)
	}
}

func TestFakeCrawlerPTR(t *testing.T) {
	srv := tracetest.Start(t)
	exampleZone(srv, "192.0.2.66", 64500, "192.0.2.0/24", "real.example.net.")
	rev, _ := dns.ReverseAddr("192.0.2.66")
	srv.Handle(rev, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.PTR{Hdr: dns.RR_Header{Name: rev, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "crawl-192-0-2-66.googlebot.com."}}
		w.WriteMsg(m)
	})
	srv.Add(t, "crawl-192-0-2-66.googlebot.com. 60 IN A 198.51.100.1")
	tr := newTracer(t, srv, nil)
	info, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.66"))
	if err != nil {
		t.Fatal(err)
	}
	if info.PTR != "crawl-192-0-2-66.googlebot.com" || !info.PTRChecked || info.PTRConfirmed {
		t.Fatalf("fake crawler not caught: %+v", info)
	}
	var buf bytes.Buffer
	WriteText(&buf, info)
	if !strings.Contains(buf.String(), "NOT forward-confirmed") {
		t.Fatalf("text output does not warn:\n%s", buf.String())
	}
	b, _ := json.Marshal(info)
	if !strings.Contains(string(b), `"ptr_confirmed":false`) {
		t.Fatalf("JSON: %s", b)
	}
}

func TestEscapeSequencesNeverReachOutput(t *testing.T) {
	srv := tracetest.Start(t)
	ip := netip.MustParseAddr("192.0.2.27")
	srv.TXT(OriginQuery(ip), "64500 | 192.0.2.0/24 | NL | ripencc | 2007-03-13")
	srv.TXT(ASQuery(64500), "64500 | NL | ripencc | 2001-05-01 | EVIL\x1b]0;pwned\x07NET\x1b[2J \u202eKCATTA")
	rev, _ := dns.ReverseAddr(ip.String())
	// Both a raw ESC in a label and one spelled as a presentation escape.
	srv.AddRR(&dns.PTR{Hdr: dns.RR_Header{Name: rev, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "\\027[2J\\027]0;pwned\\007.evil.example."})
	srv.TXT(AbuseQuery(ip), "\x1b]0;pwned\x07@evil.example,good@example.net,\x1b[2J")
	tr := newTracer(t, srv, nil)
	info, _ := tr.Lookup(t.Context(), ip)

	var out bytes.Buffer
	WriteText(&out, info)
	b, _ := json.Marshal(info)
	out.Write(b)
	WriteAbuseReport(&out, []AbuseRow{{IP: ip, ASN: info.ASN, ASName: info.ASName, Prefix: info.Prefix, Events: 1,
		Evidence: []string{"GET /\x1b]0;pwned\x07 HTTP/1.1"}}}, AbuseOptions{Contacts: tr})
	for _, bad := range []string{"\x1b", "\x07", "\u202e", `\u001b`, `\u0007`} {
		if strings.Contains(out.String(), bad) {
			t.Fatalf("%q reached the output:\n%s", bad, out.String())
		}
	}
	if info.ASName != "EVIL?]0;pwned?NET?[2J KCATTA" {
		t.Errorf("AS name %q", info.ASName)
	}
	if !slices.Equal(info.Abuse, []string{"good@example.net"}) {
		t.Errorf("abuse %q, want only the plausible address", info.Abuse)
	}
	if !strings.Contains(info.PTR, "evil.example") {
		t.Errorf("PTR %q", info.PTR)
	}
}

func TestMalformedAnswers(t *testing.T) {
	srv := tracetest.Start(t)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("198.51.100.1")
	c := netip.MustParseAddr("203.0.113.1")
	d := netip.MustParseAddr("2001:db8:1::1")
	srv.TXT(OriginQuery(a), "this is | not | an answer")
	srv.Handle(OriginQuery(b), func(w dns.ResponseWriter, r *dns.Msg) {
		w.Write([]byte{0xde, 0xad, 0xbe, 0xef}) // not a DNS message at all
	})
	// A prefix that does not contain the address must not poison the cache.
	srv.TXT(OriginQuery(c), "64500 | 0.0.0.0/0 | US | arin | 2000-01-01")
	srv.TXT(OriginQuery(d), "64500 | 10.0.0.0/8 | US | arin | 2000-01-01")
	srv.Rcode(AbuseQuery(a), dns.RcodeServerFailure)
	tr := newTracer(t, srv, nil)

	for _, x := range []struct {
		ip   netip.Addr
		want string
	}{
		{a, "malformed answer"},
		{b, "192.0.2"[:0]}, // any error will do; the point is no panic
		{d, "does not contain"},
	} {
		info, err := tr.Lookup(t.Context(), x.ip)
		if err == nil || !strings.Contains(err.Error(), x.want) || info.ASN != 0 {
			t.Errorf("%s: info %+v err %v, want an error containing %q", x.ip, info, err, x.want)
		}
	}
	// 0.0.0.0/0 contains c, but is cached only for c's /24.
	info, _ := tr.Lookup(t.Context(), c)
	if info.ASN != 64500 {
		t.Fatalf("%+v", info)
	}
	if asn, _, _, ok := tr.ASOf(netip.MustParseAddr("8.8.8.8")); ok {
		t.Fatalf("a /0 answer poisoned the cache: AS%d", asn)
	}
	info, err := tr.Lookup(t.Context(), a)
	if err == nil || !strings.Contains(err.Error(), "SERVFAIL") && !strings.Contains(err.Error(), "not asking again") {
		t.Errorf("SERVFAIL for abuse: %v", err)
	}
	if info.Abuse != nil {
		t.Errorf("failed abuse lookup gave %q, want unknown (nil)", info.Abuse)
	}
}

func TestOversizedAnswers(t *testing.T) {
	srv := tracetest.Start(t)
	ip := netip.MustParseAddr("192.0.2.44")
	exampleZone(srv, "192.0.2.44", 64500, "192.0.2.0/24", "h.example.net.")
	for i := range 60 {
		srv.TXT(AbuseQuery(ip), fmt.Sprintf("abuse%d@example.net", i))
	}
	long := make([]string, 12)
	for i := range long {
		long[i] = strings.Repeat("x", 250)
	}
	srv.TXT(ASQuery(64500)) // replaced below: one huge record
	srv.Handle(ASQuery(64500), func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: ASQuery(64500), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
			Txt: append([]string{"64500 | NL | ripencc | 2001-05-01 | "}, long...)}}
		if w.LocalAddr().Network() == "udp" {
			m.Truncate(1232)
		}
		w.WriteMsg(m)
	})
	tr := newTracer(t, srv, nil)
	info, _ := tr.Lookup(t.Context(), ip)
	if len(info.Abuse) != maxAbuse {
		t.Errorf("got %d abuse contacts, want them bounded at %d", len(info.Abuse), maxAbuse)
	}
	if n := len([]rune(info.ASName)); n > maxASNameRunes {
		t.Errorf("AS name of %d runes", n)
	}
	if info.ASN != 64500 {
		t.Errorf("%+v", info)
	}
}

func TestSlowResolverTimesOut(t *testing.T) {
	srv := tracetest.Start(t)
	ip := netip.MustParseAddr("192.0.2.55")
	exampleZone(srv, "192.0.2.55", 64500, "192.0.2.0/24", "h.example.net.")
	srv.Delay(OriginQuery(ip), 2*time.Second)
	tr := newTracer(t, srv, func(c *Config) { c.Timeout = 150 * time.Millisecond })
	start := time.Now()
	info, err := tr.Lookup(t.Context(), ip)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err %v, want a time-out", err)
	}
	if time.Since(start) > 1900*time.Millisecond {
		t.Fatal("lookup waited for the slow answer")
	}
	if info.ASN != 0 || info.PTR != "h.example.net" {
		t.Fatalf("the other parts should still be answered: %+v", info)
	}
	// The failure is remembered briefly: no new query right away.
	n := srv.Count(OriginQuery(ip), dns.TypeTXT)
	_, err = tr.Lookup(t.Context(), ip)
	if err == nil || srv.Count(OriginQuery(ip), dns.TypeTXT) != n {
		t.Fatalf("asked a failing name again at once (%v)", err)
	}
}

func TestOneQueryPerPrefix(t *testing.T) {
	srv := tracetest.Start(t)
	var ips []netip.Addr
	for i := 1; i <= 50; i++ {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		ips = append(ips, ip)
		srv.TXT(OriginQuery(ip), "64500 | 192.0.2.0/24 | NL | ripencc | 2007-03-13")
		srv.Delay(OriginQuery(ip), 100*time.Millisecond) // keep the first one in flight
	}
	// 198.51.100.0/22: an answer for one /24 covers the others.
	for i := range 4 {
		ip := netip.AddrFrom4([4]byte{198, 51, 100 + byte(i), 1})
		srv.TXT(OriginQuery(ip), "64501 | 198.51.100.0/22 | NL | ripencc | 2007-03-13")
	}
	srv.TXT(ASQuery(64500), "64500 | NL | ripencc | 2001-05-01 | FIRST")
	srv.TXT(ASQuery(64501), "64501 | NL | ripencc | 2001-05-01 | SECOND")
	tr := newTracer(t, srv, func(c *Config) { c.Workers = 16 })

	for _, ip := range ips {
		if _, _, _, ok := tr.ASOf(ip); ok {
			t.Fatal("known before any lookup")
		}
	}
	waitKnown(t, tr, ips)
	if n := srv.CountSuffix(cymruOrigin4, dns.TypeTXT); n != 1 {
		t.Fatalf("%d origin queries for 50 addresses of one prefix, want 1", n)
	}
	if n := srv.Count(ASQuery(64500), dns.TypeTXT); n != 1 {
		t.Fatalf("%d AS queries, want 1", n)
	}
	var wide []netip.Addr
	for i := range 4 {
		ip := netip.AddrFrom4([4]byte{198, 51, 100 + byte(i), 1})
		wide = append(wide, ip)
		if _, err := tr.Lookup(t.Context(), ip); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.CountSuffix(cymruOrigin4, dns.TypeTXT); n != 2 {
		t.Fatalf("%d origin queries, want 2 (one per announced prefix)", n)
	}
	asn, name, cc, ok := tr.ASOf(wide[3])
	if !ok || asn != 64501 || name != "SECOND" || cc != "NL" {
		t.Fatalf("ASOf: %d %q %q %v", asn, name, cc, ok)
	}
}

func waitKnown(t *testing.T, tr *Tracer, ips []netip.Addr) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := true
		for _, ip := range ips {
			if _, name, _, ok := tr.ASOf(ip); !ok || name == "" {
				all = false
				break
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("addresses not resolved in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRateLimitPerResolver(t *testing.T) {
	srv := tracetest.Start(t)
	for i := range 6 {
		srv.TXT(fmt.Sprintf("q%d.example.", i), "x")
	}
	tr := newTracer(t, srv, func(c *Config) { c.QueriesPerSecond, c.Burst = 5, 1 })
	start := time.Now()
	for i := range 6 {
		if _, err := tr.res.txt(t.Context(), fmt.Sprintf("q%d.example.", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A lower bound only: the first query goes at once, each next one
	// waits for a token (5 per second).
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("6 queries at 5/s took %v", el)
	}
	if srv.Total() != 6 {
		t.Fatalf("server saw %d queries", srv.Total())
	}
}

func TestRequestResults(t *testing.T) {
	srv := tracetest.Start(t)
	exampleZone(srv, "192.0.2.10", 64500, "192.0.2.0/24", "host10.example.net.")
	exampleZone(srv, "192.0.2.11", 64500, "192.0.2.0/24", "host11.example.net.")
	tr := newTracer(t, srv, nil)
	want := map[netip.Addr]bool{netip.MustParseAddr("192.0.2.10"): true, netip.MustParseAddr("192.0.2.11"): true}
	for ip := range want {
		first := tr.Request(ip)
		again := tr.Request(ip) // already queued (or running): accepted, not queued twice
		if !first || !again {
			t.Fatal("Request refused")
		}
	}
	timeout := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case r := <-tr.Results():
			if !want[r.IP] || r.Err != nil || r.Info.ASN != 64500 || !r.Info.PTRConfirmed {
				t.Fatalf("unexpected result %+v", r)
			}
			delete(want, r.IP)
		case <-timeout:
			t.Fatal("results did not arrive")
		}
	}
	if tr.Request(netip.Addr{}) {
		t.Fatal("an invalid address was queued")
	}
}

func TestRequestNeverBlocks(t *testing.T) {
	srv := tracetest.Start(t)
	for i := range 20 {
		srv.Delay(OriginQuery(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})), time.Second)
	}
	tr := newTracer(t, srv, func(c *Config) { c.Workers, c.QueueSize = 1, 4 })
	accepted := 0
	start := time.Now()
	for i := range 20 {
		if tr.Request(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})) {
			accepted++
		}
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("Request blocked")
	}
	if accepted > 6 {
		t.Fatalf("%d requests accepted by a queue of 4", accepted)
	}
}

func TestDiskCacheRoundTrip(t *testing.T) {
	srv := tracetest.Start(t)
	exampleZone(srv, "192.0.2.10", 64500, "192.0.2.0/24", "host10.example.net.")
	dir := t.TempDir()
	tr := newTracer(t, srv, func(c *Config) { c.NoDiskCache, c.CacheDir = false, dir })
	first, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.250")) // NXDOMAIN everywhere: negative entries
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, cacheFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", st, err)
	}

	queries := srv.Total()
	tr2 := newTracer(t, srv, func(c *Config) { c.NoDiskCache, c.CacheDir, c.Offline = false, dir, true })
	if err := tr2.CacheError(); err != nil {
		t.Fatal(err)
	}
	again, err := tr2.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	first.ASSource, again.ASSource = "", ""
	if fmt.Sprintf("%+v", first) != fmt.Sprintf("%+v", again) {
		t.Fatalf("from disk:\n got %+v\nwant %+v", again, first)
	}
	if asn, name, _, ok := tr2.ASOf(netip.MustParseAddr("192.0.2.77")); !ok || asn != 64500 || name == "" {
		t.Fatalf("ASOf from the disk cache: %d %q %v", asn, name, ok)
	}
	if srv.Total() != queries {
		t.Fatalf("offline tracer sent %d queries", srv.Total()-queries)
	}

	// A damaged cache file is reported and ignored.
	os.WriteFile(filepath.Join(dir, cacheFileName), []byte("{not json"), 0o600)
	tr3 := New(Config{CacheDir: dir, Offline: true})
	defer tr3.Close()
	if tr3.CacheError() == nil {
		t.Fatal("damaged cache not reported")
	}
}

func TestOfflineSendsNothing(t *testing.T) {
	srv := tracetest.Start(t)
	exampleZone(srv, "192.0.2.10", 64500, "192.0.2.0/24", "host10.example.net.")
	tr := newTracer(t, srv, func(c *Config) { c.Offline = true })
	info, err := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10"))
	if tr.ASOf(netip.MustParseAddr("192.0.2.10")); srv.Total() != 0 {
		t.Fatalf("offline tracer sent %d queries", srv.Total())
	}
	b, _ := json.Marshal(info)
	if !strings.Contains(string(b), `"asn":null`) || !strings.Contains(string(b), `"abuse":null`) || !strings.Contains(string(b), `"ptr":null`) {
		t.Fatalf("unknowns must be null offline: %s (%v)", b, err)
	}
}

func TestRDAPFallback(t *testing.T) {
	var hits sync.Map
	rdap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		if r.URL.Path != "/ip/192.0.2.10" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rdap+json")
		fmt.Fprint(w, `{"objectClassName":"ip network","entities":[
		 {"roles":["registrant"],"vcardArray":["vcard",[["email",{},"text","owner@example.net"]]],
		  "entities":[{"roles":["abuse"],"vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","Abuse"],
		    ["email",{},"text","Abuse@Example.NET"],["email",{},"text","\u001b]0;pwned\u0007@x"]]]}]}]}`)
	}))
	defer rdap.Close()
	srv := tracetest.Start(t)
	srv.TXT(OriginQuery(netip.MustParseAddr("192.0.2.10")), "64500 | 192.0.2.0/24 | NL | ripencc | 2007-03-13")
	tr := newTracer(t, srv, func(c *Config) { c.RDAP, c.RDAPBase = true, rdap.URL })
	info, _ := tr.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10"))
	if !slices.Equal(info.Abuse, []string{"abuse@example.net"}) {
		t.Fatalf("abuse %q", info.Abuse)
	}
	info, err := tr.Lookup(t.Context(), netip.MustParseAddr("198.51.100.1"))
	if info.Abuse == nil || len(info.Abuse) != 0 {
		t.Fatalf("RDAP 404: abuse %q (%v), want known empty", info.Abuse, err)
	}
	// Without --rdap nothing is asked.
	tr2 := newTracer(t, srv, func(c *Config) { c.RDAPBase = rdap.URL })
	tr2.Lookup(t.Context(), netip.MustParseAddr("203.0.113.1"))
	if _, ok := hits.Load("/ip/203.0.113.1"); ok {
		t.Fatal("RDAP asked while disabled")
	}
}

func TestAddFlags(t *testing.T) {
	fs := flagSet()
	cfg := AddFlags(fs)
	err := fs.Parse([]string{"--resolver", "127.0.0.1:5353", "--resolver", "::1", "--offline", "--asn-db", "a.gz", "--asn-db", "b.tsv", "--rdap"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Resolvers, []string{"127.0.0.1:5353", "[::1]:53"}) || !cfg.Offline || !cfg.RDAP ||
		!slices.Equal(cfg.ASNDB, []string{"a.gz", "b.tsv"}) {
		t.Fatalf("%+v", cfg)
	}
	fs2 := flagSet()
	AddFlags(fs2)
	if err := fs2.Parse([]string{"--resolver", "1.2.3.4:99999"}); err == nil {
		t.Fatal("bad port accepted")
	}
}

func flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func TestSystemResolvers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:1\n"), 0o644)
	got := systemResolvers(p)
	if !slices.Equal(got, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) {
		t.Fatalf("%v", got)
	}
	tr := New(Config{ResolvConf: filepath.Join(t.TempDir(), "missing"), NoDiskCache: true})
	defer tr.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := tr.Lookup(ctx, netip.MustParseAddr("192.0.2.1")); err == nil || !strings.Contains(err.Error(), "--resolver") {
		t.Fatalf("no resolver: %v", err)
	}
}

// BenchmarkASOfUnknown measures what `irtui report` pays without an AS
// table: the analyzer asks about addresses nobody knows, from two
// goroutines as Backfill's workers do. The lookup queue is full (the
// resolver is slow to fail); "negative" has every address's /24 cached as
// not announced.
func BenchmarkASOfUnknown(b *testing.B) {
	for _, mode := range []string{"online", "offline", "negative"} {
		b.Run(mode, func(b *testing.B) {
			// Port 1 on loopback refuses: lookups fail, and the rate
			// limit keeps the queue full.
			tr := New(Config{Resolvers: []string{"127.0.0.1:1"}, NoDiskCache: true, Offline: mode == "offline", Timeout: 50 * time.Millisecond})
			defer tr.Close()
			addrs := make([]netip.Addr, 40_000)
			for i := range addrs {
				addrs[i] = netip.AddrFrom4([4]byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
				if mode == "negative" {
					p, _ := addrs[i].Prefix(24)
					tr.cache.putOrigin(p, &originEntry{Negative: true, Expires: time.Now().Add(time.Hour)})
				}
			}
			var seed atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(20_000))
				for pb.Next() {
					tr.ASOf(addrs[(i*7919)%len(addrs)])
					i++
				}
			})
		})
	}
}

// An address met while the lookup queue is full is not written off: a
// later ASOf, once there is room, queues it.
func TestASOfQueueFullRetriesLater(t *testing.T) {
	srv := tracetest.Start(t)
	var ips []netip.Addr
	for i := 1; i <= 3; i++ {
		ip := netip.AddrFrom4([4]byte{192, 0, 2 + byte(i), 1})
		ips = append(ips, ip)
		srv.TXT(OriginQuery(ip), fmt.Sprintf("6450%d | %s/24 | NL | ripencc | 2007-03-13", i, netip.AddrFrom4([4]byte{192, 0, 2 + byte(i), 0})))
		srv.TXT(ASQuery(uint32(64500+i)), fmt.Sprintf("6450%d | NL | ripencc | 2001-05-01 | NET%d", i, i))
	}
	srv.Delay(OriginQuery(ips[0]), 200*time.Millisecond) // the one worker stays busy
	tr := newTracer(t, srv, func(c *Config) { c.Workers, c.QueueSize = 1, 1 })
	tr.ASOf(ips[0])
	deadline := time.Now().Add(5 * time.Second)
	for len(tr.queue) != 0 { // the worker has taken it
		if time.Now().After(deadline) {
			t.Fatal("worker never took the first lookup")
		}
		time.Sleep(time.Millisecond)
	}
	tr.ASOf(ips[1]) // fills the queue
	if _, _, _, ok := tr.ASOf(ips[2]); ok {
		t.Fatal("known before any lookup")
	}
	waitKnown(t, tr, ips)
}

// ASEpoch stays put while ASOf's answers cannot change, and moves when
// they may: an origin cached, tables swapped, the queue free again after
// turning addresses away.
func TestASEpoch(t *testing.T) {
	off := New(Config{Offline: true, NoDiskCache: true})
	defer off.Close()
	e := off.ASEpoch()
	if _, _, _, ok := off.ASOf(netip.MustParseAddr("203.0.113.1")); ok || off.ASEpoch() != e {
		t.Fatalf("a miss moved the epoch (%d -> %d) or was answered", e, off.ASEpoch())
	}

	srv := tracetest.Start(t)
	a, b := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.7")
	exampleZone(srv, a.String(), 64500, "192.0.2.0/24", "host10.example.net.")
	srv.TXT(OriginQuery(b), "64501 | 198.51.100.0/24 | NL | ripencc | 2007-03-13")
	srv.Delay(OriginQuery(b), 300*time.Millisecond)
	tr := newTracer(t, srv, func(c *Config) { c.Workers, c.QueueSize = 1, 1 })
	e0 := tr.ASEpoch()
	if _, err := tr.Lookup(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	e1 := tr.ASEpoch()
	if e1 == e0 {
		t.Fatal("caching an origin did not move the epoch")
	}
	tr.SetTables(nil)
	e2 := tr.ASEpoch()
	if e2 == e1 {
		t.Fatal("swapping tables did not move the epoch")
	}
	// One lookup in the worker, one in the queue, the next turned away.
	tr.ASOf(b)
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.pmu.Lock()
		taken := len(tr.pending) == 0
		tr.pmu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("worker never took the first lookup")
		}
		time.Sleep(time.Millisecond)
	}
	tr.ASOf(netip.MustParseAddr("203.0.113.2"))
	e3 := tr.ASEpoch()
	tr.ASOf(netip.MustParseAddr("203.0.113.3"))
	if !tr.crowded.Load() {
		t.Fatal("a full queue was not noted")
	}
	for tr.ASEpoch() == e3 {
		if time.Now().After(deadline) {
			t.Fatal("the epoch did not move once the queue had room")
		}
		time.Sleep(time.Millisecond)
	}
}
