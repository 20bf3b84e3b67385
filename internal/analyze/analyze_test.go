package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

func TestPrefixes(t *testing.T) {
	cases := []struct{ in, p1, p2 string }{
		{"203.0.113.77", "203.0.113.0/24", "invalid Prefix"},
		{"::ffff:203.0.113.77", "203.0.113.0/24", "invalid Prefix"}, // IPv4-mapped folds into IPv4
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"2001:db8:abcd:ff00::1", "2001:db8:abcd:ff00::/64", "2001:db8:abcd::/48"},
	}
	for _, c := range cases {
		p1, p2 := Prefixes(netip.MustParseAddr(c.in))
		if p1.String() != c.p1 || p2.String() != c.p2 {
			t.Errorf("Prefixes(%s) = %s, %s; want %s, %s", c.in, p1, p2, c.p1, c.p2)
		}
	}
}

func TestMappedAddressesAreOneSource(t *testing.T) {
	a := New(DefaultConfig())
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	a.AddEvents([]logs.Event{
		{Time: at, Src: netip.MustParseAddr("::ffff:198.51.100.7"), Kind: logs.KindHTTP, HTTP: logs.HTTPFields{Path: "/", Status: 200}},
		{Time: at, Src: netip.MustParseAddr("198.51.100.7"), Kind: logs.KindHTTP, HTTP: logs.HTTPFields{Path: "/", Status: 200}},
	})
	s := a.Snapshot()
	if len(s.IPs) != 1 || s.IPs[0].Key != "198.51.100.7" || s.IPs[0].Events != 2 {
		t.Fatalf("IPs = %+v, want one 198.51.100.7 with 2 events", s.IPs)
	}
	if len(s.Prefixes) != 1 || s.Prefixes[0].Key != "198.51.100.0/24" || s.Prefixes[0].Sources != 1 {
		t.Fatalf("Prefixes = %+v", s.Prefixes)
	}
}

func TestAppendPage(t *testing.T) {
	cases := []struct{ vhost, path, want string }{
		{"", "/a%2Db", "/a-b"},
		{"", "/a-b", "/a-b"},
		{"Shop.Example", "/x%2fy", "shop.example/x%2Fy"},
		{"", "/%7euser/", "/~user/"},
		{"", "/q?x=1", "/q"},
		{"", "", "/"},
		{"", "/bad%zz%4", "/bad%25zz%254"},
		{"", "/%7%300", "/%25700"},
	}
	for _, c := range cases {
		if got := string(AppendPage(nil, c.vhost, c.path)); got != c.want {
			t.Errorf("AppendPage(%q, %q) = %q, want %q", c.vhost, c.path, got, c.want)
		}
	}
}

func TestRingWindows(t *testing.T) {
	c := newClock(time.Minute, time.Hour, time.Hour)
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC).UnixNano()
	c.start = c.fine(t0)
	var r ring
	add := func(off time.Duration, n uint32) {
		ns := t0 + int64(off)
		r.add(c, c.fine(ns), c.coarse(ns), n)
	}
	add(0, 5)               // bucket 0
	add(15*time.Second, 7)  // bucket 1
	add(65*time.Second, 11) // bucket 6: bucket 0 leaves the shortest window
	add(5*time.Second, 100) // late event for bucket 0: outside the fine ring now
	now := c.fine(t0 + int64(65*time.Second))
	if got := r.short(now); got != 18 {
		t.Errorf("short window = %d, want 7+11", got)
	}
	nowC := c.coarse(t0 + int64(65*time.Second))
	if got := r.long(nowC); got != 123 {
		t.Errorf("long window = %d, want all 123 (the late event is within the hour)", got)
	}
	later := t0 + int64(2*time.Hour)
	if got := r.long(c.coarse(later)); got != 0 {
		t.Errorf("long window two hours later = %d, want 0", got)
	}
	tr := r.trend(c, now)
	if len(tr) != nFine || tr[len(tr)-1] != 1.1 {
		t.Errorf("trend %v, want the newest bucket at 1.1/s", tr)
	}
}

