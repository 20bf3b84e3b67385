package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// deferGC holds collection off only until the limit is reached: the first
// collection gives the collector its settings back.
func TestDeferGC(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: deferGC leaves them alone")
	}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	// Commands run in this process before (irtui block, report) leave their
	// own deferred limit until a collection happens: start from none.
	limit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(limit)
	deferGC(32 << 20)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d after deferGC, want off (-1)", p)
	}
	var sink [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		// garbage until the limit starts a collection
		for range 16 {
			sink = append(sink[:0], make([]byte, 1<<20))
		}
		runtime.Gosched()
		if p := debug.SetGCPercent(-1); p == 100 {
			debug.SetGCPercent(100)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the collector was not given back its settings")
		}
	}
	if l := debug.SetMemoryLimit(-1); l != 1<<63-1 {
		t.Errorf("memory limit %d after the first collection, want none", l)
	}
	_ = sink
}
