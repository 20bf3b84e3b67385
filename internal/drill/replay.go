package drill

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/sanitize"
)

// ReplayOptions say how recorded logs are replayed.
type ReplayOptions struct {
	// Speed compresses the log's own timing: 10 plays an hour in six minutes.
	Speed float64
	// MaxGap bounds one pause between two lines, in wall time, so a quiet
	// night in the log does not stall the replay. 2 s when zero.
	MaxGap time.Duration
	// TempDir is where the replay's directory is made; os.TempDir when empty.
	TempDir string
	// Keep leaves the replayed files behind.
	Keep bool
	// Analyzer is the analyzer configuration (the operator's thresholds);
	// analyze.DefaultConfig when nil.
	Analyzer *analyze.Config
	// Resolver answers AS numbers (an offline table); none when nil.
	Resolver analyze.ASResolver
	// NoIngest leaves following the files to the caller (a console).
	NoIngest bool
	// Poll is the wall time between two looks at the analyzer; 50 ms when zero.
	Poll time.Duration
}

// SeenFinding is a finding the replay raised, with when.
type SeenFinding struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	First    time.Time `json:"first"`   // on the log's clock
	AfterS   float64   `json:"after_s"` // log seconds from the first replayed line
	Summary  string    `json:"summary"`
}

// ReplaySummary is what a headless replay prints: no score, as a recorded
// log has no ground truth, but what was found and when.
type ReplaySummary struct {
	Files    []string      `json:"files"`
	Formats  []string      `json:"formats"`
	Lines    int64         `json:"lines"`
	Untimed  int64         `json:"untimed"` // lines without a time of their own, kept in place
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Speed    float64       `json:"speed"`
	WallS    float64       `json:"wall_s"`
	Findings []SeenFinding `json:"findings"`
}

// Replay writes recorded logs into a temporary directory with their
// original timing compressed, while the same pipeline as a drill (ingest,
// analyzer) follows them. A console reads Analyzer, or follows Files itself.
type Replay struct {
	Opts     ReplayOptions
	Inputs   []string
	Dir      string
	Files    []string // one replayed file per input, in the same order
	Analyzer *analyze.Analyzer

	inputs  []*replayInput
	mu      sync.Mutex
	seen    map[string]bool
	found   []SeenFinding
	sum     ReplaySummary
	done    chan struct{}
	werr    error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
}

// replayInput is one recorded file being read, one line ahead.
type replayInput struct {
	name   string
	r      *bufio.Reader
	closer io.Closer
	parser logs.Parser
	format string
	out    *bufio.Writer
	outF   *os.File

	line   string
	at     time.Time
	ok     bool
	last   time.Time
	timed  bool
	events logs.Event
}

// maxReplayLine bounds one line read from a recorded file; longer lines
// are cut (the parsers cut at logs.MaxLineBytes anyway).
const maxReplayLine = 64 << 10

// NewReplay opens every input, detects its format from its first lines
// and prepares the replay directory. Nothing is written until Start.
func NewReplay(inputs []string, opt ReplayOptions) (rp *Replay, err error) {
	if len(inputs) == 0 {
		return nil, errors.New("name at least one log file to replay")
	}
	if opt.Speed <= 0 {
		opt.Speed = 1
	}
	if opt.MaxGap <= 0 {
		opt.MaxGap = 2 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = 50 * time.Millisecond
	}
	dir, err := os.MkdirTemp(opt.TempDir, "irtui-replay-")
	if err != nil {
		return nil, fmt.Errorf("cannot create the replay directory: %w (set TMPDIR to a writable place)", err)
	}
	rp = &Replay{Opts: opt, Inputs: inputs, Dir: dir, seen: map[string]bool{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			rp.Close()
			rp = nil
		}
	}()
	names := map[string]bool{}
	for i, in := range inputs {
		ri, err := openReplayInput(in)
		if err != nil {
			return rp, err
		}
		rp.inputs = append(rp.inputs, ri)
		base := strings.TrimSuffix(filepath.Base(in), ".gz")
		if names[base] || base == "" || base == "." {
			base = fmt.Sprintf("%d-%s", i+1, base)
		}
		names[base] = true
		out := filepath.Join(dir, base)
		f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return rp, err
		}
		ri.outF, ri.out = f, bufio.NewWriterSize(f, 64<<10)
		rp.Files = append(rp.Files, out)
		rp.sum.Files = append(rp.sum.Files, in)
		rp.sum.Formats = append(rp.sum.Formats, ri.format)
	}
	cfg := analyze.DefaultConfig()
	if opt.Analyzer != nil {
		cfg = *opt.Analyzer
	}
	rp.Analyzer = analyze.New(cfg)
	if opt.Resolver != nil {
		rp.Analyzer.SetASResolver(opt.Resolver)
	}
	return rp, nil
}