func TestEWMABaseline(t *testing.T) {
	c := newClock(time.Minute, time.Hour, 10*time.Minute)
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC).UnixNano()
	c.start = c.fine(t0)
	var r ring
	// A steady 3 events per 10 s bucket for an hour.
	for i := 0; i < 360; i++ {
		ns := t0 + int64(i)*int64(10*time.Second)
		r.add(c, c.fine(ns), c.coarse(ns), 3)
	}
	now := c.fine(t0 + 360*int64(10*time.Second))
	if b := r.baseline(c, now); math.Abs(b-3) > 0.05 {
		t.Errorf("steady baseline %.3f per bucket, want 3", b)
	}
	// A burst of 300 per bucket for a minute barely moves it (damped).
	for i := 360; i < 366; i++ {
		ns := t0 + int64(i)*int64(10*time.Second)
		r.add(c, c.fine(ns), c.coarse(ns), 300)
	}
	now = c.fine(t0 + 366*int64(10*time.Second))
	if b := r.baseline(c, now); b > 10 {
		t.Errorf("baseline after a one-minute burst %.2f, want still near 3", b)
	}
	// Silence for ten half-lives: the baseline decays to about zero.
	now += 600
	if b := r.baseline(c, now); b > 0.1 {
		t.Errorf("baseline after long silence %.3f, want ~0", b)
	}
	// Start-up bias: a group seen from the first bucket has its true
	// baseline at once.
	var fresh ring
	for i := 0; i < 12; i++ {
		ns := t0 + int64(i)*int64(10*time.Second)
		fresh.add(c, c.fine(ns), c.coarse(ns), 6)
	}
	if b := fresh.baseline(c, c.fine(t0+12*int64(10*time.Second))); math.Abs(b-6) > 0.3 {
		t.Errorf("baseline after 2 minutes of 6/bucket %.2f, want ~6", b)
	}
}

func TestSpaceSavingKeepsHeavyHitters(t *testing.T) {
	tab := newTable[int, noX](1000, 50, 0, true, nil)
	c := newClock(time.Minute, time.Hour, time.Hour)
	ns := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC).UnixNano()
	fe, ce := c.fine(ns), c.coarse(ns)
	// 20 heavy keys with 1000 events each, interleaved with 100,000
	// one-off keys: a hundred times the table's capacity.
	next := 1000
	for round := 0; round < 1000; round++ {
		for h := 0; h < 20; h++ {
			i, e := tab.get(h, ce)
			tab.count(c, i, e, ns, fe, ce, 1, 0, "")
		}
		for k := 0; k < 100; k++ {
			i, e := tab.get(next, ce)
			tab.count(c, i, e, ns, fe, ce, 1, 0, "")
			next++
		}
	}
	if len(tab.idx) > 1000 {
		t.Fatalf("table holds %d keys, bound is 1000", len(tab.idx))
	}
	for h := 0; h < 20; h++ {
		i, ok := tab.idx[h]
		if !ok {
			t.Fatalf("heavy key %d was evicted", h)
		}
		if e := tab.at(i); e.total != 1000 || e.err != 0 {
			t.Errorf("heavy key %d: total %d err %d, want exactly 1000", h, e.total, e.err)
		}
	}
	rows := extract(tab, c, fe, ce, nil)
	heavy := 0
	for _, r := range rows {
		if r.key < 20 {
			heavy++
		}
	}
	if heavy != 20 {
		t.Errorf("hot list has %d of the 20 heavy keys", heavy)
	}
}

func TestDistinct(t *testing.T) {
	for _, n := range []int{0, 1, 8, 9, 100, 1000, 50000} {
		var d distinct
		for i := 0; i < n; i++ {
			h := mix64(uint64(i) + 1)
			d.add(h)
			d.add(h) // repeats do not count
		}
		got := d.count()
		if n <= smallN && got != n {
			t.Errorf("distinct(%d) = %d, want exact", n, got)
		}
		if n > smallN && math.Abs(float64(got-n))/float64(n) > 0.2 {
			t.Errorf("distinct(%d) = %d, want within 20%%", n, got)
		}
	}
}

func TestConcurrentAddAndSnapshot(t *testing.T) {
	a := New(DefaultConfig())
	evs := benchEvents(20000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g * 256; i+256 <= len(evs); i += 1024 {
				a.AddEvents(evs[i : i+256])
			}
		}(g)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = a.Snapshot()
			}
		}
	}()
	wg.Wait()
	close(done)
	s := a.Snapshot()
	if s.Parsed == 0 || s.Total.Events != s.Parsed {
		t.Errorf("parsed %d, total events %d", s.Parsed, s.Total.Events)
	}
}

