package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
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

// run cuts paths into chunks and calls work for every chunk in one of
// e.workers goroutines, each with its own worker (parsers are
// single-goroutine), then done. At most readers files are read at once (1
// keeps chunks in order); inflight bounds the chunks read but not yet
// released by done.
//
// The workers read the files themselves, a chunk at a time under the
// file's lock, rather than being handed chunks by a reading goroutine: a
// chunk is then copied, cut and counted by the core that parses it, and is
// still in that core's cache when parsed.
func (e *engine) run(ctx context.Context, paths []string, readers int, work func(w *worker, c *chunk), done func(c *chunk)) {
	inflight := make(chan struct{}, 4*e.workers)
	q := &readQueue{e: e, paths: paths, readers: max(1, readers)}
	var wg sync.WaitGroup
	for range e.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{e: e, parsers: map[string]logs.Parser{}}
			defer w.finish()
			for {
				select {
				case inflight <- struct{}{}:
				case <-ctx.Done():
					return
				}
				c := q.next(ctx)
				if c == nil {
					<-inflight
					return
				}
				work(w, c)
				done(c)
				<-inflight
			}
		}()
	}
	wg.Wait()
	q.closeAll()
}

// readQueue hands out the chunks of a list of files, reading up to readers
// of them at once.
type readQueue struct {
	e       *engine
	mu      sync.Mutex
	paths   []string      // not yet opened
	open    []*fileReader // being read
	readers int
	seq     int64
}

// next reads the next chunk of any open file, opening the next file when
// every open one is being read by another worker; nil when all are read.
func (q *readQueue) next(ctx context.Context) *chunk {
	for ctx.Err() == nil {
		q.mu.Lock()
		var f *fileReader
		for _, o := range q.open {
			if o.mu.TryLock() {
				f = o
				break
			}
		}
		if f == nil && len(q.paths) > 0 && len(q.open) < q.readers {
			f = &fileReader{name: q.paths[0], line: 1, first: true}
			q.paths = q.paths[1:]
			f.mu.Lock()
			q.open = append(q.open, f)
		}
		if f == nil && len(q.open) > 0 {
			f = q.open[0]
			q.mu.Unlock()
			f.mu.Lock() // every file is busy: wait for the oldest
		} else {
			q.mu.Unlock()
		}
		if f == nil {
			return nil
		}
		c, err := f.read(q.e, q.nextSeq)
		if c == nil {
			if err != nil && ctx.Err() == nil {
				q.e.fail(f.name, err)
			}
			f.close()
			q.mu.Lock()
			if i := slices.Index(q.open, f); i >= 0 {
				q.open = slices.Delete(q.open, i, i+1)
			}
			q.mu.Unlock()
		}
		f.mu.Unlock()
		if c != nil {
			return c
		}
	}
	return nil
}

// nextSeq numbers chunks in the order they are read, for ordered output.
func (q *readQueue) nextSeq() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	return q.seq - 1
}

// closeAll closes the files a cancelled run left open.
func (q *readQueue) closeAll() {
	for _, f := range q.open {
		f.close()
	}
}

// fileReader is one file being cut into chunks of whole lines. Its fields
// are guarded by mu: the worker holding it reads the next chunk.
type fileReader struct {
	mu     sync.Mutex
	name   string
	r      io.Reader
	closer io.Closer
	job    *fileJob
	carry  []byte // the start of a line cut by the last read
	line   int64  // number of the next line
	// skipping: inside an over-long line whose head was sent.
	skipping, first, done bool
}

// close marks the file read and closes it; a worker waiting for it then
// finds nothing left.
func (f *fileReader) close() {
	f.done = true
	f.carry = nil
	if f.closer != nil {
		f.closer.Close()
		f.closer = nil
	}
}

// read returns the file's next chunk; nil at its end or on an error.
func (f *fileReader) read(e *engine, seq func() int64) (*chunk, error) {
	if f.done {
		return nil, nil
	}
	if f.r == nil {
		r, closer, err := e.openInput(f.name)
		if err != nil {
			return nil, err
		}
		f.r, f.closer = r, closer
		f.job = &fileJob{name: f.name, format: e.fixed, known: e.forced}
	}
	job := f.job
	for {
		buf := e.newBuf()
		n := copy(buf, f.carry)
		m, rerr := io.ReadFull(f.r, buf[n:])
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return nil, fmt.Errorf("reading %s: %w", f.name, rerr)
		}
		data := buf[:n+m]
		f.carry = f.carry[:0]
		if f.skipping {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if eof {
					return nil, nil
				}
				continue
			}
			data = data[i+1:]
			f.skipping = false
		}
		if f.first && len(data) > 0 {
			f.first = false
			if !job.known {
				job.format, job.known = formats.DetectAmong(e.all, sampleOf(data), e.opts)
			}
		}
		var body []byte
		switch cut := bytes.LastIndexByte(data, '\n'); {
		case eof:
			f.done = true
			body = data
		case cut >= 0:
			// The cut line is carried in the file's own buffer: buf is
			// never written again while the chunk lives.
			body, f.carry = data[:cut+1], append(f.carry, data[cut+1:]...)
		case len(data) <= e.maxLine:
			// The start of a line that may still fit: read on.
			f.carry = append(f.carry, data...)
			continue
		default:
			// One line longer than any kept: keep its head, drop the rest.
			c := &chunk{job: job, seq: seq(), first: f.line, data: bytesString(data[:e.maxLine]), cut: true, buf: buf}
			f.line++
			f.skipping = true
			return c, nil
		}
		if len(body) > 0 {
			c := &chunk{job: job, seq: seq(), first: f.line, data: bytesString(body), buf: buf}
			f.line += int64(bytes.Count(body, []byte{'\n'}))
			return c, nil
		}
		if eof {
			return nil, nil
		}
	}
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
