package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
)

// chunkSize is how much of a file one worker parses at a time: large enough
// that handing chunks around costs nothing next to parsing them, small
// enough that a few per worker in flight bound memory.
const chunkSize = 1 << 20

// fileJob is one whole file being read.
type fileJob struct {
	name   string // as given: a path, or "-" for standard input
	format logs.Format
	known  bool // format detected or forced
}

// chunk is a run of whole lines of one file.
type chunk struct {
	job   *fileJob
	seq   int64 // position among all chunks of all files, for ordered output
	first int64 // line number of the first line
	data  string
	// cut marks data as the first logs.MaxLineBytes of one longer line.
	cut bool
	buf []byte // the memory behind data, recycled when it may be
	out []byte // ordered output made from this chunk
}

// engine reads files in chunks and hands them to parallel workers.
type engine struct {
	cfg     Config
	all     []logs.Format
	fixed   logs.Format
	forced  bool
	opts    logs.Options
	workers int
	// recycle reuses chunk memory once a worker is done with it: only when
	// nothing downstream keeps strings that point into it.
	recycle bool
	pool    sync.Pool
	stdin   io.Reader
	// fail is told about files that cannot be read.
	fail func(name string, err error)
	// size of a chunk and longest line kept: constants but for tests.
	chunkSize, maxLine int
}

func newEngine(cfg Config, workers int) (*engine, error) {
	fixed, forced, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if workers < 1 {
		workers = 1
	}
	return &engine{cfg: cfg, all: cfg.formats(), fixed: fixed, forced: forced, opts: cfg.options(),
		workers: workers, stdin: os.Stdin, fail: func(string, error) {}, chunkSize: chunkSize, maxLine: logs.MaxLineBytes}, nil
}

func (e *engine) newBuf() []byte {
	if e.recycle {
		if b, ok := e.pool.Get().(*[]byte); ok {
			return (*b)[:e.chunkSize]
		}
	}
	return make([]byte, e.chunkSize)
}

func (e *engine) release(c *chunk) {
	if e.recycle && c.buf != nil {
		b := c.buf
		c.buf = nil
		c.data = ""
		if poisonReleased {
			clear(b[:cap(b)])
		}
		e.pool.Put(&b)
	}
}

// poisonReleased makes tests see at once any string still pointing into a
// released buffer: the buffer is zeroed as it is released.
var poisonReleased bool

// run reads paths with readers goroutines (1 keeps chunks in order) and
// calls work for every chunk in one of e.workers goroutines, each with its
// own worker (parsers are single-goroutine). inflight bounds the chunks read
// but not yet released by done.
func (e *engine) run(ctx context.Context, paths []string, readers int, work func(w *worker, c *chunk), done func(c *chunk)) {
	inflight := make(chan struct{}, 4*e.workers)
	chunks := make(chan *chunk, 2*e.workers)
	var seq int64
	var seqMu sync.Mutex
	nextSeq := func() int64 {
		seqMu.Lock()
		defer seqMu.Unlock()
		seq++
		return seq - 1
	}
	emit := func(c *chunk) bool {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		c.seq = nextSeq()
		select {
		case chunks <- c:
			return true
		case <-ctx.Done():
			<-inflight
			return false
		}
	}

	var rwg sync.WaitGroup
	jobs := make(chan string)
	for range max(1, min(readers, len(paths))) {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for p := range jobs {
				if err := e.readFile(ctx, p, emit); err != nil && ctx.Err() == nil {
					e.fail(p, err)
				}
			}
		}()
	}
	go func() {
		defer close(chunks)
		defer rwg.Wait()
		defer close(jobs)
		for _, p := range paths {
			select {
			case jobs <- p:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wwg sync.WaitGroup
	for range e.workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			w := &worker{e: e, parsers: map[string]logs.Parser{}}
			for c := range chunks {
				if ctx.Err() == nil {
					work(w, c)
				}
				done(c)
				<-inflight
			}
			w.finish()
		}()
	}
	wwg.Wait()
}