func openReplayInput(name string) (*replayInput, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("cannot read %s: permission denied (run with sudo, or add your user to group adm)", name)
		}
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	ref := time.Now()
	if st, err := f.Stat(); err == nil {
		ref = st.ModTime()
	}
	ri := &replayInput{name: name, closer: f}
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: not a gzip file: %w", name, err)
		}
		r = gz
	}
	ri.r = bufio.NewReaderSize(r, 256<<10)
	// Detect from the first lines without consuming them.
	var sample []string
	peek, _ := ri.r.Peek(256 << 10)
	for _, l := range strings.Split(string(peek), "\n") {
		if len(sample) == formats.SampleLines {
			break
		}
		if strings.TrimSpace(l) != "" {
			sample = append(sample, strings.TrimSuffix(l, "\r"))
		}
	}
	// Year-less timestamps (syslog) belong to the year the file was last written.
	opts := logs.Options{Now: func() time.Time { return ref }}
	fm, ok := formats.Detect(sample, opts)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("cannot tell the format of %s ('irtui parse %s' shows how its lines are understood)", name, name)
	}
	ri.parser, ri.format = fm.New(opts), fm.Name
	ri.advance()
	return ri, nil
}

// readLine returns the next line without its end, cut at maxReplayLine.
func readLine(r *bufio.Reader) (string, bool) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(b)+len(chunk) <= maxReplayLine {
			b = append(b, chunk...)
		} else if len(b) < maxReplayLine {
			b = append(b, chunk[:maxReplayLine-len(b)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && len(b) == 0 {
			return "", false
		}
		s := strings.TrimRight(string(b), "\r\n")
		return s, true
	}
}

// advance reads the next line and its time; a line without a time of its
// own (a continuation, a malformed line) keeps the time of the one before.
func (ri *replayInput) advance() {
	line, ok := readLine(ri.r)
	ri.ok = ok
	if !ok {
		return
	}
	ri.line = line
	ri.timed = false
	if err := ri.parser.Parse(line, &ri.events); err == nil && !ri.events.Time.IsZero() {
		ri.last, ri.timed = ri.events.Time, true
	}
	ri.at = ri.last
}

// Start begins writing the files and, unless NoIngest, following them.
func (rp *Replay) Start(ctx context.Context) error {
	rp.mu.Lock()
	if rp.started || rp.closed {
		rp.mu.Unlock()
		return errors.New("replay already started")
	}
	rp.started = true
	ctx, rp.cancel = context.WithCancel(ctx)
	rp.mu.Unlock()
	if !rp.Opts.NoIngest {
		var sources []logs.Source
		for _, f := range rp.Files {
			sources = append(sources, logs.NewFileSource(f, logs.FileOptions{FromStart: true}))
		}
		rp.wg.Add(1)
		go func() {
			defer rp.wg.Done()
			ingest.Run(ctx, sources, ingest.Config{}, rp.Analyzer)
		}()
		rp.wg.Add(1)
		go func() {
			defer rp.wg.Done()
			t := time.NewTicker(rp.Opts.Poll)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					rp.Observe(rp.Analyzer.Snapshot())
				}
			}
		}()
	}
	rp.wg.Add(1)
	go func() {
		defer rp.wg.Done()
		defer close(rp.done)
		err := rp.write(ctx)
		rp.mu.Lock()
		rp.werr = err
		rp.mu.Unlock()
	}()
	return nil
}

