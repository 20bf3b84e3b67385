package report

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/irtui/irtui/internal/loggen"
	"github.com/irtui/irtui/internal/testkit"
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
	cpu0 := testkit.CPUTime()
	for b.Loop() {
		err := Run(context.Background(), Options{Paths: []string{path}, JSON: true, Out: io.Discard, Err: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((testkit.CPUTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}
