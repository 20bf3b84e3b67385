package ingest

import (
	"bufio"
	"context"
	"io"
	"sync"

	"github.com/irtui/irtui/internal/logs"
)

// Backfill reads whole files (plain or gzip, "-" for standard input) as
// fast as it can: big reads cut at newlines into chunks, parsed by workers
// goroutines in parallel, each with its own parsers. Batches reach sink
// concurrently and in no particular order across chunks; events carry their
// file's line numbers. Each file's format is detected from its first lines
// unless Config forces one. Events older than Config.Since are dropped.
// Files that cannot be read are reported through sink.SourceError and the
// rest are read; Backfill returns an error only for a bad configuration or
// a cancelled ctx.
func Backfill(ctx context.Context, paths []string, cfg Config, workers int, sink Sink) error {
	e, err := newEngine(cfg, workers)
	if err != nil {
		return err
	}
	e.fail = func(name string, err error) {
		cfg.Stats.add(name, SourceStats{Err: err.Error()})
		sink.SourceError(name, err.Error())
	}
	cutoff := cfg.cutoff()
	// A sink that copies whatever it keeps lets the read buffers be reused:
	// less memory to fault in and clear, and far fewer collections. A
	// worker then keeps the chunks its batch points into until the batch
	// is out, so batches stay full across chunk boundaries.
	if cs, ok := sink.(StringCopier); ok && cs.CopiesStrings() {
		e.recycle = true
	}
	e.run(ctx, paths, e.workers, func(w *worker, c *chunk) {
		if w.flushFn == nil {
			batch := make([]logs.Event, 0, backfillBatch)
			w.batch = &batch
			w.flushFn = func() {
				if len(*w.batch) > 0 {
					sink.AddEvents(*w.batch)
					// Not cleared: each slot is zeroed again as it is
					// reused, and the batch dies with the worker.
					*w.batch = (*w.batch)[:0]
				}
				for i, h := range w.held {
					e.release(h)
					w.held[i] = nil
				}
				w.held = w.held[:0]
			}
		}
		st := SourceStats{Format: c.job.format.Name}
		var p logs.Parser
		if c.job.known {
			p = w.parser(c.job.format)
		}
		name := c.job.name
		each(c, e.maxLine, func(no int64, line string, cut bool) {
			st.Lines++
			if cut {
				st.Truncated++
			}
			if p == nil {
				st.Malformed++
				sink.AddMalformed(name, no, ReasonUnknownFormat, line)
				return
			}
			b := *w.batch
			b = append(b, logs.Event{})
			ev := &b[len(b)-1]
			if err := p.Parse(line, ev); err != nil {
				*ev = logs.Event{}
				*w.batch = b[:len(b)-1]
				st.Malformed++
				sink.AddMalformed(name, no, reasonOf(err), line)
				return
			}
			st.Events++
			if !cutoff.IsZero() && ev.Time.Before(cutoff) {
				*ev = logs.Event{}
				*w.batch = b[:len(b)-1]
				st.Skipped++
				return
			}
			finish(ev, c.job.format.Name, name, "", no, line)
			*w.batch = b
			if len(b) >= backfillBatch {
				// Releases the chunks held before this one; this one is
				// still being read.
				w.flushFn()
			}
		})
		if e.recycle {
			// The chunk's memory is reused once the events pointing into
			// it are out: at the next flush, or now when the worker holds
			// enough chunks already (chunks of few, long lines).
			w.held = append(w.held, c)
			if len(w.held) >= maxHeldChunks {
				w.flushFn()
			}
		}
		cfg.Stats.add(name, st)
	}, func(*chunk) {})
	return ctx.Err()
}

// backfillBatch is how many events a Backfill worker hands the sink at
// once. Every hand-over may leave the other workers waiting on the sink's
// locks (the analyzer's shards), and a waiting worker sleeps and must be
// woken; but a batch's events (576 bytes each) should still be in cache
// when the sink reads them. On the 1 M-line generated log, 512 gave the
// shortest irtui report: 256 waited too often, 1024 and 2048 read colder
// events.
const backfillBatch = 512