// write merges the inputs by time and writes each line when its time,
// compressed by Speed, has come.
func (rp *Replay) write(ctx context.Context) error {
	start := time.Now()
	var origin, prev time.Time
	var offset time.Duration // wall time from start at which the next line is due
	flushAll := func() error {
		for _, ri := range rp.inputs {
			if err := ri.out.Flush(); err != nil {
				return err
			}
		}
		return nil
	}
	defer func() {
		for _, ri := range rp.inputs {
			ri.out.Flush()
			ri.outF.Close()
			ri.closer.Close()
		}
	}()
	for {
		var next *replayInput
		for _, ri := range rp.inputs {
			if ri.ok && (next == nil || ri.at.Before(next.at)) {
				next = ri
			}
		}
		if next == nil {
			break
		}
		if !next.at.IsZero() {
			if origin.IsZero() {
				origin, prev = next.at, next.at
			}
			if gap := next.at.Sub(prev); gap > 0 {
				offset += min(time.Duration(float64(gap)/rp.Opts.Speed), rp.Opts.MaxGap)
				prev = next.at
			}
		}
		if wait := time.Until(start.Add(offset)); wait > 5*time.Millisecond {
			if err := flushAll(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		if _, err := next.out.WriteString(next.line); err != nil {
			return err
		}
		next.out.WriteByte('\n')
		rp.mu.Lock()
		rp.sum.Lines++
		if !next.timed {
			rp.sum.Untimed++
		}
		if !next.at.IsZero() {
			if rp.sum.From.IsZero() || next.at.Before(rp.sum.From) {
				rp.sum.From = next.at
			}
			if next.at.After(rp.sum.To) {
				rp.sum.To = next.at
			}
		}
		rp.mu.Unlock()
		next.advance()
	}
	rp.mu.Lock()
	rp.sum.WallS = round(time.Since(start).Seconds())
	rp.mu.Unlock()
	return flushAll()
}

// Observe notes the findings of a snapshot, each once, with when it was
// first raised on the log's clock.
func (rp *Replay) Observe(snap *analyze.Snapshot) {
	if snap == nil {
		return
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for _, f := range snap.Findings {
		if rp.seen[f.ID] {
			continue
		}
		rp.seen[f.ID] = true
		sf := SeenFinding{ID: sanitize.Text(f.ID), Kind: f.Kind, Severity: f.Severity.String(), First: f.First.UTC(), Summary: sanitize.Text(f.Summary)}
		if !rp.sum.From.IsZero() {
			sf.AfterS = round(f.First.Sub(rp.sum.From).Seconds())
		}
		rp.found = append(rp.found, sf)
	}
}

// Done is closed when every line has been written.
func (rp *Replay) Done() <-chan struct{} { return rp.done }

// Wait returns when every line has been written and the pipeline has read
// them (or a moment has passed), with the summary.
func (rp *Replay) Wait(ctx context.Context) (ReplaySummary, error) {
	select {
	case <-ctx.Done():
		return rp.Summary(), ctx.Err()
	case <-rp.done:
	}
	rp.mu.Lock()
	werr, lines := rp.werr, rp.sum.Lines
	rp.mu.Unlock()
	if werr != nil {
		return rp.Summary(), werr
	}
	if !rp.Opts.NoIngest {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			snap := rp.Analyzer.Snapshot()
			if snap.Lines >= lines {
				// one more look once the last batch is counted
				time.Sleep(100 * time.Millisecond)
				rp.Observe(rp.Analyzer.Snapshot())
				break
			}
			select {
			case <-ctx.Done():
				return rp.Summary(), ctx.Err()
			case <-time.After(rp.Opts.Poll):
			}
		}
	}
	return rp.Summary(), nil
}

// Summary returns what was replayed and found so far.
func (rp *Replay) Summary() ReplaySummary {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	s := rp.sum
	s.Speed = rp.Opts.Speed
	s.Files = append([]string(nil), s.Files...)
	s.Formats = append([]string(nil), s.Formats...)
	s.Findings = append([]SeenFinding(nil), rp.found...)
	sort.SliceStable(s.Findings, func(i, j int) bool { return s.Findings[i].First.Before(s.Findings[j].First) })
	for i := range s.Findings {
		if !s.From.IsZero() {
			s.Findings[i].AfterS = round(s.Findings[i].First.Sub(s.From).Seconds())
		}
	}
	return s
}

// Close stops the replay and removes its directory unless Keep.
func (rp *Replay) Close() error {
	rp.mu.Lock()
	if rp.closed {
		rp.mu.Unlock()
		return nil
	}
	rp.closed = true
	cancel, started := rp.cancel, rp.started
	rp.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	rp.wg.Wait()
	if !started {
		for _, ri := range rp.inputs {
			ri.closer.Close()
			if ri.outF != nil {
				ri.outF.Close()
			}
		}
	}
	if !rp.Opts.Keep && rp.Dir != "" {
		return os.RemoveAll(rp.Dir)
	}
	return nil
}

// WriteText prints the summary for people.
func (s ReplaySummary) WriteText(w io.Writer) {
	names := make([]string, len(s.Files))
	for i, f := range s.Files {
		names[i] = fmt.Sprintf("%s (%s)", sanitize.Text(f), s.Formats[i])
	}
	fmt.Fprintf(w, "Replayed %d lines of %s\n", s.Lines, strings.Join(names, ", "))
	if !s.From.IsZero() {
		fmt.Fprintf(w, "  log time: %s to %s UTC (%s), in %.1f s at %g×\n",
			s.From.UTC().Format("2006-01-02 15:04:05"), s.To.UTC().Format("2006-01-02 15:04:05"), s.To.Sub(s.From).Round(time.Second), s.WallS, s.Speed)
	}
	if len(s.Findings) == 0 {
		fmt.Fprintln(w, "  findings: none")
		return
	}
	fmt.Fprintf(w, "  findings (%d), in the order they were first raised:\n", len(s.Findings))
	for _, f := range s.Findings {
		fmt.Fprintf(w, "    +%-8s %s  %-8s %-20s %s\n", (time.Duration(f.AfterS * float64(time.Second))).Round(time.Second),
			f.First.UTC().Format("15:04:05Z"), f.Severity, f.Kind, f.Summary)
	}
}
