package trace

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irtui/irtui/internal/testkit"
)

func mustTable(t *testing.T, path string) *Table {
	t.Helper()
	tab, err := LoadTable(path)
	if err != nil {
		t.Fatalf("LoadTable(%s): %v", path, err)
	}
	return tab
}

type tableCase struct {
	ip     string
	asn    uint32
	asns   []uint32
	prefix string
	name   string
	cc     string
}

func checkTable(t *testing.T, tab *Table, cases []tableCase) {
	t.Helper()
	for _, c := range cases {
		a, ok := tab.Lookup(netip.MustParseAddr(c.ip))
		if c.asn == 0 && c.prefix == "" {
			if ok {
				t.Errorf("%s: want no answer, got %+v", c.ip, a)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: no answer, want AS%d %s", c.ip, c.asn, c.prefix)
			continue
		}
		if a.ASN != c.asn || a.Prefix.String() != c.prefix || (c.asns != nil && !slices.Equal(a.ASNs, c.asns)) ||
			(c.name != "" && a.Name != c.name) || a.Country != c.cc {
			t.Errorf("%s: got AS%d %v %s %q %q, want AS%d %v %s %q %q", c.ip, a.ASN, a.ASNs, a.Prefix, a.Name, a.Country,
				c.asn, c.asns, c.prefix, c.name, c.cc)
		}
	}
}

func TestPfx2asFixtureV4(t *testing.T) {
	tab := mustTable(t, testkit.Fixture(t, "asn-data/m-lab-uuid-annotator/testdata/RouteViewIPv4.tiny.gz"))
	if tab.Format != FormatPfx2as || tab.Prefixes != 22115 {
		t.Fatalf("format %s, %d prefixes; want pfx2as, 22115 (the fixture's line count)", tab.Format, tab.Prefixes)
	}
	checkTable(t, tab, []tableCase{
		{ip: "1.0.0.1", asn: 13335, asns: []uint32{13335}, prefix: "1.0.0.0/24"},
		{ip: "1.0.4.200", asn: 56203, prefix: "1.0.4.0/24"}, // /24 inside a /22 of the same AS
		{ip: "1.0.6.1", asn: 56203, prefix: "1.0.6.0/24"},
		{ip: "1.0.129.9", asn: 23969, prefix: "1.0.129.0/24"}, // most specific of /17, /18, /19, /24 chain
		{ip: "1.0.133.1", asn: 23969, prefix: "1.0.132.0/22"},
		{ip: "1.2.4.8", asn: 24409, asns: []uint32{24409, 24151, 24406}, prefix: "1.2.4.0/24"}, // multi-origin
		{ip: "1.6.6.6", asn: 9583, asns: []uint32{9583, 65535}, prefix: "1.6.6.0/24"},
		{ip: "0.0.0.1"}, // not in the table
	})
}

func TestPfx2asFixtureV6(t *testing.T) {
	tab := mustTable(t, testkit.Fixture(t, "asn-data/m-lab-uuid-annotator/testdata/RouteViewIPv6.tiny.gz"))
	if tab.Prefixes != 119 {
		t.Fatalf("%d prefixes, want 119", tab.Prefixes)
	}
	checkTable(t, tab, []tableCase{
		{ip: "2001::1", asn: 6939, asns: []uint32{6939, 1101, 25192}, prefix: "2001::/32"},
		{ip: "2001:200:901::1", asn: 7660, prefix: "2001:200:900::/40"},
		{ip: "2001:200:1::1", asn: 2500, prefix: "2001:200::/32"},
	})
}

func TestPfx2asCorrupt(t *testing.T) {
	p := testkit.Fixture(t, "asn-data/m-lab-uuid-annotator/testdata/RouteViewIPv4.corrupt")
	tab, err := LoadTable(p)
	if tab != nil {
		t.Fatal("a corrupt table was returned")
	}
	var te *TableError
	if !errors.As(err, &te) {
		t.Fatalf("want a *TableError, got %v", err)
	}
	// Line 50 is "1.1.1.0<TAB>MISSING_ONE_FIELD", the first broken line.
	if te.Line != 50 || !strings.Contains(err.Error(), "RouteViewIPv4.corrupt:50:") || !strings.Contains(te.Msg, "got 2") {
		t.Fatalf("error %q does not name line 50 and the problem", err)
	}

	// A Tracer keeps its working table when a new one fails to load.
	good := testkit.Fixture(t, "asn-data/m-lab-uuid-annotator/testdata/RouteViewIPv4.tiny.gz")
	tr := New(Config{Offline: true, NoDiskCache: true})
	defer tr.Close()
	if err := tr.LoadTables(good); err != nil {
		t.Fatal(err)
	}
	if err := tr.LoadTables(good, p); err == nil {
		t.Fatal("loading a corrupt table did not fail")
	}
	if ts := tr.Tables(); len(ts) != 1 || ts[0].File != good {
		t.Fatalf("tables after a failed load: %v, want the old one only", ts)
	}
	if asn, _, _, ok := tr.ASOf(netip.MustParseAddr("1.1.1.0")); !ok || asn != 13335 {
		t.Fatalf("old table not answering: %d %v", asn, ok)
	}
}

func TestPfx2asBrokenLines(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"1.0.0.0\t24\t13335\n1.0.1.0\t33\t1\n", ":2: bad prefix length"},
		{"1.0.0.0\t24\t13335\n1.0.1.0\t24\tAS1\n", ":2: bad origin"},
		{"1.0.0.0\t24\t13335\n1.0.1.0\t24\t99999999999\n", ":2: bad origin"},
		{"1.0.0.0\t24\t13335\n1.0.1.0\t24\t1\t2\n", ":2: want 3"},
		{"1.0.0.0\t24\t13335\n\n1.0.1.x\t24\t1\n", ":3: bad network address"},
		{"hello world\n", ":1: not a known AS table"},
		{"# only a comment\n", "no data lines"},
		{"1.0.0.0\t24\t1\n" + strings.Repeat("x", 70000) + "\n", ":2: line longer"},
	} {
		_, err := ReadTable("t.pfx2as", strings.NewReader(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", clipS(c.body), err, c.want)
		}
	}
}