// maxHeldChunks bounds the read buffers a Backfill worker keeps for its
// unsent batch (memory: chunkSize each).
const maxHeldChunks = 2

// StringCopier is a Sink that keeps no string of an event (nor of a
// malformed line) beyond the call that passed it, copying what it keeps.
// Backfill then reuses its read buffers instead of allocating one per chunk.
type StringCopier interface {
	CopiesStrings() bool
}

// outPool recycles the JSON written for one chunk once it is out.
var outPool sync.Pool

// Parse writes the `irtui parse` JSON of every line of paths to out, one
// object per line, in input order (file by file, line by line), parsing
// with workers goroutines. It returns the counts, and calls fail for each
// file that cannot be read.
func Parse(ctx context.Context, paths []string, cfg Config, workers int, out io.Writer, fail func(name string, err error)) (*Summary, error) {
	return parseFiles(ctx, paths, cfg, workers, out, fail)
}

// Summarize parses paths like Parse but only counts.
func Summarize(ctx context.Context, paths []string, cfg Config, workers int, fail func(name string, err error)) (*Summary, error) {
	return parseFiles(ctx, paths, cfg, workers, nil, fail)
}

func parseFiles(ctx context.Context, paths []string, cfg Config, workers int, out io.Writer, fail func(string, error)) (*Summary, error) {
	e, err := newEngine(cfg, workers)
	if err != nil {
		return nil, err
	}
	e.recycle = true
	if fail != nil {
		e.fail = fail
	}
	total := newSummary()
	var mu sync.Mutex
	for _, p := range paths {
		total.file(p)
	}

	// Chunks come back from the workers in any order; they are written in
	// the order they were read.
	var (
		bw      *bufio.Writer
		werr    error
		next    int64
		waiting = map[int64]*chunk{}
	)
	if out != nil {
		bw = bufio.NewWriterSize(out, 1<<20)
	}
	done := func(c *chunk) {
		if out == nil {
			e.release(c)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		waiting[c.seq] = c
		for {
			c, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			if werr == nil {
				_, werr = bw.Write(c.out)
			}
			b := c.out[:0]
			outPool.Put(&b)
			c.out = nil
			e.release(c)
		}
	}
	e.run(ctx, paths, 1, func(w *worker, c *chunk) {
		if w.sum == nil {
			w.sum = newSummary()
			w.flushFn = func() {
				mu.Lock()
				total.merge(w.sum)
				mu.Unlock()
			}
		}
		var p logs.Parser
		if c.job.known {
			p = w.parser(c.job.format)
		}
		if out != nil {
			if b, ok := outPool.Get().(*[]byte); ok {
				c.out = *b
			} else {
				c.out = make([]byte, 0, 3*len(c.data))
			}
		}
		name := c.job.name
		s := w.sum.file(name)
		if c.job.known {
			s.Format = c.job.format.Name
		}
		var ev logs.Event
		each(c, e.maxLine, func(no int64, line string, cut bool) {
			s.Lines++
			if cut {
				s.Truncated++
			}
			reason := ReasonUnknownFormat
			if p != nil {
				ev = logs.Event{}
				err := p.Parse(line, &ev)
				if err == nil {
					finish(&ev, c.job.format.Name, name, "", no, line)
					s.Events++
					w.sum.event(&ev)
					if out != nil {
						c.out = AppendJSON(c.out, &ev, name)
						c.out = append(c.out, '\n')
					}
					return
				}
				reason = reasonOf(err)
			}
			s.Malformed++
			w.sum.malformed(reason)
			if out != nil {
				c.out = AppendJSONError(c.out, no, name, reason)
				c.out = append(c.out, '\n')
			}
		})
	}, done)
	if bw != nil && werr == nil {
		werr = bw.Flush()
	}
	if err := ctx.Err(); err != nil {
		return total, err
	}
	return total, werr
}
