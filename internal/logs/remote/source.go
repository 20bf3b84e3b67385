package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/sanitize"
)

// Options configure a remote source.
type Options struct {
	// SSH is the ssh program; "ssh" when empty.
	SSH string
	// Args are extra ssh options placed before irtui's own (so they win):
	// "-F", "FILE", "-i", "KEY", "-o", "UserKnownHostsFile=FILE", …
	Args []string
	// FromStart reads the file from its beginning on the first connection
	// instead of from its end.
	FromStart bool
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (1 s and 60 s when zero); it doubles after each failed attempt.
	MinBackoff, MaxBackoff time.Duration
}

// Health is a remote source's state, for the console.
type Health struct {
	Host       string
	Source     string
	Connected  bool
	Since      time.Time // when Connected last changed
	LastError  string    // sanitized; empty when none yet
	Reconnects int64     // connections made after the first
	Lines      int64     // lines delivered
	Offset     int64     // bytes of the current file delivered as whole lines
	Rotations  int64     // rotations followed
	Recovered  int64     // lines read from the rotated file (PATH.1) after a rotation
}

// Source follows one file on one host.
type Source struct {
	url  URL
	name string
	opt  Options
	warn func(string)

	mu sync.Mutex
	h  Health

	// position: the identity (device:inode) of the file being read and
	// the bytes of it already delivered as whole lines.
	ident  string
	offset int64
	begun  bool // a first connection has fixed the starting point
}

// New returns a source for an ssh:// URL.
func New(rawURL string, opt Options) (*Source, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opt.SSH == "" {
		opt.SSH = "ssh"
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Minute
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = opt.MinBackoff
	}
	s := &Source{url: u, name: u.String(), opt: opt, warn: func(string) {}}
	s.h.Host, s.h.Source = u.Host, s.name
	return s, nil
}

// Name returns the canonical URL.
func (s *Source) Name() string { return s.name }

// Host returns the host part of the URL: the tag every line carries.
func (s *Source) Host() string { return s.url.Host }

// URL returns the parsed URL.
func (s *Source) URL() URL { return s.url }

// SetWarn sets the callback for dropped links and reconnects.
func (s *Source) SetWarn(f func(string)) {
	if f != nil {
		s.warn = f
	}
}

// Health returns a copy of the source's state.
func (s *Source) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h
}

func (s *Source) update(f func(h *Health)) {
	s.mu.Lock()
	f(&s.h)
	s.mu.Unlock()
}

// errRotated is the follower's exit when the file was rotated or
// truncated under it: reconnect at once.
var errRotated = errors.New("the remote file was rotated")

// rotatedStatus is the remote follower's exit status for errRotated.
const rotatedStatus = 75

