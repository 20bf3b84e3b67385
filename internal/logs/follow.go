package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// FileOptions configure how a FileSource follows its file.
type FileOptions struct {
	// FromStart reads the live file from its beginning instead of its end.
	FromStart bool
	// Backfill reads the rotated siblings (access.log.2.gz, access.log.1)
	// oldest first, then the live file from its beginning.
	Backfill bool
	// NotBefore skips rotated siblings last modified before it: they hold
	// only older lines (--since).
	NotBefore time.Time
	// Poll checks the file every Interval without inotify, for file systems
	// where inotify sees nothing (NFS, some container mounts).
	Poll bool
	// Interval between checks: the polling period with Poll, and the safety
	// net under inotify otherwise. Zero means 250 ms (Poll) or 1 s.
	Interval time.Duration
	// Retire is how long a file that was rotated away is still read for
	// lines its writer appends before reopening (nginx until USR1). Zero
	// means 5 s.
	Retire time.Duration
}

// FileSource follows one log file by name through every way logs are
// rotated. It is its own follower rather than a wrapper of nxadm/tail: that
// library chooses at random between a pending "modified" and "moved" event
// (so lines written just before a rename are skipped), reopens a renamed file
// without draining the old descriptor, and on copytruncate jumps to the new
// start, losing what was written after its last read. Run through the
// scenarios of follow_test.go (3,000 lines, a rotation every 400), tail
// v1.4.11 with Follow+ReOpen lost 1,519 lines and read 10 twice on rename,
// and lost 400 on copytruncate (2,791 and 2,800 when polling). The
// guarantee here is that every line reaches the pipeline exactly once:
//
//   - rename + new file: the old descriptor is drained, then kept and read
//     for Retire in case the writer still appends to it;
//   - copytruncate: truncation is noticed by size and by a fingerprint of
//     the last bytes read (a file truncated and refilled past the old size
//     is caught too), and the bytes not yet read are recovered from the copy
//     (access.log.1, .1.gz or the newest dated copy) when it matches;
//   - deletion and re-creation, a file that does not exist yet (read from
//     its start once it appears), a symbolic link (followed, and re-resolved
//     when it is re-pointed);
//   - a last line without its newline is held back until the rest arrives.
//
// Lines written by the writer in the instant between logrotate's copy and
// its truncate are in neither file; no reader can see them.
//
// Lines of the live file are numbered from where following began (line 1
// is the first line read, whether the file was opened at its start or its
// end); lines of rotated copies read by Backfill carry the copy's path and
// its own line numbers.
type FileSource struct {
	path string
	opt  FileOptions
	warn func(string)

	// recovered and missed count copytruncate recoveries and rotated
	// copies read whole, so tests can tell the hard paths ran.
	recovered, missed atomic.Int64
}

// NewFileSource returns a source following path.
func NewFileSource(path string, opt FileOptions) *FileSource {
	if opt.Interval <= 0 {
		opt.Interval = time.Second
		if opt.Poll {
			opt.Interval = 250 * time.Millisecond
		}
	}
	if opt.Retire <= 0 {
		opt.Retire = 5 * time.Second
	}
	return &FileSource{path: path, opt: opt, warn: func(string) {}}
}

// Name returns the path as given.
func (s *FileSource) Name() string { return s.path }

// SetWarn sets the callback for problems that do not stop the source.
func (s *FileSource) SetWarn(f func(string)) {
	if f != nil {
		s.warn = f
	}
}

// Sample returns up to max complete lines from the start of the file (or of
// its newest rotated copy when the file is empty), for format detection
// before any new line has arrived.
func (s *FileSource) Sample(max int) []string {
	paths := []string{s.path}
	if sibs, err := RotatedSiblings(s.path, time.Time{}); err == nil {
		for i := len(sibs) - 1; i >= 0; i-- {
			paths = append(paths, sibs[i].Path)
		}
	}
	for _, p := range paths {
		if lines := sampleFile(p, max); len(lines) > 0 {
			return lines
		}
	}
	return nil
}

