package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/irtui/irtui/internal/logs"
)

// TestKeepsNoEventStrings backs CopiesStrings: every string of the events
// points into one buffer that is overwritten after AddEvents returns, as
// Backfill reuses its read buffers; nothing of it may show in a snapshot.
func TestKeepsNoEventStrings(t *testing.T) {
	buf := make([]byte, 0, 1<<16)
	str := func(s string) string {
		off := len(buf)
		buf = append(buf, s...)
		return unsafe.String(&buf[off], len(s))
	}
	cfg := DefaultConfig()
	cfg.Recent = 50
	a := New(cfg)
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	var evs []logs.Event
	for i := range 40 {
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		for j := range 12 {
			evs = append(evs, logs.Event{Time: at.Add(time.Duration(i*12+j) * time.Second), Src: ip, Kind: logs.KindHTTP,
				Format: str("combined"), Source: str("access.log"), Host: str("web1"), Line: str(fmt.Sprintf("line %d %d", i, j)),
				HTTP: logs.HTTPFields{Method: str("GET"), Path: str(fmt.Sprintf("/img/%d.jpg", j%2)), Vhost: str("Shop.Example"),
					Status: 200, Bytes: 1000, UA: str("BotAgent/1.0")}})
		}
		evs = append(evs, logs.Event{Time: at, Src: ip, Kind: logs.KindMail, Format: str("postfix"), Source: str("mail.log"),
			Line: str("mail line"), Mail: logs.MailFields{Action: logs.ActReject, Reason: str("relay_denied"), From: str("spam@example.net")}})
		evs = append(evs, logs.Event{Time: at, Src: ip, Kind: logs.KindDNS, Format: str("bind"), Source: str("query.log"),
			Line: str("dns line"), DNS: logs.DNSFields{QName: str("Example.ORG."), QType: str("ANY"), Denied: true}})
	}
	a.AddEvents(evs)
	a.AddMalformed(str("access.log"), 7, str("no timestamp"), str("garbage line"))
	for i := range buf {
		buf[i] = 'X'
	}
	s := a.Snapshot()
	if dump := fmt.Sprintf("%+v", *s); strings.Contains(dump, "XXX") {
		i := strings.Index(dump, "XXX")
		t.Fatalf("the snapshot holds event memory: …%s…", dump[max(0, i-200):min(len(dump), i+50)])
	}
	if len(s.Pages) == 0 || s.Pages[0].Vhost != "shop.example" || !strings.HasPrefix(s.Pages[0].Path, "/img/") {
		t.Errorf("pages = %+v", s.Pages)
	}
	if len(s.Clusters) == 0 || s.Clusters[0].UA != "BotAgent/1.0" {
		t.Errorf("clusters = %+v", s.Clusters)
	}
	if len(s.MailSenders) == 0 || s.MailSenders[0].Key != "spam@example.net" {
		t.Errorf("mail senders = %+v", s.MailSenders)
	}
	if len(s.DNSNames) == 0 || s.DNSNames[0].Key != "example.org" {
		t.Errorf("DNS names = %+v", s.DNSNames)
	}
	if len(s.Recent) == 0 || len(s.Bad) != 1 || s.Bad[0].Line != "garbage line" {
		t.Errorf("recent %d, bad %+v", len(s.Recent), s.Bad)
	}
}