func clipS(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestPfx2asOriginForms(t *testing.T) {
	body := "16.105.113.0\t24\t71,4445,7430,21302\n" +
		"31.173.0.0\t16\t31133_6854,25159,29648\n" +
		"192.0.2.0\t24\t{64500,64501}\n" +
		"2001:db8::\t32\t64510_64511\r\n"
	tab, err := ReadTable("forms", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tab, []tableCase{
		{ip: "16.105.113.9", asn: 71, asns: []uint32{71, 4445, 7430, 21302}, prefix: "16.105.113.0/24"},
		{ip: "31.173.200.1", asn: 31133, asns: []uint32{31133, 6854, 25159, 29648}, prefix: "31.173.0.0/16"},
		{ip: "192.0.2.1", asn: 64500, asns: []uint32{64500, 64501}, prefix: "192.0.2.0/24"},
		{ip: "2001:db8:ff::1", asn: 64510, asns: []uint32{64510, 64511}, prefix: "2001:db8::/32"},
	})
}

func TestIPtoASNFixture(t *testing.T) {
	tab := mustTable(t, testkit.Fixture(t, "asn-data/jpastuszek-asn-db/ip2asn-v4.tsv"))
	if tab.Format != FormatIPtoASN {
		t.Fatalf("format %s", tab.Format)
	}
	checkTable(t, tab, []tableCase{
		{ip: "1.1.1.0", asn: 13335, prefix: "1.1.1.0/32", name: "CLOUDFLARENET - Cloudflare, Inc.", cc: "US"},
		{ip: "1.1.1.1", asn: 7497, prefix: "1.1.1.1/32", name: "CSTNET-AS-AP Computer Network Information Center", cc: "CN"},
		{ip: "1.1.1.2", asn: 13335, prefix: "1.1.1.2/31", cc: "US"},
		{ip: "1.1.1.200", asn: 13335, prefix: "1.1.1.128/25", cc: "US"},
		{ip: "8.8.8.8", asn: 15169, prefix: "8.8.8.0/24", name: "GOOGLE - Google LLC", cc: "US"},
	})
}

func TestIPtoASNVariants(t *testing.T) {
	body := "range_start\trange_end\tAS_number\tcountry_code\tAS_description\n" +
		"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.\n" +
		"1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n" +
		"16777216\t16777471\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.\r\n" + // u32 form of 1.0.0.0-1.0.0.255 again
		"3221225984\t3221226239\t64500\tzz\tDOC \x1b]0;pwned\x07 NET\n" + // 192.0.2.0/24
		"2001:1948::\t2001:1948:ffff:ffff:ffff:ffff:ffff:ffff\t210\tUS\tInternet2\n" +
		"2001:db8::\t2001:db8::ffff\t0\tNone\tNot routed\n"
	tab, err := ReadTable("combined.tsv", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tab, []tableCase{
		{ip: "1.0.0.77", asn: 13335, prefix: "1.0.0.0/24", cc: "US"},
		{ip: "1.0.2.1", asn: 0, prefix: "1.0.2.0/23"}, // "Not routed" is an answer too
		{ip: "192.0.2.9", asn: 64500, prefix: "192.0.2.0/24", name: "DOC ?]0;pwned? NET", cc: "ZZ"},
		{ip: "2001:1948:1::1", asn: 210, prefix: "2001:1948::/32", name: "Internet2", cc: "US"},
		{ip: "2001:db8::1", asn: 0, prefix: "2001:db8::/112"},
	})
	tr := New(Config{Offline: true, NoDiskCache: true})
	defer tr.Close()
	tr.SetTables(Tables{tab})
	if _, _, _, ok := tr.ASOf(netip.MustParseAddr("1.0.2.1")); ok {
		t.Error("ASOf says a 'Not routed' address has an AS")
	}
	info, _ := tr.Lookup(t.Context(), netip.MustParseAddr("1.0.2.1"))
	if !info.Unrouted || info.ASN != 0 {
		t.Errorf("Lookup of unrouted space: %+v", info)
	}

	for _, c := range []struct{ body, want string }{
		{"1.0.0.0\t1.0.0.255\t1\tUS\tX\n2.0.0.0\t1.0.0.0\t1\tUS\tX\n", ":2: bad range end"},
		{"1.0.0.0\t2001:db8::\t1\tUS\tX\n", ":1: bad range end"},
		{"1.0.0.0\t1.0.0.255\tAS1\tUS\tX\n", ":1: bad AS number"},
		{"1.0.0.0\t1.0.0.255\t1\tUS\n", ":1: not a known AS table"},
		{"99999999999\t1\t1\tUS\tX\n", ":1: bad range start"},
	} {
		_, err := ReadTable("t.tsv", strings.NewReader(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.body, err, c.want)
		}
	}
}

func TestTablesLongestRoutedWins(t *testing.T) {
	a, _ := ReadTable("a", strings.NewReader("192.0.2.0\t23\t64500\n"))
	b, _ := ReadTable("b", strings.NewReader("192.0.2.0\t192.0.2.255\t0\tNone\tNot routed\n192.0.3.0\t192.0.3.127\t64501\tDE\tB-NET\n"))
	ts := Tables{a, b}
	for _, c := range []struct {
		ip   string
		asn  uint32
		file string
	}{
		{"192.0.2.5", 64500, "a"}, // b says unrouted, a knows a route
		{"192.0.3.5", 64501, "b"}, // b's /25 is longer than a's /23
		{"192.0.3.200", 64500, "a"},
	} {
		got, ok := ts.Lookup(netip.MustParseAddr(c.ip))
		asn, _, _, ok2 := ts.asOf(netip.MustParseAddr(c.ip))
		if !ok || got.ASN != c.asn || got.File != c.file || !ok2 || asn != c.asn {
			t.Errorf("%s: got %+v (asOf %d), want AS%d from %s", c.ip, got, asn, c.asn, c.file)
		}
	}
}

func TestGzipDetectedFromContent(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("198.51.100.0\t24\t64500\n"))
	zw.Close()
	p := filepath.Join(t.TempDir(), "no-extension")
	os.WriteFile(p, buf.Bytes(), 0o644)
	tab := mustTable(t, p)
	checkTable(t, tab, []tableCase{{ip: "198.51.100.1", asn: 64500, prefix: "198.51.100.0/24"}})

	os.WriteFile(p, buf.Bytes()[:len(buf.Bytes())/2], 0o644)
	if _, err := LoadTable(p); err == nil {
		t.Fatal("a truncated gzip file loaded")
	}
}

