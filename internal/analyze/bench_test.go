package analyze

import (
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/loggen"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// benchEvents returns n benign web events from the generator, a second apart / rate.
func benchEvents(n int) []logs.Event {
	w := loggen.NewWeb(7, 40000, 0.1)
	t := time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC)
	evs := make([]logs.Event, n)
	for i := range evs {
		t = t.Add(20 * time.Millisecond)
		r := w.Benign(t)
		evs[i] = r.Event()
		evs[i].Line = "203.0.113.9 - - [03/Mar/2026:06:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"x\""
	}
	return evs
}

// BenchmarkAddEvents measures counting realistic web events in batches of
// 256 from GOMAXPROCS goroutines at once, as Backfill feeds them.
func BenchmarkAddEvents(b *testing.B) {
	evs := benchEvents(1 << 18)
	cfg := DefaultConfig()
	cfg.Cumulative, cfg.Recent = true, 0
	a := New(cfg)
	procs := runtime.GOMAXPROCS(0)
	const batch = 256
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testkit.CPUTime()
	var wg sync.WaitGroup
	per := b.N / procs
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			off := p * len(evs) / procs
			for done := 0; done < per; done += batch {
				i := (off + done) % (len(evs) - batch)
				a.AddEvents(evs[i : i+batch])
			}
		}(p)
	}
	wg.Wait()
	// CPU time per event, which a busy machine does not inflate the way
	// it inflates wall time.
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(max(b.N, 1)), "cpu-ns/event")
}

// fillSources counts one event from each of n distinct addresses (10 %
// IPv6), the worst case for memory, then a flood from a few.
func fillSources(a *Analyzer, n int) {
	t := time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC)
	batch := make([]logs.Event, 0, 1024)
	flush := func() { a.AddEvents(batch); batch = batch[:0] }
	for i := 0; i < n; i++ {
		var ip netip.Addr
		if i%10 == 0 {
			ip = netip.AddrFrom16([16]byte{0x2a, 0x01, byte(i >> 24), byte(i >> 16), 0, 0, 0, 0, byte(i >> 8), byte(i), 1, 2, 3, 4, 5, 6})
		} else {
			ip = netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i >> 16), byte(i >> 8), byte(i)})
		}
		batch = append(batch, logs.Event{Time: t.Add(time.Duration(i) * time.Millisecond), Src: ip, Kind: logs.KindHTTP,
			Line: "x", HTTP: logs.HTTPFields{Method: "GET", Path: fmt.Sprintf("/p/%d", i%5000), Status: 200, Bytes: 100, UA: "ua"}})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// BenchmarkSnapshot1M measures a snapshot with a million sources tracked
// (the address table raised to hold them all).
func BenchmarkSnapshot1M(b *testing.B) {
	cfg := DefaultConfig()
	cfg.MaxSources = 1 << 20
	a := New(cfg)
	fillSources(a, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testkit.CPUTime()
	for b.Loop() {
		_ = a.Snapshot()
	}
	b.ReportMetric(float64((testkit.CPUTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// TestMemory1M checks resident memory with a million distinct sources;
// run with -run Memory1M -v to see the figure. Skipped in -short runs.
func TestMemory1M(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million sources")
	}
	runtime.GC()
	debug.FreeOSMemory()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	a := New(DefaultConfig())
	fillSources(a, 1_000_000)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := after.HeapAlloc - before.HeapAlloc
	start := time.Now()
	s := a.Snapshot()
	took := time.Since(start)
	t.Logf("1M sources (%d tracked exactly): live heap %d MB, Sys %d MB, snapshot %s, top %s",
		DefaultConfig().MaxSources, heap>>20, after.Sys>>20, took, s.IPs[0].Key)
	if heap > 300<<20 {
		t.Errorf("live heap %d MB with 1M sources, want ≤ 300 MB", heap>>20)
	}
	runtime.KeepAlive(a)
}