func sampleFile(path string, max int) []string {
	r, c, err := OpenLog(path)
	if err != nil {
		return nil
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	n, _ := io.ReadFull(r, buf)
	var lines []string
	var sp splitter
	sp.feed(buf[:n], func(text string, _ bool) bool {
		if strings.TrimSpace(text) != "" {
			lines = append(lines, text)
		}
		return len(lines) < max
	})
	return lines
}

// Run reads the rotated siblings when asked to, then follows the file until
// ctx is cancelled.
func (s *FileSource) Run(ctx context.Context, out chan<- Line) error {
	fromStart := s.opt.FromStart
	if s.opt.Backfill {
		fromStart = true
		sibs, err := RotatedSiblings(s.path, s.opt.NotBefore)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.warn(fmt.Sprintf("cannot list the rotated copies of %s: %v", s.path, err))
		}
		for _, sib := range sibs {
			if err := s.readWhole(ctx, sib.Path, out); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.warn(fmt.Sprintf("cannot read rotated copy %s: %v", sib.Path, err))
			}
		}
	}
	f := &follower{src: s, out: out, fromStart: fromStart}
	return f.run(ctx)
}

func (s *FileSource) readWhole(ctx context.Context, path string, out chan<- Line) error {
	r, c, err := OpenLog(path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = readLines(ctx, r, path, out)
	return err
}

// fpLen is how many of the last bytes read identify a file's content: a
// truncated and refilled file differs there.
const fpLen = 64

// tracked is one open descriptor being read.
type tracked struct {
	f       *os.File
	info    os.FileInfo
	off     int64  // bytes consumed
	fp      []byte // the last ≤ fpLen bytes before off
	sp      splitter
	retired time.Time // when it was rotated away; zero for the live file
}

type follower struct {
	src       *FileSource
	out       chan<- Line
	fromStart bool
	no        int64
	cur       *tracked
	old       []*tracked // rotated away, still drained for a while
	buf       []byte
	watcher   *fsnotify.Watcher
	watched   map[string]bool
	ctx       context.Context
	missing   bool // the file was absent at the last check (warn once)
}

func (f *follower) emit(text string, trunc bool) bool {
	f.no++
	return send(f.ctx, f.out, Line{Text: text, Source: f.src.path, No: f.no, Truncated: trunc})
}

func (f *follower) run(ctx context.Context) error {
	f.ctx = ctx
	f.buf = make([]byte, 256<<10)
	defer f.closeAll()
	if !f.src.opt.Poll {
		if w, err := fsnotify.NewWatcher(); err == nil {
			f.watcher = w
			f.watched = map[string]bool{}
			defer w.Close()
		}
	}
	// The file as it is now: from its end unless asked for all of it. A file
	// that appears later is new, and read from its start.
	if err := f.open(!f.fromStart); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return f.openError(err)
	}
	if f.cur == nil {
		f.src.warn(fmt.Sprintf("%s does not exist yet: waiting for it", f.src.path))
		f.missing = true
	}
	f.watch()
	tick := time.NewTicker(f.src.opt.Interval)
	defer tick.Stop()
	var events chan fsnotify.Event
	var errs chan error
	if f.watcher != nil {
		events, errs = f.watcher.Events, f.watcher.Errors
	}
	for {
		if !f.step() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case ev := <-events:
			if !f.relevant(ev.Name) {
				continue
			}
		case <-errs:
			// An overflowed queue loses events, not data: the next step reads.
		}
	}
}

func (f *follower) openError(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot read %s: permission denied (run with sudo, or add your user to group adm)", f.src.path)
	}
	return fmt.Errorf("cannot read %s: %w", f.src.path, err)
}

// watch adds the directories of the path and of its link target.
func (f *follower) watch() {
	if f.watcher == nil {
		return
	}
	dirs := []string{filepath.Dir(f.src.path)}
	if t, err := filepath.EvalSymlinks(f.src.path); err == nil {
		dirs = append(dirs, filepath.Dir(t))
	}
	for _, d := range dirs {
		if !f.watched[d] {
			if f.watcher.Add(d) == nil {
				f.watched[d] = true
			}
		}
	}
}