func TestRangePrefixes(t *testing.T) {
	for _, c := range []struct {
		start, end string
		want       string
	}{
		{"1.0.0.0", "1.0.0.255", "1.0.0.0/24"},
		{"1.1.1.2", "1.1.1.255", "1.1.1.2/31 1.1.1.4/30 1.1.1.8/29 1.1.1.16/28 1.1.1.32/27 1.1.1.64/26 1.1.1.128/25"},
		{"0.0.0.0", "255.255.255.255", "0.0.0.0/0"},
		{"255.255.255.255", "255.255.255.255", "255.255.255.255/32"},
		{"10.0.0.1", "10.0.0.6", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32"},
		{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0"},
		{"2001:db8::", "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8::/63"},
		{"2001:db8::ffff", "2001:db8::1:0", "2001:db8::ffff/128 2001:db8::1:0/128"},
	} {
		var got []string
		rangePrefixes(netip.MustParseAddr(c.start), netip.MustParseAddr(c.end), func(p netip.Prefix) { got = append(got, p.String()) })
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s-%s: %v, want %s", c.start, c.end, got, c.want)
		}
	}
	// Random ranges: the prefixes tile the range exactly.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		a, b := r.Uint32(), r.Uint32()
		if a > b {
			a, b = b, a
		}
		var total uint64
		next := uint64(a)
		rangePrefixes(u32Addr(a), u32Addr(b), func(p netip.Prefix) {
			if uint64(addrU128(p.Addr()).lo) != next || p.Masked() != p {
				t.Fatalf("%d-%d: prefix %s not contiguous or not aligned", a, b, p)
			}
			size := uint64(1) << (32 - p.Bits())
			next += size
			total += size
		})
		if total != uint64(b)-uint64(a)+1 {
			t.Fatalf("%d-%d: covered %d addresses", a, b, total)
		}
	}
}