// openInput opens a path, or standard input for "-".
func (e *engine) openInput(name string) (io.Reader, io.Closer, error) {
	if name == "-" {
		r, err := logs.Decompress(e.stdin)
		return r, io.NopCloser(nil), err
	}
	r, c, err := logs.OpenLog(name)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			return nil, nil, fmt.Errorf("cannot read %s: permission denied (run with sudo, or add your user to group adm)", name)
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Errorf("cannot read %s: no such file (check the path; rotated copies are named like %s.1)", name, name)
		}
		return nil, nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	return r, c, nil
}

// readFile cuts one file into chunks of whole lines.
func (e *engine) readFile(ctx context.Context, name string, emit func(*chunk) bool) error {
	r, closer, err := e.openInput(name)
	if err != nil {
		return err
	}
	defer closer.Close()
	job := &fileJob{name: name, format: e.fixed, known: e.forced}
	var (
		carry    []byte
		line     int64 = 1
		skipping bool  // inside an over-long line whose head was sent
		first    = true
	)
	for {
		buf := e.newBuf()
		n := copy(buf, carry)
		m, rerr := io.ReadFull(r, buf[n:])
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return fmt.Errorf("reading %s: %w", name, rerr)
		}
		data := buf[:n+m]
		carry = nil
		if skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if eof {
					return nil
				}
				continue
			}
			data = data[i+1:]
			skipping = false
		}
		if first && len(data) > 0 {
			first = false
			if !job.known {
				job.format, job.known = formats.DetectAmong(e.all, sampleOf(data), e.opts)
			}
		}
		var body []byte
		switch cut := bytes.LastIndexByte(data, '\n'); {
		case eof:
			body = data
		case cut >= 0:
			body, carry = data[:cut+1], data[cut+1:]
		case len(data) <= e.maxLine:
			// The start of a line that may still fit: read on.
			carry = data
			continue
		default:
			// One line longer than any kept: keep its head, drop the rest.
			c := &chunk{job: job, first: line, data: bytesString(data[:e.maxLine]), cut: true, buf: buf}
			if !emit(c) {
				return ctx.Err()
			}
			line++
			skipping = true
			continue
		}
		if len(body) > 0 {
			c := &chunk{job: job, first: line, data: bytesString(body), buf: buf}
			line += int64(bytes.Count(body, []byte{'\n'}))
			if !emit(c) {
				return ctx.Err()
			}
		}
		if eof {
			return nil
		}
	}
}

// bytesString views b as a string without copying. b is never written
// again while the string lives: each chunk gets a fresh buffer, and the
// carried-over partial line is copied out of the old one, not into it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// sampleOf returns the first non-empty lines of data for detection.
func sampleOf(data []byte) []string {
	var out []string
	for len(data) > 0 && len(out) < formats.SampleLines {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimSuffix(l, []byte{'\r'})
		if len(l) > logs.MaxLineBytes {
			l = l[:logs.MaxLineBytes]
		}
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// worker parses chunks in one goroutine, with its own parser per format.
type worker struct {
	e       *engine
	parsers map[string]logs.Parser
	flushFn func() // hands on what the worker holds, when it stops

	batch *[]logs.Event // Backfill: events not yet given to the sink
	held  []*chunk      // Backfill: chunks the batch points into, released at its flush
	sum   *Summary      // Parse: this worker's counts
}

func (w *worker) parser(f logs.Format) logs.Parser {
	p, ok := w.parsers[f.Name]
	if !ok {
		p = f.New(w.e.opts)
		w.parsers[f.Name] = p
	}
	return p
}

func (w *worker) finish() {
	if w.flushFn != nil {
		w.flushFn()
	}
}

// each calls fn for every line of c: its number, its text without the line
// ending (cut at max bytes), and whether it was cut.
func each(c *chunk, max int, fn func(no int64, line string, cut bool)) {
	if c.cut {
		fn(c.first, c.data, true)
		return
	}
	s := c.data
	no := c.first
	for len(s) > 0 {
		var l string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			l, s = s[:i], s[i+1:]
		} else {
			l, s = s, ""
		}
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		cut := false
		if len(l) > max {
			l, cut = l[:max], true
		}
		fn(no, l, cut)
		no++
	}
}