// relevant reports whether an event in a watched directory concerns our
// file: busy log directories change all the time.
func (f *follower) relevant(name string) bool {
	b := filepath.Base(name)
	if strings.HasPrefix(b, filepath.Base(f.src.path)) {
		return true
	}
	if t, err := filepath.EvalSymlinks(f.src.path); err == nil && strings.HasPrefix(b, filepath.Base(t)) {
		return true
	}
	return b == filepath.Base(f.src.path)
}

// open makes the file at path the live one, from its end or its start.
func (f *follower) open(atEnd bool) error {
	fh, err := os.Open(f.src.path)
	if err != nil {
		return err
	}
	info, err := fh.Stat()
	if err != nil {
		fh.Close()
		return err
	}
	if info.IsDir() {
		fh.Close()
		return fmt.Errorf("%s is a directory: name the log file inside it", f.src.path)
	}
	t := &tracked{f: fh, info: info}
	if atEnd && info.Size() > 0 {
		t.off = info.Size()
		n := min(int64(fpLen), t.off)
		t.fp = make([]byte, n)
		if _, err := fh.ReadAt(t.fp, t.off-n); err != nil {
			t.fp = nil
		}
		// Starting inside a line being written: skip its tail, whose
		// beginning we never saw.
		if len(t.fp) > 0 && t.fp[len(t.fp)-1] != '\n' {
			t.sp.drop = true
		}
	}
	f.cur = t
	return nil
}

// step reads whatever is new and handles rotation. It returns false when
// the consumer has gone.
func (f *follower) step() bool {
	if f.cur != nil && !f.read(f.cur) {
		return false
	}
	info, err := os.Stat(f.src.path)
	switch {
	case err != nil:
		// Deleted or renamed away: keep reading the open descriptor until
		// a new file takes the name.
		if !errors.Is(err, fs.ErrNotExist) && !f.missing {
			f.src.warn(fmt.Sprintf("cannot stat %s: %v", f.src.path, err))
			f.missing = true
		}
	case f.cur == nil:
		if err := f.open(false); err != nil {
			break
		}
		f.missing = false
		f.watch()
		if !f.read(f.cur) {
			return false
		}
	case !os.SameFile(info, f.cur.info):
		// Rotated by rename, deleted and re-created, or the link re-pointed.
		if !f.read(f.cur) {
			return false
		}
		f.cur.retired = time.Now()
		f.old = append(f.old, f.cur)
		prev := f.cur.info
		f.cur = nil
		if !f.readMissed(prev) {
			return false
		}
		if err := f.open(false); err != nil {
			break
		}
		f.missing = false
		f.watch()
		if !f.read(f.cur) {
			return false
		}
	}
	return f.drainOld()
}

// readMissed reads rotated copies newer than the file we were reading:
// files that were created and rotated away again between two checks (two
// quick rotations, or a poll interval longer than the time between them).
func (f *follower) readMissed(prev os.FileInfo) bool {
	sibs, err := RotatedSiblings(f.src.path, time.Time{})
	if err != nil {
		return true
	}
	at := -1
	for i, s := range sibs {
		if info, err := os.Stat(s.Path); err == nil && os.SameFile(info, prev) {
			at = i
		}
	}
	if at < 0 {
		return true // deleted or compressed: nothing to tell us what we missed
	}
	for _, s := range sibs[at+1:] {
		f.src.missed.Add(1)
		r, c, err := OpenLog(s.Path)
		if err != nil {
			continue
		}
		var sp splitter
		buf := f.buf
		for {
			n, err := r.Read(buf)
			if n > 0 && !sp.feed(buf[:n], f.emit) {
				c.Close()
				return false
			}
			if err != nil {
				break
			}
		}
		c.Close()
		if !sp.flush(f.emit) {
			return false
		}
	}
	return true
}