func u32Addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// syntheticPfx2as builds a RouteViews-like IPv4 table of n prefixes: mostly
// /24s, some shorter covering prefixes, a few multi-origin rows.
func syntheticPfx2as(n int) []byte {
	r := rand.New(rand.NewPCG(42, 43))
	var b bytes.Buffer
	b.Grow(n * 24)
	seen := make(map[uint64]bool, n)
	for len(seen) < n {
		bits := 24
		switch x := r.IntN(100); {
		case x < 8:
			bits = 16 + r.IntN(4)
		case x < 40:
			bits = 20 + r.IntN(4)
		}
		addr := (r.Uint32N(223<<24) + 1<<24) &^ (1<<(32-bits) - 1)
		k := uint64(addr)<<8 | uint64(bits)
		if seen[k] {
			continue
		}
		seen[k] = true
		asn := 1 + r.IntN(70000)
		if r.IntN(100) == 0 {
			fmt.Fprintf(&b, "%d.%d.%d.%d\t%d\t%d_%d\n", addr>>24, addr>>16&255, addr>>8&255, addr&255, bits, asn, asn+1)
		} else {
			fmt.Fprintf(&b, "%d.%d.%d.%d\t%d\t%d\n", addr>>24, addr>>16&255, addr>>8&255, addr&255, bits, asn)
		}
	}
	return b.Bytes()
}

const fullTablePrefixes = 850_000

// BenchmarkLoadPfx2as loads a synthetic full-size (850 k prefixes) IPv4
// RouteViews table from memory, plain and gzip-compressed.
func BenchmarkLoadPfx2as(b *testing.B) {
	data := syntheticPfx2as(fullTablePrefixes)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	for _, c := range []struct {
		name string
		data []byte
	}{{"plain", data}, {"gzip", gz.Bytes()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab, err := ReadTable("synthetic", bytes.NewReader(c.data))
				if err != nil || tab.Prefixes != fullTablePrefixes {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookup measures longest-prefix lookups (the ASOf hot path) in a
// synthetic full-size IPv4 table, on random addresses.
func BenchmarkLookup(b *testing.B) {
	tab, err := ReadTable("synthetic", bytes.NewReader(syntheticPfx2as(fullTablePrefixes)))
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		addrs[i] = u32Addr(r.Uint32())
	}
	b.Run("table", func(b *testing.B) {
		hits := 0
		i := 0
		for b.Loop() {
			if _, _, _, ok := tab.asOf(addrs[i&(len(addrs)-1)]); ok {
				hits++
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		_ = hits
	})
	tr := New(Config{Offline: true, NoDiskCache: true})
	defer tr.Close()
	tr.SetTables(Tables{tab})
	b.Run("tracer.ASOf", func(b *testing.B) {
		i := 0
		for b.Loop() {
			tr.ASOf(addrs[i&(len(addrs)-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("Lookup-with-prefix", func(b *testing.B) {
		i := 0
		for b.Loop() {
			tab.Lookup(addrs[i&(len(addrs)-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
}

func TestSyntheticTableLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	tab, err := ReadTable("synthetic", bytes.NewReader(syntheticPfx2as(20000)))
	if err != nil || tab.Prefixes != 20000 {
		t.Fatalf("%v %v", tab, err)
	}
}

func TestPrefixesOf(t *testing.T) {
	ts, err := LoadTables([]string{testkit.Fixture(t, "asn-data/jpastuszek-asn-db/ip2asn-v4.tsv")})
	if err != nil {
		t.Fatal(err)
	}
	a, ok := ts.Lookup(netip.MustParseAddr("1.1.1.0"))
	if !ok || a.ASN == 0 {
		t.Skip("fixture has no route for 1.0.0.1")
	}
	ps := ts.PrefixesOf(a.ASN)
	found := false
	for _, p := range ps {
		if p.Contains(netip.MustParseAddr("1.1.1.0")) {
			found = true
		}
		if b, _ := ts.Lookup(p.Addr()); b.ASN != a.ASN && !slices.Contains(b.ASNs, a.ASN) {
			t.Fatalf("%s listed for AS%d but looks up as AS%d", p, a.ASN, b.ASN)
		}
	}
	if !found {
		t.Fatalf("AS%d prefixes %v miss 1.0.0.1", a.ASN, ps)
	}
}
