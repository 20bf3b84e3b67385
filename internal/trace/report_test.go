package trace

import (
	"bytes"
	"encoding/csv"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func reportRows() []AbuseRow {
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	cest := time.FixedZone("CEST", 2*3600)
	return []AbuseRow{
		{IP: netip.MustParseAddr("198.51.100.20"), ASN: 64500, ASName: "EXAMPLE-NET - Example Networks", Prefix: netip.MustParsePrefix("198.51.100.0/24"),
			First: ts("2024-05-01T10:00:00Z"), Last: ts("2024-05-01T10:45:10Z"), Events: 310,
			Evidence: []string{
				`198.51.100.20 - - [01/May/2024:10:00:00 +0000] "POST /wp-login.php HTTP/1.1" 200 512 "-" "Mozilla/5.0" host=www.shop.example`,
				"198.51.100.20 - - [01/May/2024:10:00:01 +0000] \"GET /\x1b]0;pwned\x07 HTTP/1.1\" 404 0",
				"third line",
				"fourth line is not shown",
			}},
		{IP: netip.MustParseAddr("198.51.100.3"), ASN: 64500, ASName: "EXAMPLE-NET - Example Networks", Prefix: netip.MustParsePrefix("198.51.100.0/24"),
			First: ts("2024-05-01T10:05:00Z").In(cest), Last: ts("2024-05-01T10:06:00Z").In(cest), Events: 12,
			Evidence: []string{"postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[198.51.100.3]: 554 5.7.1 <x@MAIL.SHOP.EXAMPLE>: Relay access denied; to=<victim@elsewhere.example> 203.0.113.5"}},
		{IP: netip.MustParseAddr("2001:db8::1"), ASN: 64496, ASName: "DOC6 *bold* [link](http://x) | pipe", Prefix: netip.MustParsePrefix("2001:db8::/32"),
			First: ts("2024-05-01T09:00:00Z"), Last: ts("2024-05-01T11:00:00Z"), Events: 2,
			Evidence: []string{"=HYPERLINK(\"http://evil.example\")"}},
		{IP: netip.MustParseAddr("192.0.2.9"), ASN: 64500, ASName: "", Prefix: netip.MustParsePrefix("192.0.2.0/24"),
			First: ts("2024-05-01T10:10:00Z"), Last: ts("2024-05-01T10:10:00Z"), Events: 1},
		{IP: netip.MustParseAddr("203.0.113.77"), Events: 5, First: ts("2024-05-01T08:00:00Z"), Last: ts("2024-05-01T08:30:00Z")},
	}
}

func reportContacts() ContactSource {
	return ContactsFunc(func(asn uint32, ip netip.Addr) []string {
		switch {
		case asn == 64500 && ip.Is4() && ip.As4()[0] == 198:
			return []string{"abuse@example.net", "NOC@Example.NET"}
		case asn == 64500:
			return []string{"abuse@example.net", "not an address"}
		case asn == 64496:
			return []string{"abuse@doc6.example"}
		}
		return nil
	})
}

func TestAbuseReportGolden(t *testing.T) {
	for _, format := range []string{"text", "markdown", "csv"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteAbuseReport(&buf, reportRows(), AbuseOptions{
				Format:    format,
				Mask:      []string{"shop.example", "203.0.113.5", "mail.shop.example"},
				Contacts:  reportContacts(),
				Generated: time.Date(2024, 5, 1, 13, 0, 0, 0, time.FixedZone("X", -5*3600)),
			})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "abuse-report."+format+".golden")
			if *update {
				os.MkdirAll("testdata", 0o755)
				os.WriteFile(golden, buf.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestAbuseReportGolden -update)", err)
			}
			if buf.String() != string(want) {
				t.Fatalf("output differs from %s:\n%s", golden, buf.String())
			}
			out := buf.String()
			for _, leak := range []string{"shop.example", "SHOP.EXAMPLE", "203.0.113.5 ", "\x1b", "\x07", "fourth line"} {
				if strings.Contains(out, leak) {
					t.Errorf("%q in the report", leak)
				}
			}
		})
	}
}

func TestAbuseReportOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAbuseReport(&buf, reportRows(), AbuseOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[0]+" "+r[3])
	}
	// By AS (unknown last), then numerically by IP: .3 before .20.
	want := "64496 2001:db8::1|64500 192.0.2.9|64500 198.51.100.3|64500 198.51.100.20| 203.0.113.77"
	if strings.Join(got, "|") != want {
		t.Fatalf("order %q, want %q", strings.Join(got, "|"), want)
	}
	if err := WriteAbuseReport(&buf, nil, AbuseOptions{Format: "pdf"}); err == nil {
		t.Fatal("unknown format accepted")
	}
}

func TestReplaceFold(t *testing.T) {
	for _, c := range []struct{ s, old, want string }{
		{"Mail.Example.COM said hi", "mail.example.com", "[masked] said hi"},
		{"aaa", "a", "[masked][masked][masked]"},
		{"nothing", "x", "nothing"},
		{"ab", "abc", "ab"},
	} {
		if got := replaceFold(c.s, c.old, masked); got != c.want {
			t.Errorf("replaceFold(%q,%q) = %q, want %q", c.s, c.old, got, c.want)
		}
	}
}
