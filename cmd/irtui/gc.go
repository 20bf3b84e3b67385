package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// heapBeforeGC is how much memory a one-shot command (irtui report
// without --follow, irtui block) may use before its first collection: a
// report of the 1 M-line generated log needs about 70 MB in all, a block
// of 100,000 addresses about 50 MB.
const heapBeforeGC = 100 << 20

// deferGC holds off garbage collection until the process uses limit bytes,
// then hands the collector back its usual settings. A one-shot report
// allocates mostly what it keeps (the analyzer's tables), and collecting
// at every doubling of a heap that starts at 4 MB cost it ~8% of its wall
// time for nothing; a big block likewise. A user's GOGC or GOMEMLIMIT is
// left alone.
func deferGC(limit int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	prev := debug.SetMemoryLimit(limit)
	// Unreachable at once, so cleaned up by the first collection, which
	// the memory limit starts.
	runtime.AddCleanup(new(gcSentinel), func(struct{}) {
		debug.SetMemoryLimit(prev)
		debug.SetGCPercent(percent)
	}, struct{}{})
}

// gcSentinel is big enough to get an allocation of its own (tiny objects
// share one, and may outlive the first collection).
type gcSentinel [64]byte
