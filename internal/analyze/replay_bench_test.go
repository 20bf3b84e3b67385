package analyze_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/testkit"
)

// collector keeps every event of a backfill.
type collector struct {
	mu  sync.Mutex
	all []logs.Event
}

func (c *collector) AddEvents(b []logs.Event) {
	c.mu.Lock()
	c.all = append(c.all, b...)
	c.mu.Unlock()
}
func (c *collector) AddMalformed(string, int64, string, string) {}
func (c *collector) SourceError(string, string)                 {}

// BenchmarkAddEventsLog measures the analyzer alone over a real log
// (IRTUI_BENCH_LOG, e.g. loggen's 1 M lines): the file is parsed once, then
// its events are counted in batches of 512 (as Backfill hands them over)
// by one goroutine and by two (as Backfill's workers), with the collector
// off so that the parsed events' heap is not scanned; cpu-s/op includes
// the snapshot.
func BenchmarkAddEventsLog(b *testing.B) {
	path := os.Getenv("IRTUI_BENCH_LOG")
	if path == "" {
		b.Skip("IRTUI_BENCH_LOG names no log")
	}
	var c collector
	if err := ingest.Backfill(context.Background(), []string{path}, ingest.Config{Stats: ingest.NewStats()}, runtime.GOMAXPROCS(0), &c); err != nil {
		b.Fatal(err)
	}
	var batches [][]logs.Event
	const batch = 512
	for i := 0; i < len(c.all); i += batch {
		batches = append(batches, c.all[i:min(i+batch, len(c.all))])
	}
	for _, g := range []int{1, 2} {
		b.Run(map[int]string{1: "1goroutine", 2: "2goroutines"}[g], func(b *testing.B) {
			runtime.GC()
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			var cpu time.Duration
			for b.Loop() {
				cfg := analyze.DefaultConfig()
				cfg.Cumulative, cfg.Recent = true, 0
				a := analyze.New(cfg)
				c0 := testkit.CPUTime()
				var wg sync.WaitGroup
				for k := range g {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := k; i < len(batches); i += g {
							a.AddEvents(batches[i])
						}
					}()
				}
				wg.Wait()
				a.Snapshot()
				cpu += testkit.CPUTime() - c0
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
