package trace

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseOrigin(t *testing.T) {
	for _, c := range []struct {
		in      string
		asns    []uint32
		prefix  string
		cc, reg string
		err     string
	}{
		// FORMATS.md section 2, quotes as in the ipwhois test data.
		{in: `"15169 | 74.125.225.0/24 | US | arin | 2007-03-13"`, asns: []uint32{15169}, prefix: "74.125.225.0/24", cc: "US", reg: "arin"},
		{in: "15169 | 8.8.8.0/24 | US | arin | 1992-12-01", asns: []uint32{15169}, prefix: "8.8.8.0/24", cc: "US", reg: "arin"},
		{in: "13335 209242 | 1.1.1.0/24 | US | arin | 2018", asns: []uint32{13335, 209242}, prefix: "1.1.1.0/24", cc: "US", reg: "arin"},
		{in: "15169 36040 | 2001:4860::/32 | US | arin | x", asns: []uint32{15169, 36040}, prefix: "2001:4860::/32", cc: "US", reg: "arin"},
		{in: " 15169  | 8.8.8.0/24 | US | arin | 1992-12-01\r\n", asns: []uint32{15169}, prefix: "8.8.8.0/24", cc: "US", reg: "arin"},
		{in: "15169 | 74.125.225.0/24 | US | rdm | 2007-03-13", asns: []uint32{15169}, prefix: "74.125.225.0/24", cc: "US", reg: ""},
		{in: "15169 | 74.125.225.0/24 | US | random | 2007-03-13", asns: []uint32{15169}, prefix: "74.125.225.0/24", cc: "US", reg: ""},
		{in: "64500 | 192.0.2.0/24 | \x1b[2J | other |", asns: []uint32{64500}, prefix: "192.0.2.0/24", cc: "", reg: "other"},
		{in: "64500 | 192.0.2.77/24", asns: []uint32{64500}, prefix: "192.0.2.0/24"},
		{in: "NA | NA | NA | NA | NA", err: "not routed"},
		{in: "", err: "empty"},
		{in: `""`, err: "empty"},
		{in: "15169   | 74.125.225.229   | 74.125.225.0/24     | US", err: "bad prefix"},
		{in: "AS-X | 192.0.2.0/24", err: "bad AS number"},
		{in: "4294967296 | 192.0.2.0/24", err: "bad AS number"},
		{in: "15169", err: "want at least 2"},
	} {
		o, err := ParseOrigin(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(o.ASNs, c.asns) || o.Prefix.String() != c.prefix || o.Country != c.cc || o.Registry != c.reg {
			t.Errorf("%q: got %+v %v", c.in, o, err)
		}
	}
	if _, err := ParseOrigin("NA | NA"); !errors.Is(err, ErrUnrouted) {
		t.Errorf("NA: %v", err)
	}
}

func TestParseASInfo(t *testing.T) {
	a, err := ParseASInfo(`"15169 | US | arin | 2007-03-13 | GOOGLE - Google Inc., US"`)
	if err != nil || a != (ASInfo{ASN: 15169, Name: "GOOGLE - Google Inc., US", Country: "US", Registry: "arin", Allocated: "2007-03-13"}) {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = ParseASInfo("64500 | ZZ | lacnic | | A | B\r\n")
	if err != nil || a.Name != "A | B" || a.Country != "ZZ" || a.Allocated != "" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []string{"", "15169 | US | arin", "x | US | arin | 2000 | N", "NA | NA | NA | NA | NA"} {
		if _, err := ParseASInfo(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseAbuse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"root@localhost,abuse@localhost", []string{"root@localhost", "abuse@localhost"}},
		{"Abusix ContactDB Test point", nil},
		{" Abuse@Example.NET , abuse@example.net,mailto:noc@example.net", []string{"abuse@example.net", "noc@example.net"}},
		{"a@b@c, @x, x@, x@.y, x@y., <x@y>, x y@z", nil},
		{"", nil},
	} {
		if got := ParseAbuse(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUnescapeTXT(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:            "plain",
		`a\"b\\c`:          `a"b\c`,
		`\027]0;pwned\007`: "\x1b]0;pwned\x07",
		`\999`:             "999",
		`trailing\`:        `trailing\`,
	} {
		if got := unescapeTXT(in); got != want {
			t.Errorf("unescapeTXT(%q) = %q, want %q", in, got, want)
		}
	}
}

func checkSafe(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s: invalid UTF-8 %q", what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Fatalf("%s: control character in %q", what, s)
		}
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{
		`"15169 | 74.125.225.0/24 | US | arin | 2007-03-13"`,
		"13335 209242 | 1.1.1.0/24 | US | arin | 2018",
		"15169 36040 | 2001:4860::/32 | US | arin | x",
		" 15169  | 8.8.8.0/24 | US | arin | 1992-12-01\r\n",
		"NA | NA | NA | NA | NA", "", "|||||", "1 | ::/0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			return
		}
		if len(o.ASNs) == 0 || len(o.ASNs) > maxOrigins || !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
			t.Fatalf("%q: accepted %+v", s, o)
		}
		checkSafe(t, "country", o.Country)
		checkSafe(t, "registry", o.Registry)
		checkSafe(t, "allocated", o.Allocated)
		if o.Registry != "" && !registries[o.Registry] {
			t.Fatalf("registry %q", o.Registry)
		}
	})
}

func FuzzParseASInfo(f *testing.F) {
	for _, s := range []string{
		`"15169 | US | arin | 2007-03-13 | GOOGLE - Google Inc., US"`,
		"64500 | ZZ | lacnic | | A | B\r\n",
		"1 | US | arin | 2000 | \x1b]0;pwned\x07",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseASInfo(s)
		if err != nil {
			return
		}
		checkSafe(t, "name", a.Name)
		checkSafe(t, "country", a.Country)
		if utf8.RuneCountInString(a.Name) > maxASNameRunes {
			t.Fatalf("name of %d runes", utf8.RuneCountInString(a.Name))
		}
	})
}

func FuzzParseAbuse(f *testing.F) {
	for _, s := range []string{"root@localhost,abuse@localhost", "Abusix ContactDB Test point", "\x1b[2J@x,a@b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ParseAbuse(s)
		if len(out) > maxAbuse {
			t.Fatalf("%d contacts", len(out))
		}
		for _, m := range out {
			checkSafe(t, "contact", m)
			if !plausibleEmail(m) || strings.ContainsAny(m, " ,<>\"") {
				t.Fatalf("contact %q", m)
			}
		}
	})
}

// FuzzTableLine feeds single lines (after a valid first line fixing the
// format) to both table parsers: no panic, and an accepted line yields
// only valid prefixes.
func FuzzTableLine(f *testing.F) {
	for _, s := range []string{
		"1.0.0.0\t24\t13335", "2001::\t32\t6939_1101_25192", "16.105.113.0\t24\t71,4445,7430,21302",
		"31.173.0.0\t16\t31133_6854,25159,29648", "1.1.1.0\tMISSING_ONE_FIELD", "UNPARSABLE_NETWORK\t24\t1234",
		"1.0.1.0\t1.0.3.255\t0\tNone\tNot routed", "16777216\t16777471\t13335\tUS\tCLOUDFLARENET - Cloudflare, Inc.",
		"2001:1948::\t2001:1948:ffff:ffff:ffff:ffff:ffff:ffff\t210\tUS\tInternet2",
		"range_start\trange_end\tAS_number\tcountry_code\tAS_description",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, line string, iptoasn bool) {
		first := "192.0.2.0\t24\t64500\n"
		if iptoasn {
			first = "192.0.2.0\t192.0.2.255\t64500\tNL\tDOC\n"
		}
		tab, err := ReadTable("fuzz", strings.NewReader(first+line+"\n"))
		if err != nil {
			var te *TableError
			// line may itself hold newlines, so the bad line is 2 or later.
			if !errors.As(err, &te) || (te.Line < 2 && te.Line != 0) {
				t.Fatalf("error %v does not name a line after the first", err)
			}
			return
		}
		for p, idx := range tab.lpm.All() {
			if !p.IsValid() || p != p.Masked() || int(idx) >= len(tab.recs) {
				t.Fatalf("bad entry %s -> %d", p, idx)
			}
		}
		for _, n := range tab.names {
			checkSafe(t, "name", n)
		}
		tab.Lookup(netip.MustParseAddr("192.0.2.1"))
	})
}
