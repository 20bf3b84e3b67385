// Package ingest turns sources into events: it detects each source's
// format, parses its lines, and hands events to a Sink in batches. Run
// follows live sources; Backfill and Parse read whole files as fast as the
// machine allows, in parallel chunks.
package ingest

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
)

// Sink receives what the pipeline produces; the analyzer implements it.
//
// AddEvents may be called concurrently from several goroutines (one per
// live source, one per Backfill worker). It must not retain batch after
// returning: the slice is reused for the next batch. The strings inside the
// events (Line, Path, UA, …) are immutable and may be kept, but they point
// into large shared read buffers (up to 1 MiB per chunk in Backfill), so a
// sink that keeps a string for long should strings.Clone it to let the
// buffer go.
//
// AddMalformed is called for each line no parser understood, with a short,
// stable reason; SourceError when a source fails or warns (a command exited,
// a file is unreadable, a rotation may have lost lines). Both may be called
// concurrently too.
type Sink interface {
	AddEvents(batch []logs.Event)
	AddMalformed(source string, lineNo int64, reason, line string)
	SourceError(source, msg string)
}

// Config says how to read and parse.
type Config struct {
	// Format forces a format by name (--format); empty means detect per source.
	Format string
	// LogFormat is an Apache LogFormat or nginx log_format string; it
	// implies the custom format.
	LogFormat string
	// FromStart reads live files from their beginning, rotated copies first.
	FromStart bool
	// Since reads rotated copies too and drops events older than this much
	// before the start (--since 2h). Zero means no limit.
	Since time.Duration
	// Poll follows files by polling instead of inotify.
	Poll bool
	// Options go to every parser (LogFormat is filled from the field above).
	Options logs.Options
	// Stats, when set, counts lines per source as they are read.
	Stats *Stats
	// Formats replaces formats.All() (tests, or a build with fewer parsers).
	Formats []logs.Format
	// SSHArgs are extra ssh options for ssh:// sources (-F FILE, -o K=V).
	SSHArgs []string
}

func (c *Config) formats() []logs.Format {
	if c.Formats != nil {
		return c.Formats
	}
	return formats.All()
}

// resolve returns the forced format, if any.
func (c *Config) resolve() (logs.Format, bool, error) {
	return formats.ResolveAmong(c.formats(), c.Format, c.LogFormat)
}

func (c *Config) options() logs.Options {
	o := c.Options
	if c.LogFormat != "" {
		o.LogFormat = c.LogFormat
	}
	return o
}

// cutoff is the oldest time kept; zero when every event is.
func (c *Config) cutoff() time.Time {
	if c.Since <= 0 {
		return time.Time{}
	}
	now := time.Now
	if c.Options.Now != nil {
		now = c.Options.Now
	}
	return now().Add(-c.Since)
}

// ReasonUnknownFormat is the malformed reason of lines from a source whose
// format could not be detected.
const ReasonUnknownFormat = "unknown format"

// reasonOf returns the stable reason of a parse error.
func reasonOf(err error) string {
	var pe *logs.ParseError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

// SourceStats are the counts of one source (one file in Backfill and Parse).
type SourceStats struct {
	Source    string
	Format    string // the format detected or forced; "" while unknown
	Lines     int64  // lines read
	Events    int64  // lines parsed into events (including those skipped by Since)
	Malformed int64
	Truncated int64 // lines longer than logs.MaxLineBytes, cut
	Skipped   int64 // events older than Since, dropped
	Err       string
}

// Stats holds SourceStats, safe for concurrent use: the pipeline adds, the
// console reads.
type Stats struct {
	mu sync.Mutex
	m  map[string]*SourceStats
}

// NewStats returns empty stats.
func NewStats() *Stats { return &Stats{m: map[string]*SourceStats{}} }

func (s *Stats) add(source string, d SourceStats) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[source]
	if st == nil {
		st = &SourceStats{Source: source}
		s.m[source] = st
	}
	if d.Format != "" {
		st.Format = d.Format
	}
	if d.Err != "" {
		st.Err = d.Err
	}
	st.Lines += d.Lines
	st.Events += d.Events
	st.Malformed += d.Malformed
	st.Truncated += d.Truncated
	st.Skipped += d.Skipped
}

// Snapshot returns a copy of every source's counts, sorted by source.
func (s *Stats) Snapshot() []SourceStats {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SourceStats, 0, len(s.m))
	for _, st := range s.m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}
