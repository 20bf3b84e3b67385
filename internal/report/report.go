// Package report runs `irtui report`: it reads log files through the
// ingest pipeline into an analyzer and prints the groupings and findings
// as text for people or as one JSON object for scripts, once or, with
// Follow, every Interval.
package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/sanitize"
)

// Options are the flags of `irtui report`.
type Options struct {
	Paths     []string
	JSON      bool
	Since     time.Duration // only events newer than now−Since
	Top       int           // rows per table
	Follow    bool          // keep following and print every Interval
	Interval  time.Duration
	FromStart bool // with Follow: read the files from their start first
	Format    string
	LogFormat string
	Workers   int            // backfill parsers; 0 = one per CPU
	Config    analyze.Config // detector thresholds and windows
	Out       io.Writer
	Err       io.Writer
	// Resolver, when set, maps addresses to ASes.
	Resolver analyze.ASResolver
}

// ErrNoInput is returned when no file could be read at all.
var ErrNoInput = errors.New("no input could be read")

// Run reads the files and writes the report. It returns ErrNoInput when
// every file failed (the reasons are on Err).
func Run(ctx context.Context, o Options) error {
	if o.Top <= 0 {
		o.Top = 20
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Out == nil || o.Err == nil {
		return errors.New("report: Out and Err are required")
	}
	an, sink, icfg, stats := setup(o)
	if !o.Follow {
		snap, meta, err := backfill(ctx, o, an, sink, icfg, stats)
		if err != nil {
			return err
		}
		if o.JSON {
			return WriteJSON(o.Out, snap, meta, o.Top)
		}
		return WriteText(o.Out, snap, meta, o.Top)
	}
	return follow(ctx, o, an, sink, icfg, stats)
}

// backfill reads every file once and returns the resulting snapshot.
func backfill(ctx context.Context, o Options, an *analyze.Analyzer, sink *errSink, icfg ingest.Config, stats *ingest.Stats) (*analyze.Snapshot, Meta, error) {
	if err := ingest.Backfill(ctx, o.Paths, icfg, o.Workers, sink); err != nil {
		return nil, Meta{}, err
	}
	meta := metaOf(stats, time.Time{})
	if meta.Lines == 0 && sink.failed.Load() > 0 && sink.failed.Load() >= int64(len(o.Paths)) {
		return nil, meta, ErrNoInput
	}
	return an.Snapshot(), meta, nil
}

// Analyze reads the files once (no follow) and returns the snapshot, for
// callers that print something other than the report (the abuse report).
func Analyze(ctx context.Context, o Options) (*analyze.Snapshot, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	o.Follow = false
	if o.Err == nil {
		o.Err = io.Discard
	}
	an, sink, icfg, stats := setup(o)
	snap, _, err := backfill(ctx, o, an, sink, icfg, stats)
	return snap, err
}

// setup builds the analyzer and ingest configuration for o: a report read
// once counts cumulatively and keeps no raw lines.
func setup(o Options) (*analyze.Analyzer, *errSink, ingest.Config, *ingest.Stats) {
	cfg := o.Config
	cfg.Top = max(o.Top, 100)
	if !o.Follow {
		cfg.Cumulative = true
		cfg.Recent = 0
	}
	an := analyze.New(cfg)
	if o.Resolver != nil {
		an.SetASResolver(o.Resolver)
	}
	stats := ingest.NewStats()
	icfg := ingest.Config{Format: o.Format, LogFormat: o.LogFormat, Since: o.Since, Stats: stats}
	return an, &errSink{Analyzer: an, err: o.Err}, icfg, stats
}

// follow runs the live pipeline and prints a report every Interval until
// ctx ends.
func follow(ctx context.Context, o Options, an *analyze.Analyzer, sink *errSink, icfg ingest.Config, stats *ingest.Stats) error {
	var sources []logs.Source
	for _, p := range o.Paths {
		if p == "-" {
			sources = append(sources, logs.Stdin())
			continue
		}
		fo := logs.FileOptions{FromStart: o.FromStart}
		if o.Since > 0 {
			fo.Backfill, fo.NotBefore = true, time.Now().Add(-o.Since)
		}
		sources = append(sources, logs.NewFileSource(p, fo))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ingest.Run(ctx, sources, icfg, sink) }()
	bw := bufio.NewWriter(o.Out)
	tk := time.NewTicker(o.Interval)
	defer tk.Stop()
	emit := func() error {
		snap := an.Snapshot()
		meta := metaOf(stats, time.Now().UTC())
		var err error
		if o.JSON {
			err = WriteJSON(bw, snap, meta, o.Top)
		} else {
			fmt.Fprintf(bw, "── %s ──\n", meta.Emitted.Format(time.RFC3339))
			err = WriteText(bw, snap, meta, o.Top)
		}
		if err == nil {
			err = bw.Flush()
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			<-done
			return emit()
		case err := <-done:
			if err != nil {
				return err
			}
			return emit() // every source ended (standard input closed)
		case <-tk.C:
			if err := emit(); err != nil {
				return err
			}
		}
	}
}

// errSink passes everything to the analyzer and reports source errors on
// the error stream as they happen.
type errSink struct {
	*analyze.Analyzer
	err    io.Writer
	failed atomic.Int64
}

func (s *errSink) SourceError(source, msg string) {
	s.failed.Add(1)
	fmt.Fprintf(s.err, "irtui report: %s: %s\n", sanitize.Text(source), sanitize.Text(msg))
	s.Analyzer.SourceError(source, msg)
}

// Meta is what the report knows beyond the snapshot: per-file counts from
// the reader, and the emission time in follow mode.
type Meta struct {
	Lines, Skipped, Truncated int64
	Files                     []ingest.SourceStats
	Emitted                   time.Time
}

func metaOf(stats *ingest.Stats, emitted time.Time) Meta {
	m := Meta{Emitted: emitted, Files: stats.Snapshot()}
	for _, f := range m.Files {
		m.Lines += f.Lines
		m.Skipped += f.Skipped
		m.Truncated += f.Truncated
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Source < m.Files[j].Source })
	return m
}

func clean(s string, n int) string { return sanitize.Truncate(s, n) }

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func asLabel(asn uint32, name string) string {
	if asn == 0 {
		return "AS unknown"
	}
	if name == "" {
		return fmt.Sprintf("AS%d", asn)
	}
	return fmt.Sprintf("AS%d %s", asn, name)
}

func joinTrim(list []string, n int) string {
	if len(list) > n {
		return strings.Join(list[:n], ", ") + fmt.Sprintf(", … (%d more)", len(list)-n)
	}
	return strings.Join(list, ", ")
}