// Run follows the file until ctx is cancelled, reconnecting after every
// dropped link. It returns only when ctx is done.
func (s *Source) Run(ctx context.Context, out chan<- logs.Line) error {
	attempt := 0
	first := true
	for ctx.Err() == nil {
		if !first {
			s.update(func(h *Health) { h.Reconnects++ })
		}
		first = false
		delivered, err := s.session(ctx, out)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errRotated) {
			s.update(func(h *Health) { h.Rotations++ })
			attempt = 0
			continue
		}
		if err == nil {
			err = errors.New("the link closed")
		}
		msg := sanitize.Truncate(err.Error(), 500)
		s.update(func(h *Health) {
			h.LastError = msg
			if h.Connected {
				h.Connected, h.Since = false, time.Now()
			}
		})
		if delivered {
			attempt = 0
		}
		wait := s.backoff(attempt)
		attempt++
		s.warn(fmt.Sprintf("%s: %s; reconnecting in %s", s.url.Host, msg, wait.Round(100*time.Millisecond)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	s.update(func(h *Health) {
		if h.Connected {
			h.Connected, h.Since = false, time.Now()
		}
	})
	return nil
}

// backoff doubles from MinBackoff up to MaxBackoff, with ±20% jitter so a
// fleet that lost its link at once does not reconnect in lockstep.
func (s *Source) backoff(attempt int) time.Duration {
	d := s.opt.MinBackoff
	for i := 0; i < attempt && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	if d > s.opt.MaxBackoff {
		d = s.opt.MaxBackoff
	}
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return j
}

// followScript runs on the remote host under sh, as one line (csh-family
// login shells refuse newlines inside quotes). Arguments: the path, the
// identity of the file irtui was reading ("" at first), and how many of
// its bytes were delivered ("end" at first: start at the end).
//
// It waits for the file to exist (one that did not exist yet is read
// from its start once it appears), decides where to start (the same file:
// at the offset; a file rotated away to PATH.1: the rest of that first,
// then the new file from its start; a truncated file: from its start),
// prints a header "irtui-remote 1 IDENT START OLDBYTES FOUND" (FOUND is 0
// when the file irtui was reading is gone: rotated twice, or compressed,
// while the link was down), sends the rest
// of the old file when there is one, and follows the file with tail -f.
// A loop notices a rotation or truncation and exits with status 75 so
// irtui reconnects at once and resumes from the right file. A watcher on
// standard input ends everything when the link goes, so nothing is left
// running on the remote host.
const followScript = `f=$1; want=$2; off=$3; t=; ` +
	`st() { stat -L -c '%d:%i %s' -- "$1" 2>/dev/null || stat -L -f '%d:%i %z' -- "$1" 2>/dev/null; }; ` +
	`trap 'if [ -n "$t" ]; then kill $t 2>/dev/null; fi; exit 0' TERM HUP INT; ` +
	`exec 3<&0; { cat >/dev/null; kill -TERM $$; } <&3 >/dev/null 2>&1 & w=$!; exec 3<&-; ` +
	`waited=; while :; do cur=$(st "$f"); if [ -n "$cur" ]; then break; fi; waited=1; sleep 1; done; ` +
	`id=${cur% *}; size=${cur#* }; old=0; found=1; ` +
	`if [ "$off" = end ]; then if [ -n "$waited" ]; then start=0; else start=$size; fi; ` +
	`elif [ "$id" = "$want" ]; then if [ "$size" -ge "$off" ]; then start=$off; else start=0; fi; ` +
	`else start=0; if [ -n "$want" ]; then found=0; o=$(st "$f.1"); if [ -n "$o" ] && [ "${o% *}" = "$want" ]; then found=1; if [ "${o#* }" -gt "$off" ]; then old=$((${o#* } - off)); fi; fi; fi; fi; ` +
	`echo "irtui-remote 1 $id $start $old $found"; ` +
	`if [ "$old" -gt 0 ]; then tail -c +$((off + 1)) -- "$f.1" | head -c "$old"; fi; ` +
	`tail -c +$((start + 1)) -f -- "$f" & t=$!; prev=$size; ` +
	`while kill -0 $t 2>/dev/null; do sleep 1; c=$(st "$f"); ` +
	`if [ "${c% *}" != "$id" ]; then sleep 1; break; fi; s=${c#* }; if [ "$s" -lt "$prev" ]; then break; fi; prev=$s; done; ` +
	`kill $t $w 2>/dev/null; exit 75`

// remoteCommand is ssh's remote command: one string the remote login
// shell parses, every variable part single-quoted.
func remoteCommand(path, ident, off string) string {
	if ident == "" {
		ident = "-"
	}
	// "-" stands for "no file yet" so no argument is empty.
	return "exec sh -c " + shQuote(strings.Replace(followScript, `want=$2;`, `want=$2; [ "$want" = - ] && want=;`, 1)) +
		" irtui " + shQuote(path) + " " + shQuote(ident) + " " + shQuote(off)
}

// header is the follower's first line.
type header struct {
	ident string
	start int64
	old   int64
	found bool // the file being read before is still there (or none was)
}

// maxPreamble bounds what a remote login may print before the header
// (a chatty .bashrc): more means the follower did not start.
const maxPreamble = 64 << 10

// parseHeader reads "irtui-remote 1 DEV:INO START OLD FOUND".
func parseHeader(line string) (header, bool) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "irtui-remote" || f[1] != "1" || (f[5] != "0" && f[5] != "1") {
		return header{}, false
	}
	dev, ino, ok := strings.Cut(f[2], ":")
	if !ok || !digits(dev) || !digits(ino) || len(f[2]) > 64 {
		return header{}, false
	}
	start, err1 := strconv.ParseInt(f[3], 10, 64)
	old, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil || start < 0 || old < 0 {
		return header{}, false
	}
	return header{ident: f[2], start: start, old: old, found: f[5] == "1"}, true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// session runs one ssh connection. delivered reports whether any line
// arrived (a link that worked for a while resets the backoff).
func (s *Source) session(ctx context.Context, out chan<- logs.Line) (delivered bool, err error) {
	s.mu.Lock()
	ident, offset, begun := s.ident, s.offset, s.begun
	s.mu.Unlock()
	off := strconv.FormatInt(offset, 10)
	if !begun && !s.opt.FromStart {
		off = "end"
	}
	args := append(s.url.sshArgs(s.opt.Args), remoteCommand(s.url.Path, ident, off))
	cmd := exec.CommandContext(ctx, s.opt.SSH, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	stderr := logs.NewTailBuffer(4 << 10)
	cmd.Stderr = stderr
	// Standard input stays open and silent: when the link goes, the
	// remote watcher sees it close and stops the follower.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return false, err
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("cannot run %s: %w (is openssh-client installed?)", s.opt.SSH, err)
	}
	n, rerr := s.read(ctx, bufio.NewReaderSize(stdout, 64<<10), ident, offset, out)
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		// We stopped reading: stop ssh. At EOF it is ending by itself
		// and its exit status is the follower's (a signal would turn
		// it into ssh's own 255).
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	werr := cmd.Wait()
	delivered = n > 0
	if ctx.Err() != nil {
		return delivered, nil
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) && ee.ExitCode() == rotatedStatus && (rerr == nil || errors.Is(rerr, io.EOF)) {
		return delivered, errRotated
	}
	msg := lastLine(stderr.String())
	switch {
	case rerr != nil && !errors.Is(rerr, io.EOF):
		return delivered, rerr
	case werr != nil && msg != "":
		return delivered, fmt.Errorf("ssh %s: %s", s.url.Host, msg)
	case werr != nil:
		return delivered, fmt.Errorf("ssh %s: %v", s.url.Host, werr)
	}
	return delivered, errors.New("the remote follower ended")
}

// lastLine is the last non-empty line of ssh's standard error: the reason
// it gave up ("Permission denied (publickey)", "Connection refused", …).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return sanitize.Truncate(l, 300)
		}
	}
	return ""
}

