package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Source produces raw lines. Run sends every line it reads to out, in order,
// each tagged with the source's Name, and returns when the source has ended
// (standard input closed, the command exited) or ctx is cancelled. A source
// that follows a file never ends on its own. Run is called once.
type Source interface {
	Name() string
	Run(ctx context.Context, out chan<- Line) error
}

// Warner is implemented by sources that can hit a problem worth telling the
// operator about without stopping (lines a copytruncate rotation may have
// lost, a rotated file that cannot be read). The pipeline sets the callback
// before calling Run; it may be called from Run's goroutine.
type Warner interface {
	SetWarn(func(msg string))
}

// send hands one line to out unless ctx is cancelled first.
func send(ctx context.Context, out chan<- Line, l Line) bool {
	select {
	case out <- l:
		return true
	case <-ctx.Done():
		return false
	}
}

// readLines reads r to its end, sending each line (the last one even without
// a newline) tagged with name. It returns the number of lines sent.
func readLines(ctx context.Context, r io.Reader, name string, out chan<- Line) (int64, error) {
	var (
		sp  splitter
		no  int64
		buf = make([]byte, 64<<10)
	)
	emit := func(text string, trunc bool) bool {
		no++
		return send(ctx, out, Line{Text: text, Source: name, No: no, Truncated: trunc})
	}
	for {
		n, err := r.Read(buf)
		if n > 0 && !sp.feed(buf[:n], emit) {
			return no, ctx.Err()
		}
		if err == io.EOF {
			if !sp.flush(emit) {
				return no, ctx.Err()
			}
			return no, nil
		}
		if err != nil {
			return no, err
		}
		if ctx.Err() != nil {
			return no, ctx.Err()
		}
	}
}

// ReaderSource reads lines from a stream until it ends: standard input, or
// any reader a test or the drill generator hands in.
type ReaderSource struct {
	name string
	r    io.Reader
}

// NewReaderSource returns a source reading r, whose lines are tagged name.
func NewReaderSource(name string, r io.Reader) *ReaderSource {
	return &ReaderSource{name: name, r: r}
}

// Stdin returns the source for "-": standard input.
func Stdin() *ReaderSource { return NewReaderSource("-", os.Stdin) }

// Name returns the tag given at construction ("-" for standard input).
func (s *ReaderSource) Name() string { return s.name }

// Run reads the stream to its end. Cancelling ctx stops sending, but a
// blocked Read on a terminal or pipe returns only when data or EOF arrives.
func (s *ReaderSource) Run(ctx context.Context, out chan<- Line) error {
	_, err := readLines(ctx, s.r, s.name, out)
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("reading %s: %w", s.name, err)
	}
	return nil
}

// CommandSource runs a program and reads its standard output, for hosts
// that log only to journald (`journalctl -f -o short-iso -u postfix`) or
// logs that arrive over `ssh HOST tail -F …`. The command line is split into
// an argument vector by SplitArgs and never passed through a shell.
type CommandSource struct {
	line string
	argv []string
}

// NewCommandSource parses cmdline into an argument vector.
func NewCommandSource(cmdline string) (*CommandSource, error) {
	argv, err := SplitArgs(cmdline)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("empty --cmd: give a program and its arguments, e.g. --cmd 'journalctl -f -o short-iso -u postfix'")
	}
	return &CommandSource{line: cmdline, argv: argv}, nil
}

// Name returns the command line as the operator gave it.
func (s *CommandSource) Name() string { return s.line }

// Args returns the argument vector the command runs with.
func (s *CommandSource) Args() []string { return append([]string(nil), s.argv...) }

// Run starts the command and reads its output until it exits. The command is
// not restarted: an exit is reported, with the end of its standard error,
// and the operator decides. A clean exit (status 0) ends the source quietly.
func (s *CommandSource) Run(ctx context.Context, out chan<- Line) error {
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	// SIGTERM first so journalctl or ssh can clean up; SIGKILL if it lingers.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	stderr := NewTailBuffer(4 << 10)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w (is it installed and in PATH?)", s.argv[0], err)
	}
	_, rerr := readLines(ctx, stdout, s.line, out)
	if rerr != nil {
		// Stop the program if we stopped reading; Wait then reaps it.
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if werr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return fmt.Errorf("%s exited: %v: %s", s.argv[0], werr, msg)
		}
		return fmt.Errorf("%s exited: %v", s.argv[0], werr)
	}
	if rerr != nil && !errors.Is(rerr, context.Canceled) {
		return fmt.Errorf("reading the output of %s: %w", s.argv[0], rerr)
	}
	return nil
}

// TailBuffer keeps the last max bytes written to it: a chatty program's
// standard error (a command source's, ssh's) cannot grow memory without bound.
type TailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

// NewTailBuffer keeps the last max bytes.
func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// SplitArgs splits a command line into words the way a POSIX shell would for
// plain words and quotes — 'single', "double" (with \" \\ \$ \` escapes), and
// backslash outside quotes — but expands nothing: no variables, globs,
// pipes or redirections, because the result goes straight to exec.
func SplitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			inArg = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' in command line")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inArg = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New(`unterminated " in command line`)
			}
		case c == '\\':
			inArg = true
			if i+1 >= len(s) {
				return nil, errors.New("command line ends with a backslash")
			}
			i++
			cur.WriteByte(s[i])
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