func TestMalformedAndHealth(t *testing.T) {
	a := New(DefaultConfig())
	a.AddMalformed("web.log", 7, "bad timestamp", "garbage\x1b[2J")
	a.SourceError("web.log", "vanished\x1b]0;x\x07")
	a.AddEvents([]logs.Event{{Time: time.Now().Add(-time.Second), Src: netip.MustParseAddr("192.0.2.1"), Kind: logs.KindHTTP,
		Source: "web.log", Format: "combined", Line: "l", HTTP: logs.HTTPFields{Path: "/", Status: 200}}})
	s := a.Snapshot()
	if s.Malformed != 1 || len(s.Bad) != 1 || s.Bad[0].LineNo != 7 || s.Bad[0].Reason != "bad timestamp" {
		t.Errorf("bad lines %+v", s.Bad)
	}
	if len(s.Sources) != 1 || s.Sources[0].Lines != 2 || s.Sources[0].Malformed != 1 || strings.ContainsRune(s.Sources[0].Err, 0x1b) {
		t.Errorf("health %+v", s.Sources)
	}
	if s.Sources[0].Lag <= 0 || s.Sources[0].Format != "combined" {
		t.Errorf("lag %v format %q", s.Sources[0].Lag, s.Sources[0].Format)
	}
	if len(s.Recent) != 1 || s.Formats["combined"] != 1 {
		t.Errorf("recent %+v formats %v", s.Recent, s.Formats)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte("windows: [10m, 30s]\ndetect:\n  page_flood:\n    factor: 9\nallowlist: [192.0.2.0/24, 2001:db8::1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Windows) != "[30s 10m0s]" || c.Detect.PageFlood.Factor != 9 || c.Detect.PageFlood.MinRate != 5 {
		t.Errorf("config %v %+v", c.Windows, c.Detect.PageFlood)
	}
	if !c.allowed(netip.MustParseAddr("192.0.2.9")) || !c.allowed(netip.MustParseAddr("2001:db8::1")) {
		t.Errorf("allowlist %v", c.allow)
	}
	if _, err := LoadConfig(filepath.Join(dir, "none.yaml")); err != nil {
		t.Errorf("missing file: %v, want defaults", err)
	}
	os.WriteFile(p, []byte("allowlist: [not-a-net]\n"), 0o644)
	if _, err := LoadConfig(p); err == nil {
		t.Error("bad allowlist accepted")
	}
	os.WriteFile(p, []byte("windows: [1s]\n"), 0o644)
	if _, err := LoadConfig(p); err == nil {
		t.Error("a 1s window accepted")
	}
	t.Setenv("XDG_CONFIG_HOME", dir)
	if ConfigPath() != filepath.Join(dir, "irtui", "config.yaml") {
		t.Errorf("ConfigPath %s", ConfigPath())
	}
}

func TestImpactAllowlistAndTargets(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Allowlist = []string{"198.51.100.0/24"}
	a := New(cfg)
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	var evs []logs.Event
	for i := 0; i < 600; i++ {
		for _, ip := range []string{"198.51.100.5", "203.0.113.5"} {
			evs = append(evs, logs.Event{Time: at.Add(time.Duration(i) * 100 * time.Millisecond), Src: netip.MustParseAddr(ip),
				Kind: logs.KindHTTP, Line: "x", HTTP: logs.HTTPFields{Method: "GET", Path: "/", Status: 200}})
		}
	}
	a.AddEvents(evs)
	s := a.Snapshot()
	for _, f := range s.Findings {
		for _, p := range f.Targets {
			if p.Contains(netip.MustParseAddr("198.51.100.5")) {
				t.Errorf("allowlisted address proposed as a target by %s", f.Kind)
			}
		}
	}
	im := a.Impact([]netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")})
	if im.AttackEvents == 0 || im.AttackCovered <= 0 {
		t.Errorf("impact %+v", im)
	}
	if got := a.Impact(nil); got != (Impact{}) {
		t.Errorf("impact of nothing %+v", got)
	}
}