// read consumes one session's output: the header, the rest of a rotated
// file, then the followed file. It returns the number of lines sent.
func (s *Source) read(ctx context.Context, br *bufio.Reader, ident string, offset int64, out chan<- logs.Line) (int64, error) {
	var h header
	seen := 0
	for {
		// ReadSlice, not ReadString: a preamble line without a newline
		// must not grow memory; its pieces are counted and dropped.
		line, err := br.ReadSlice('\n')
		seen += len(line)
		if err == nil {
			if hh, ok := parseHeader(strings.TrimRight(string(line), "\r\n")); ok {
				h = hh
				break
			}
		} else if !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
		if seen > maxPreamble {
			return 0, errors.New("the remote host did not start the follower (is its login shell a POSIX shell, with stat, tail and head?)")
		}
	}
	now := time.Now()
	s.mu.Lock()
	s.begun = true
	if !s.h.Connected {
		s.h.Connected, s.h.Since = true, now
	}
	s.mu.Unlock()
	switch {
	case ident != "" && !h.found:
		s.warn(fmt.Sprintf("%s: %s was rotated away while the link was down and its old copy is not at %s.1 any more: lines written to it after the drop are lost", s.url.Host, s.url.Path, s.url.Path))
	case ident != "" && h.ident == ident && h.start < offset:
		s.warn(fmt.Sprintf("%s: %s shrank (truncated, as copytruncate does): reading it again from its start", s.url.Host, s.url.Path))
	}
	var sent int64
	if h.old > 0 {
		// The rest of the file that was rotated away, byte-exact, then
		// its last line even without a newline: nothing more comes to it.
		lr := &io.LimitedReader{R: br, N: h.old}
		n, err := s.lines(ctx, bufio.NewReaderSize(lr, 64<<10), out, func(raw int64) {
			s.mu.Lock()
			s.ident, s.offset = ident, offset+raw
			s.h.Offset = s.offset
			s.mu.Unlock()
		}, lr)
		sent += n
		s.update(func(hh *Health) { hh.Recovered += n })
		if err != nil {
			return sent, err
		}
	}
	s.mu.Lock()
	s.ident, s.offset = h.ident, h.start
	s.h.Offset = s.offset
	s.mu.Unlock()
	n, err := s.lines(ctx, br, out, func(raw int64) {
		s.mu.Lock()
		s.offset = h.start + raw
		s.h.Offset = s.offset
		s.mu.Unlock()
	}, nil)
	return sent + n, err
}