// drainOld reads the rotated-away descriptors, closing those past Retire.
func (f *follower) drainOld() bool {
	keep := f.old[:0]
	for _, t := range f.old {
		if !f.read(t) {
			return false
		}
		if time.Since(t.retired) < f.src.opt.Retire {
			keep = append(keep, t)
			continue
		}
		// The writer has moved on: its last line is as complete as it gets.
		if !t.sp.flush(f.emit) {
			return false
		}
		t.f.Close()
	}
	for i := len(keep); i < len(f.old); i++ {
		f.old[i] = nil
	}
	f.old = keep
	return true
}

// read consumes what t has beyond its offset, after checking that the
// content before the offset is still the one read (copytruncate).
func (f *follower) read(t *tracked) bool {
	info, err := t.f.Stat()
	if err != nil {
		return true
	}
	if info.Size() < t.off || !f.sameContent(t) {
		if !f.truncated(t) {
			return false
		}
	}
	for {
		n, err := t.f.ReadAt(f.buf, t.off)
		if n > 0 {
			f.consumed(t, f.buf[:n])
			if !t.sp.feed(f.buf[:n], f.emit) {
				return false
			}
		}
		if err != nil || n == 0 {
			return true
		}
	}
}

// consumed advances t past p and remembers its last bytes.
func (f *follower) consumed(t *tracked, p []byte) {
	t.off += int64(len(p))
	if len(p) >= fpLen {
		t.fp = append(t.fp[:0], p[len(p)-fpLen:]...)
		return
	}
	t.fp = append(t.fp, p...)
	if over := len(t.fp) - fpLen; over > 0 {
		t.fp = append(t.fp[:0], t.fp[over:]...)
	}
}

// sameContent compares the bytes just before the offset with those read.
func (f *follower) sameContent(t *tracked) bool {
	if len(t.fp) == 0 {
		return true
	}
	var b [fpLen]byte
	got := b[:len(t.fp)]
	n, _ := t.f.ReadAt(got, t.off-int64(len(t.fp)))
	return n == len(got) && bytes.Equal(got, t.fp)
}

// truncated handles a file cut under us: what we had not read yet is in
// the copy logrotate made, if it made one we recognise.
func (f *follower) truncated(t *tracked) bool {
	if t.off > 0 {
		rec, ok := f.recover(t)
		if ok {
			f.src.recovered.Add(1)
			if !t.sp.feed(rec, f.emit) {
				return false
			}
		} else {
			f.src.warn(fmt.Sprintf("%s was truncated and no rotated copy matches what was read: lines written just before may be missing", f.src.path))
		}
	}
	// The old content ends here; a half-written last line will not be
	// completed in the new one.
	if !t.sp.flush(f.emit) {
		return false
	}
	t.sp.reset()
	t.off = 0
	t.fp = t.fp[:0]
	return true
}

// recover returns the bytes of the rotated copy beyond t.off, when the copy
// holds exactly the bytes t read before it.
func (f *follower) recover(t *tracked) ([]byte, bool) {
	var cands []string
	p := f.src.path
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	cands = append(cands, p+".1", p+".1.gz")
	if sibs, err := RotatedSiblings(p, time.Time{}); err == nil {
		for i := len(sibs) - 1; i >= 0 && i >= len(sibs)-2; i-- {
			cands = append(cands, sibs[i].Path)
		}
	}
	for _, c := range cands {
		if b, ok := copyTail(c, t.off, t.fp); ok {
			return b, true
		}
	}
	return nil, false
}

// copyTail reads path (gunzipping it) and, when its bytes before off equal
// fp, returns those from off on, bounded so a wrong guess cannot flood memory.
func copyTail(path string, off int64, fp []byte) ([]byte, bool) {
	r, c, err := OpenLog(path)
	if err != nil {
		return nil, false
	}
	defer c.Close()
	skip := off - int64(len(fp))
	if _, err := io.CopyN(io.Discard, r, skip); err != nil {
		return nil, false
	}
	got := make([]byte, len(fp))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, fp) {
		return nil, false
	}
	rest, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, false
	}
	return rest, true
}

func (f *follower) closeAll() {
	if f.cur != nil {
		f.cur.f.Close()
	}
	for _, t := range f.old {
		t.f.Close()
	}
}
