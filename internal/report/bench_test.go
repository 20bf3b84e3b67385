package report

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/loggen"
)

var (
	benchLogOnce sync.Once
	benchLogPath string
	benchLogErr  error
)

// benchLog writes the benchmark file (loggen's default: 1 M combined
// lines, ~10 % IPv6) once per test binary run, or uses IRTUI_BENCH_LOG.
func benchLog(b *testing.B) string {
	if p := os.Getenv("IRTUI_BENCH_LOG"); p != "" {
		return p
	}
	benchLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "irtui-bench-")
		if err != nil {
			benchLogErr = err
			return
		}
		benchLogPath = filepath.Join(dir, "access.log")
		f, err := os.Create(benchLogPath)
		if err != nil {
			benchLogErr = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if _, err := loggen.WriteAccessLog(w, loggen.DefaultAccessLog()); err != nil {
			benchLogErr = err
		}
		if err := w.Flush(); err != nil && benchLogErr == nil {
			benchLogErr = err
		}
		f.Close()
	})
	if benchLogErr != nil {
		b.Fatal(benchLogErr)
	}
	return benchLogPath
}

// BenchmarkReportJSON1M measures `irtui report --json` over the 1 M-line
// generated log, end to end: reading, parsing on every CPU, counting, the
// snapshot and the JSON. cpu-s/op is the CPU time it took, which a busy
// machine inflates less than wall time.
func BenchmarkReportJSON1M(b *testing.B) {
	path := benchLog(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		err := Run(context.Background(), Options{Paths: []string{path}, JSON: true, Out: io.Discard, Err: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
