package ingest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/ingest/gencombined"
)

// benchCombined returns the combined log to benchmark: the file named by
// IRTUI_BENCH_COMBINED (scripts/bench-parse.sh writes a 1 M-line one), or
// 200,000 generated lines.
func benchCombined(b *testing.B) (path string, data []byte) {
	b.Helper()
	benchOnce.Do(func() {
		if p := os.Getenv("IRTUI_BENCH_COMBINED"); p != "" {
			benchPath = p
			benchData, benchErr = os.ReadFile(p)
			return
		}
		var buf bytes.Buffer
		benchErr = gencombined.Write(&buf, 200_000, 1, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		dir, err := os.MkdirTemp("", "irtui-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchPath, benchData = filepath.Join(dir, "access.log"), buf.Bytes()
		if err := os.WriteFile(benchPath, benchData, 0o644); err != nil {
			benchErr = err
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath, benchData
}

var (
	benchOnce sync.Once
	benchPath string
	benchData []byte
	benchErr  error
)

// TestMain removes the generated benchmark file.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchPath != "" && os.Getenv("IRTUI_BENCH_COMBINED") == "" {
		os.RemoveAll(filepath.Dir(benchPath))
	}
	os.Exit(code)
}

// benchParseStage parses lines with one parser in one goroutine, the way
// one Backfill worker does. One op is one line, so ns/op and allocs/op are
// per line.
func benchParseStage(b *testing.B, lines []string, parsers []logs.Parser) {
	var total int64
	for _, l := range lines {
		total += int64(len(l)) + 1
	}
	b.SetBytes(total / int64(len(lines)))
	b.ReportAllocs()
	var ev logs.Event
	bad := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(lines)
		if parsers[k].Parse(lines[k], &ev) != nil {
			bad++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if bad > b.N/100 {
		b.Fatalf("%d of %d lines malformed", bad, b.N)
	}
}

// BenchmarkParseStageCombined: the parse stage alone on a generated
// combined log (issue target: ≥ 1.5 M lines/s on one core, GOMAXPROCS=1).
func BenchmarkParseStageCombined(b *testing.B) {
	_, data := benchCombined(b)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	f, ok := formats.Detect(lines[:50], logs.Options{})
	if !ok {
		b.Fatal("no format detected")
	}
	p := f.New(logs.Options{})
	parsers := make([]logs.Parser, len(lines))
	for i := range parsers {
		parsers[i] = p
	}
	benchParseStage(b, lines, parsers)
}

// BenchmarkParseStageMail: the parse stage on the real mail logs, each file
// with the parser its detection picks.
func BenchmarkParseStageMail(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join(fixturesRoot(b), "real-mail", "*", "*"))
	var lines []string
	var parsers []logs.Parser
	for _, p := range paths {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		ls := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(d), "\r\n", "\n"), "\n"), "\n")
		f, ok := formats.Detect(ls, logs.Options{})
		if !ok {
			b.Fatalf("%s: no format", p)
		}
		parser := f.New(logs.Options{})
		for _, l := range ls {
			lines = append(lines, l)
			parsers = append(parsers, parser)
		}
	}
	benchParseStage(b, lines, parsers)
}

// BenchmarkBackfillCombined: the whole Backfill path (read, cut, parse in
// GOMAXPROCS workers, batch) into a sink that only counts. One op is the
// whole file.
func BenchmarkBackfillCombined(b *testing.B) {
	path, data := benchCombined(b)
	n := bytes.Count(data, []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	workers := max(1, runtime.GOMAXPROCS(0))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink := &countSink{}
		if err := Backfill(context.Background(), []string{path}, Config{}, workers, sink); err != nil {
			b.Fatal(err)
		}
		if sink.events != n {
			b.Fatalf("%d events of %d lines", sink.events, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkParseJSON: `irtui parse` on the combined log, JSON discarded.
func BenchmarkParseJSON(b *testing.B) {
	path, data := benchCombined(b)
	n := bytes.Count(data, []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(context.Background(), []string{path}, Config{}, runtime.GOMAXPROCS(0), io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkAppendJSON(b *testing.B) {
	_, data := benchCombined(b)
	lines := strings.SplitN(string(data), "\n", 1001)[:1000]
	f, _ := formats.ByName("combined")
	p := f.New(logs.Options{})
	evs := make([]logs.Event, len(lines))
	for i, l := range lines {
		if err := p.Parse(l, &evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = AppendJSON(out[:0], &evs[i%len(evs)], "access.log")
	}
}
