package analyze

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// clusterTraffic is a botnet hammering two pages among customers who
// browse, change their minds and their browsers: addresses join clusters,
// move on to bigger page sets and leave them.
func clusterTraffic(customers, uas, pages int) []logs.Event {
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	var evs []logs.Event
	add := func(ip netip.Addr, ua, path string) {
		at = at.Add(10 * time.Millisecond)
		evs = append(evs, logs.Event{Time: at, Src: ip, Kind: logs.KindHTTP,
			HTTP: logs.HTTPFields{Method: "GET", Path: path, Status: 200, Bytes: 512, UA: ua}})
	}
	rnd := uint64(7)
	next := func(n int) int {
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return int(rnd % uint64(n))
	}
	for round := range 12 {
		for b := range 300 {
			ip := netip.AddrFrom4([4]byte{198, 51, byte(100 + b/250), byte(b % 250)})
			add(ip, "BotUA/1.0", []string{"/product/1337", "/static/hero.jpg"}[(round+b)%2])
		}
		for c := range customers {
			ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(c >> 8), 0, byte(c), 15: 1})
			ua := fmt.Sprintf("Browser/%d", c%min(uas, 6))
			if uas > 6 && c%2 == 1 {
				// One of uas/2 one-off browsers, whose one visit (in one
				// round) changes browser at once: each is in a cluster
				// for a moment only, but its browser is remembered.
				if round == c%12 {
					add(ip, fmt.Sprintf("Rare/%d", c), "/")
					add(ip, fmt.Sprintf("Rare/%d (2)", c), "/")
				}
				continue
			}
			if c%7 == 0 && round >= 8 {
				ua += " (updated)" // becomes no cluster's
			}
			if next(3) == 0 {
				continue // not this round
			}
			// Each customer keeps to a habit of one to three pages, and now
			// and then strays (into a bigger page set, or too many).
			page := (c%8 + next(1+c%3)) % 8
			if next(10) == 0 {
				page = next(pages)
			}
			add(ip, ua, fmt.Sprintf("/page/%d", page))
		}
	}
	return evs
}

// clusterSummary is what a snapshot reads of its clusters, every one that
// may be shown (not only those shown), keyed by user agent and pages (the
// ids are hashes seeded per analyzer). The listed members are checked to
// be present members, and left out: the eager step lists the first that
// joined, the lazy grouping the busiest.
func clusterSummary(t *testing.T, a *Analyzer) []string {
	var out []string
	for _, c := range a.read().clusters {
		for _, m := range c.members {
			var x *ipX
			for _, sh := range a.shards {
				if i := sh.ips.lookup(m); i >= 0 {
					x = &sh.ips.at(i).x
				}
			}
			if x == nil || x.np == 0 || x.np == diverse || fingerprint(x) != c.fp {
				t.Errorf("cluster %q %v lists %s, which is not in it", c.ua, c.pages, m)
			}
		}
		out = append(out, fmt.Sprintf("%q %v size=%d events=%d ases=%v", c.ua, c.pages, c.size, c.events, c.ases))
	}
	slices.Sort(out)
	return out
}

// TestLazyClustersMatchEager checks that a report's shard, which groups
// clusters from fingerprints when read (or when it stops being lazy),
// shows the clusters that moving each address from cluster to cluster
// shows: the same members, events, pages and ASes.
func TestLazyClustersMatchEager(t *testing.T) {
	cases := []struct {
		name                  string
		customers, uas, pages int
		maxSources, maxGroups int
		wantEndsLazy          bool
	}{
		{name: "lazy throughout", customers: 2000, uas: 6, pages: 8},
		{name: "addresses evicted", customers: 2000, uas: 6, pages: 8, maxSources: 2000, wantEndsLazy: true},
		{name: "pages evicted", customers: 2000, uas: 6, pages: 400, maxGroups: 200, wantEndsLazy: true},
		{name: "user agents beyond room", customers: 2*maxUAs + 1000, uas: 2*maxUAs + 1000, pages: 8, wantEndsLazy: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Cumulative, cfg.Shards, cfg.Recent = true, 1, 0
			if tc.maxSources > 0 {
				cfg.MaxSources = tc.maxSources
			}
			if tc.maxGroups > 0 {
				cfg.MaxGroups = tc.maxGroups
			}
			res := fakeResolver{}
			evs := clusterTraffic(tc.customers, tc.uas, tc.pages)
			for i, ev := range evs {
				if i%3 == 0 {
					res[ev.Src] = 64500 + uint32(i%5)
				}
			}
			lazy, eager := New(cfg), New(cfg)
			lazy.SetASResolver(res)
			eager.SetASResolver(res)
			for _, sh := range eager.shards {
				sh.lazy = false
			}
			for b := 0; b < len(evs); b += 512 {
				batch := evs[b:min(b+512, len(evs))]
				lazy.AddEvents(slices.Clone(batch))
				eager.AddEvents(slices.Clone(batch))
			}
			if got := lazy.shards[0].lazy; got == tc.wantEndsLazy {
				t.Fatalf("shard lazy at the end = %v, want %v", got, !tc.wantEndsLazy)
			}
			l, e := clusterSummary(t, lazy), clusterSummary(t, eager)
			if len(e) < 5 {
				t.Fatalf("the eager analyzer read %d clusters, want several", len(e))
			}
			if !reflect.DeepEqual(l, e) {
				t.Errorf("clusters differ:\nlazy  %q\neager %q", l, e)
			}
			ls := lazy.Snapshot()
			// The botnet's cluster names its bots for the page flood.
			bots := 0
			for _, c := range ls.Clusters {
				if c.UA == "BotUA/1.0" {
					bots = c.Size
				}
			}
			if bots != 300 {
				t.Errorf("botnet cluster size %d, want 300", bots)
			}
		})
	}
}

// TestClusterCountsPresentMembers checks that a cluster's events are its
// present members' since they joined: an address that moves on to a
// bigger page set takes its events along, lazy or not.
func TestClusterCountsPresentMembers(t *testing.T) {
	for _, lazy := range []bool{true, false} {
		cfg := DefaultConfig()
		cfg.Cumulative, cfg.Shards = true, 1
		a := New(cfg)
		a.shards[0].lazy = lazy
		at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
		var evs []logs.Event
		req := func(i int, path string) {
			at = at.Add(time.Second)
			evs = append(evs, logs.Event{Time: at, Src: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), Kind: logs.KindHTTP,
				HTTP: logs.HTTPFields{Method: "GET", Path: path, Status: 200, UA: "Same/1.0"}})
		}
		for range 3 {
			for i := range 6 {
				req(i, "/a")
			}
		}
		req(0, "/b")
		a.AddEvents(evs)
		var got []string
		for _, c := range a.read().clusters {
			got = append(got, fmt.Sprintf("%v size=%d events=%d", c.pages, c.size, c.events))
		}
		if want := []string{"[/a] size=5 events=15"}; !reflect.DeepEqual(got, want) {
			t.Errorf("lazy=%v: clusters %q, want %q", lazy, got, want)
		}
	}
}