// lines splits r into lines and sends each, calling commit with the raw
// bytes consumed up to and including each line's newline. Lines longer
// than logs.MaxLineBytes are cut and marked. When whole is not nil, the
// reader is a bounded section: a last line without its newline is sent
// once the section was read in full.
func (s *Source) lines(ctx context.Context, r *bufio.Reader, out chan<- logs.Line, commit func(raw int64), whole *io.LimitedReader) (int64, error) {
	var (
		pending []byte
		trunc   bool
		raw     int64 // bytes consumed by whole lines so far
		part    int64 // bytes of the line being read
		sent    int64
	)
	emit := func(b []byte) bool {
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		s.mu.Lock()
		s.h.Lines++
		no := s.h.Lines
		s.mu.Unlock()
		l := logs.Line{Text: string(b), Source: s.name, Host: s.url.Host, No: no, Truncated: trunc}
		select {
		case out <- l:
			sent++
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		chunk, err := r.ReadSlice('\n')
		part += int64(len(chunk))
		full := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		body := chunk
		if full {
			body = chunk[:len(chunk)-1]
		}
		if room := logs.MaxLineBytes - len(pending); len(body) > room {
			body = body[:max(room, 0)]
			trunc = true
		}
		if full && len(pending) == 0 {
			if !emit(body) {
				return sent, ctx.Err()
			}
		} else {
			pending = append(pending, body...)
			if full {
				if !emit(pending) {
					return sent, ctx.Err()
				}
				pending = pending[:0]
			}
		}
		if full {
			raw += part
			part = 0
			trunc = false
			commit(raw)
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && whole != nil && whole.N == 0 && (len(pending) > 0 || part > 0) {
			if !emit(pending) {
				return sent, ctx.Err()
			}
			raw += part
			commit(raw)
			return sent, nil
		}
		if err == io.EOF && whole != nil && whole.N == 0 {
			return sent, nil
		}
		return sent, err
	}
}

// Sample returns up to max lines from the end of the remote file, for
// format detection before new lines arrive. It gives up after 10 s.
func (s *Source) Sample(max int) []string {
	if max <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmdline := "exec tail -n " + strconv.Itoa(max) + " -- " + shQuote(s.url.Path)
	cmd := exec.CommandContext(ctx, s.opt.SSH, append(s.url.sshArgs(s.opt.Args), cmdline)...)
	cmd.WaitDelay = time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &limitWriter{w: &stdout, n: int64(max) * logs.MaxLineBytes}
	if err := cmd.Run(); err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			if len(l) > logs.MaxLineBytes {
				l = l[:logs.MaxLineBytes]
			}
			lines = append(lines, l)
		}
	}
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	return lines
}

// limitWriter keeps at most n bytes and drops the rest.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	k := len(p)
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	l.n -= int64(len(p))
	if len(p) > 0 {
		if _, err := l.w.Write(p); err != nil {
			return 0, err
		}
	}
	return k, nil
}

// ProbeResult is what one short connection learnt about the remote file.
type ProbeResult struct {
	Ident string // device:inode
	Size  int64
	Took  time.Duration // connection and answer
}

// probeScript prints "irtui-probe DEV:INO SIZE" when the file can be read.
const probeScript = `f=$1; ` +
	`if [ ! -r "$f" ]; then echo "cannot read $f (missing, or permission denied: add the ssh user to group adm)" >&2; exit 3; fi; ` +
	`s=$(stat -L -c '%d:%i %s' -- "$f" 2>/dev/null || stat -L -f '%d:%i %z' -- "$f" 2>/dev/null); ` +
	`echo "irtui-probe $s"`

// Probe connects once and checks that the file can be read, for
// `irtui fleet` and for the console's health screen before following.
func (s *Source) Probe(ctx context.Context) (ProbeResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmdline := "exec sh -c " + shQuote(probeScript) + " irtui " + shQuote(s.url.Path)
	cmd := exec.CommandContext(ctx, s.opt.SSH, append(s.url.sshArgs(s.opt.Args), cmdline)...)
	cmd.WaitDelay = time.Second
	stderr := logs.NewTailBuffer(4 << 10)
	cmd.Stderr = stderr
	var stdout bytes.Buffer
	cmd.Stdout = &limitWriter{w: &stdout, n: 4096}
	if err := cmd.Run(); err != nil {
		if msg := lastLine(stderr.String()); msg != "" {
			return ProbeResult{}, fmt.Errorf("ssh %s: %s", s.url.Host, msg)
		}
		return ProbeResult{}, fmt.Errorf("ssh %s: %v", s.url.Host, err)
	}
	for _, l := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "irtui-probe" {
			if size, err := strconv.ParseInt(f[2], 10, 64); err == nil {
				return ProbeResult{Ident: f[1], Size: size, Took: time.Since(start)}, nil
			}
		}
	}
	return ProbeResult{}, fmt.Errorf("ssh %s: the remote host did not answer the probe (is its login shell a POSIX shell, with stat?)", s.url.Host)
}
