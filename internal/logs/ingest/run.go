package ingest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/remote"
)

// Batching limits for live sources: a batch goes to the sink when it holds
// BatchSize events or FlushAfter has passed since its first event, so a
// trickle of lines still shows up at once and a flood costs one call per
// BatchSize lines.
const (
	BatchSize  = 256
	FlushAfter = 50 * time.Millisecond
	// detectWait is how long a live source's first lines wait for more
	// before detection runs on what there is.
	detectWait = time.Second
	// maxPending bounds the lines held for detection (a flood of blank ones).
	maxPending = 4096
)

// sampler is implemented by sources that can show lines before any new one
// arrives (a file followed from its end): detection runs on those.
type sampler interface {
	Sample(max int) []string
}

// Run follows sources until they all end or ctx is cancelled, detecting
// each one's format (unless Config forces one), parsing its lines and
// handing events to sink. A source's failure is reported through
// sink.SourceError and does not stop the others. Run returns an error only
// for a configuration the operator must fix (an unknown --format).
func Run(ctx context.Context, sources []logs.Source, cfg Config, sink Sink) error {
	fixed, forced, err := cfg.resolve()
	if err != nil {
		return err
	}
	all := cfg.formats()
	cutoff := cfg.cutoff()
	opts := cfg.options()
	var wg sync.WaitGroup
	for _, src := range sources {
		name := src.Name()
		if w, ok := src.(logs.Warner); ok {
			w.SetWarn(func(msg string) { sink.SourceError(name, msg) })
		}
		ch := make(chan logs.Line, 1024)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(ch)
			if err := src.Run(ctx, ch); err != nil {
				cfg.Stats.add(name, SourceStats{Err: err.Error()})
				sink.SourceError(name, err.Error())
			}
		}()
		c := &consumer{name: name, sink: sink, stats: cfg.Stats, opts: opts, all: all, cutoff: cutoff}
		if forced {
			c.use(fixed)
		} else if s, ok := src.(sampler); ok {
			if f, ok := formats.DetectAmong(all, s.Sample(formats.SampleLines), opts); ok {
				c.use(f)
			}
		}
		go func() {
			defer wg.Done()
			c.run(ch)
		}()
	}
	wg.Wait()
	return nil
}

// consumer parses one live source's lines.
type consumer struct {
	name   string
	sink   Sink
	stats  *Stats
	opts   logs.Options
	all    []logs.Format
	cutoff time.Time

	format  logs.Format
	parser  logs.Parser
	pending []logs.Line // lines waiting for detection
	sampled int         // non-empty lines among them
	batch   []logs.Event
	counts  SourceStats
}

func (c *consumer) use(f logs.Format) {
	c.format = f
	c.parser = f.New(c.opts)
	c.counts.Format = f.Name
}

func (c *consumer) run(ch <-chan logs.Line) {
	c.batch = make([]logs.Event, 0, BatchSize)
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	detect := time.NewTimer(time.Hour)
	detect.Stop()
	defer flush.Stop()
	defer detect.Stop()
	armed := false // a flush is due: events or counts wait to be handed on
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				if len(c.pending) > 0 {
					c.detect()
				}
				c.flush()
				return
			}
			if c.parser == nil {
				c.pending = append(c.pending, l)
				if len(c.pending) == 1 {
					detect.Reset(detectWait)
				}
				if strings.TrimSpace(l.Text) != "" {
					c.sampled++
				}
				if c.sampled >= formats.SampleLines || len(c.pending) >= maxPending {
					detect.Stop()
					c.detect()
				}
			} else {
				c.line(l)
			}
		case <-detect.C:
			c.detect()
		case <-flush.C:
			armed = false
			c.flush()
			continue
		}
		if len(c.batch) >= BatchSize {
			c.flush()
		}
		if !armed && c.counts.Lines > 0 {
			flush.Reset(FlushAfter)
			armed = true
		}
	}
}

// detect picks a format from the pending lines and parses them; when none
// fits they are reported malformed and the next lines try again.
func (c *consumer) detect() {
	sample := make([]string, len(c.pending))
	for i, l := range c.pending {
		sample[i] = l.Text
	}
	if f, ok := formats.DetectAmong(c.all, sample, c.opts); ok {
		c.use(f)
	}
	pending := c.pending
	c.pending, c.sampled = nil, 0
	for _, l := range pending {
		c.line(l)
		if len(c.batch) >= BatchSize {
			c.flush()
		}
	}
}

// line parses one line into the batch or reports it malformed.
func (c *consumer) line(l logs.Line) {
	c.counts.Lines++
	if l.Truncated {
		c.counts.Truncated++
	}
	if c.parser == nil {
		c.counts.Malformed++
		c.sink.AddMalformed(l.Source, l.No, ReasonUnknownFormat, l.Text)
		return
	}
	c.batch = append(c.batch, logs.Event{})
	ev := &c.batch[len(c.batch)-1]
	if err := c.parser.Parse(l.Text, ev); err != nil {
		c.batch = c.batch[:len(c.batch)-1]
		c.counts.Malformed++
		c.sink.AddMalformed(l.Source, l.No, reasonOf(err), l.Text)
		return
	}
	c.counts.Events++
	if !c.cutoff.IsZero() && ev.Time.Before(c.cutoff) {
		c.batch = c.batch[:len(c.batch)-1]
		c.counts.Skipped++
		return
	}
	finish(ev, c.format.Name, l.Source, l.Host, l.No, l.Text)
}

// finish fills what the pipeline, not the parser, knows about an event.
func finish(ev *logs.Event, format, source, host string, no int64, text string) {
	if ev.Format == "" {
		ev.Format = format
	}
	ev.Source = source
	ev.Host = host
	ev.LineNo = no
	ev.Line = text
}

func (c *consumer) flush() {
	if len(c.batch) > 0 {
		c.sink.AddEvents(c.batch)
		clear(c.batch)
		c.batch = c.batch[:0]
	}
	c.stats.add(c.name, c.counts)
	c.counts = SourceStats{}
}

// Open turns what the operator named into sources: "-" is standard input,
// ssh://[user@]host[:port]/path a file on another host followed over the
// system's ssh (with cfg.SSHArgs), anything else a file followed by name; each cmd is a command line run
// without a shell. FromStart and Since make file sources read their
// rotated copies first (Since skips copies older than the cutoff).
func Open(names, cmds []string, cfg Config) ([]logs.Source, error) {
	var out []logs.Source
	stdin := false
	for _, n := range names {
		if n == "-" {
			if stdin {
				return nil, errors.New("standard input (-) can be read only once")
			}
			stdin = true
			out = append(out, logs.Stdin())
			continue
		}
		if remote.IsURL(n) {
			s, err := remote.New(n, remote.Options{Args: cfg.SSHArgs, FromStart: cfg.FromStart})
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		out = append(out, logs.NewFileSource(n, logs.FileOptions{
			FromStart: cfg.FromStart,
			Backfill:  cfg.FromStart || cfg.Since > 0,
			NotBefore: cfg.cutoff(),
			Poll:      cfg.Poll,
		}))
	}
	for _, c := range cmds {
		s, err := logs.NewCommandSource(c)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
