package report

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/trace"
)

type fakeLooker map[netip.Addr]trace.Info

func (f fakeLooker) Lookup(ctx context.Context, ip netip.Addr) (trace.Info, error) { return f[ip], nil }

type fakeContacts map[uint32][]string

func (f fakeContacts) AbuseContacts(asn uint32, ip netip.Addr) []string { return f[asn] }

func TestAbuseReportSortedByASAndIP(t *testing.T) {
	at := time.Date(2026, 3, 3, 6, 15, 0, 0, time.UTC)
	ip := func(s string, n int64) analyze.Group {
		return analyze.Group{Key: s, Events: n, First: at, Last: at.Add(time.Minute),
			Samples: []string{s + ` - - [03/Mar/2026:06:15:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "evil` + "\x1b]0;pwned\x07" + ` shop.example.com"`}}
	}
	snap := &analyze.Snapshot{
		IPs: []analyze.Group{ip("198.51.100.20", 5), ip("203.0.113.9", 7), ip("198.51.100.3", 9), ip("192.0.2.50", 1)},
		Findings: []analyze.Finding{{Kind: "page_flood", Targets: []netip.Prefix{
			netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.9/32")}}},
	}
	looker := fakeLooker{
		netip.MustParseAddr("198.51.100.20"): {ASN: 64500, ASName: "EXAMPLE-A", Prefix: netip.MustParsePrefix("198.51.100.0/24")},
		netip.MustParseAddr("198.51.100.3"):  {ASN: 64500, ASName: "EXAMPLE-A", Prefix: netip.MustParsePrefix("198.51.100.0/24")},
		netip.MustParseAddr("203.0.113.9"):   {ASN: 64499, ASName: "EXAMPLE-B", Prefix: netip.MustParsePrefix("203.0.113.0/24")},
	}
	var b bytes.Buffer
	err := WriteAbuse(context.Background(), &b, snap, looker, fakeContacts{64500: {"abuse@a.example"}},
		trace.AbuseOptions{Mask: []string{"shop.example.com"}, Generated: at})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "192.0.2.50") {
		t.Fatal("an address no finding names is in the report")
	}
	order := []string{"AS64499", "203.0.113.9", "AS64500", "abuse@a.example", "198.51.100.3", "198.51.100.20"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i <= last {
			t.Fatalf("%q out of order (AS, then IP numerically):\n%s", s, out)
		}
		last = i
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "shop.example.com") || !strings.Contains(out, "[masked]") {
		t.Fatalf("evidence not sanitized and masked:\n%s", out)
	}
	if _, err := AbuseRows(&analyze.Snapshot{IPs: snap.IPs}, nil); err != ErrNoAttackers {
		t.Fatalf("no findings: err = %v", err)
	}
}