// TestReportPrefixesExact checks the prefixes and ASes of a report
// (cumulative counts), summed from the addresses while none was evicted and
// counted per event once the address table is full: either way each prefix
// and AS has its exact events, bytes and distinct sources.
func TestReportPrefixesExact(t *testing.T) {
	for _, maxSources := range []int{1 << 16, 64} {
		t.Run(fmt.Sprint(maxSources), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Cumulative, cfg.Shards, cfg.MaxSources, cfg.Recent = true, 1, maxSources, 0
			a := New(cfg)
			// Every other network is in an AS the resolver knows from the
			// start; the rest stay "AS unknown".
			res := fakeResolver{}
			a.SetASResolver(res)
			at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
			events := map[string]int64{}
			sources := map[string]map[netip.Addr]bool{}
			asKeyOf := func(n int) string {
				if n%2 == 0 {
					return asKey(uint32(64500 + n%4))
				}
				return asKey(0)
			}
			var batch []logs.Event
			for i := range 3000 {
				// 30 networks of 10 addresses each (IPv6 every third
				// network), busier networks first.
				n := (i * 7) % 30
				var ip netip.Addr
				if n%3 == 0 {
					ip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(n), 0, 1, 8: byte(i % 10)})
				} else {
					ip = netip.AddrFrom4([4]byte{198, 51, byte(n), byte(i % 10)})
				}
				if i%(n+1) != 0 && i > 1500 {
					continue
				}
				if n%2 == 0 {
					res[ip] = uint32(64500 + n%4)
				}
				keys := []string{asKeyOf(n)}
				for _, p := range []netip.Prefix{netip.PrefixFrom(ip, 24).Masked(), netip.PrefixFrom(ip, 64).Masked(), netip.PrefixFrom(ip, 48).Masked()} {
					if ip.Is4() == (p.Bits() == 24) {
						keys = append(keys, p.String())
					}
				}
				for _, k := range keys {
					events[k]++
					if sources[k] == nil {
						sources[k] = map[netip.Addr]bool{}
					}
					sources[k][ip] = true
				}
				batch = append(batch, logs.Event{Time: at.Add(time.Duration(i) * time.Second), Src: ip, Kind: logs.KindHTTP,
					HTTP: logs.HTTPFields{Path: "/", Status: 200, Bytes: 10}})
				if len(batch) == 100 {
					a.AddEvents(batch)
					batch = batch[:0]
				}
			}
			a.AddEvents(batch)
			s := a.Snapshot()
			// A small table shows fewer rows (its hot list), each exact.
			if len(s.Prefixes) < 16 {
				t.Fatalf("%d prefixes, want %d", len(s.Prefixes), len(events))
			}
			if len(s.ASes) != 3 {
				t.Errorf("%d ASes, want 3: %+v", len(s.ASes), s.ASes)
			}
			for _, g := range append(s.Prefixes, s.ASes...) {
				if g.Events != events[g.Key] || g.Bytes != 10*events[g.Key] || g.Sources != len(sources[g.Key]) || g.Estimated {
					t.Errorf("%s: %d events, %d bytes, %d sources; want %d, %d, %d", g.Key, g.Events, g.Bytes, g.Sources,
						events[g.Key], 10*events[g.Key], len(sources[g.Key]))
				}
			}
		})
	}
}

// TestHashedTableCollisions drives a hashed table whose hash collides for
// many or all keys side by side with a plain one: the same inserts and
// evictions must leave the same entries, each found by its key.
func TestHashedTableCollisions(t *testing.T) {
	c := newClock(time.Minute, time.Hour, time.Hour)
	c.cumulative = true
	for _, hash := range []func(string) uint64{func(string) uint64 { return 7 }, func(k string) uint64 { return uint64(len(k)) }, cloneHash} {
		plain := newTable[string, noX](16, 4, 0, true, cloneString)
		tb := newTable[string, noX](16, 4, 0, true, cloneString).hashed(hash, 0)
		for i := range 2000 {
			k := fmt.Sprintf("k%d", (i*i)%53)
			if i%3 == 0 {
				k = fmt.Sprintf("key%d", i%7)
			}
			j, e := tb.get(k, 1)
			pj, pe := plain.get(k, 1)
			if e.key != k || j != pj {
				t.Fatalf("get(%q) returned %q at %d, plain table at %d", k, e.key, j, pj)
			}
			tb.count(c, j, e, int64(i+1), 1, 1, 1, 0, "")
			plain.count(c, pj, pe, int64(i+1), 1, 1, 1, 0, "")
		}
		for i := int32(0); i < tb.n; i++ {
			e, pe := tb.at(i), plain.at(i)
			if e.key != pe.key || e.total != pe.total || e.err != pe.err {
				t.Fatalf("entry %d: %q %d+%d, plain %q %d+%d", i, e.key, e.total, e.err, pe.key, pe.total, pe.err)
			}
			if tb.lookup(e.key) != i {
				t.Fatalf("entry %d (%q) not found by its key", i, e.key)
			}
		}
		if tb.n != 16 || tb.hx.n != 16 {
			t.Errorf("%d entries, %d indexed; want 16", tb.n, tb.hx.n)
		}
	}
}

func cloneHash(k string) uint64 { return uint64(len(k))*31 + uint64(k[len(k)-1]) }
