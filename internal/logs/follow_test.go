package logs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logWriter plays the part of a web server writing its log, plus logrotate
// rotating it under the server's feet in one of the ways logrotate can.
type logWriter struct {
	t      *testing.T
	path   string // the path the server opens (may be a symlink)
	target string // the real file behind path
	f      *os.File

	rotateTail bool // a rename just happened: write one more line to the old file
}

func (w *logWriter) reopen() {
	w.t.Helper()
	if w.f != nil {
		w.f.Close()
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		w.t.Error(err)
	}
	w.f = f
}

func (w *logWriter) write(s string) {
	w.t.Helper()
	if _, err := w.f.WriteString(s); err != nil {
		w.t.Error(err)
	}
}

func numbered(i int) string {
	// ~100 bytes, like a short access-log line.
	return fmt.Sprintf("line %06d GET /some/path/%d HTTP/1.1 200 %s\n", i, i, strings.Repeat("x", 40+i%37))
}

// shift renames target.(k) to target.(k+1), newest last, like logrotate.
func shift(t *testing.T, target string) {
	for k := 8; k >= 1; k-- {
		old := target + "." + strconv.Itoa(k)
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, target+"."+strconv.Itoa(k+1)); err != nil {
				t.Error(err)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Error(err)
		return
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Error(err)
		return
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Error(err)
	}
}

// rotate performs one rotation in the given way.
func (w *logWriter) rotate(mode string, round int) {
	t := w.t
	switch mode {
	case "rename", "rename-burst", "symlink":
		shift(t, w.target)
		if err := os.Rename(w.target, w.target+".1"); err != nil {
			t.Error(err)
		}
		// The server keeps writing to the renamed file until told to reopen.
		w.rotateTail = true
	case "copytruncate":
		shift(t, w.target)
		copyFile(t, w.target, w.target+".1")
		if err := os.Truncate(w.target, 0); err != nil {
			t.Error(err)
		}
	case "delete":
		if err := os.Remove(w.target); err != nil {
			t.Error(err)
		}
		w.reopen()
	case "relink":
		// A new target, and the link swapped atomically to it.
		next := filepath.Join(filepath.Dir(w.target), fmt.Sprintf("real-%d.log", round))
		tmp := w.path + ".tmp"
		if err := os.WriteFile(next, nil, 0o644); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(next, tmp); err != nil {
			t.Error(err)
		}
		if err := os.Rename(tmp, w.path); err != nil {
			t.Error(err)
		}
		w.target = next
		w.reopen()
	}
}

func TestFollowRotationMatrix(t *testing.T) {
	modes := []string{"rename", "rename-burst", "copytruncate", "delete", "missing", "symlink", "relink", "partial"}
	for _, poll := range []bool{false, true} {
		for _, mode := range modes {
			name := mode
			if poll {
				name += "/poll"
			} else {
				name += "/inotify"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				followMatrix(t, mode, poll)
			})
		}
	}
}

func followMatrix(t *testing.T, mode string, poll bool) {
	const n = 3000
	dir := t.TempDir()
	w := &logWriter{t: t, path: filepath.Join(dir, "access.log")}
	w.target = w.path
	switch mode {
	case "symlink", "relink":
		real := filepath.Join(dir, "real", "access.log")
		if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(real, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, w.path); err != nil {
			t.Fatal(err)
		}
		w.target = real
	}
	if mode != "missing" {
		// Lines before the source starts are history: following from the
		// end must not deliver them.
		w.reopen()
		w.write("old line 1\nold line 2\n")
	}

	src := NewFileSource(w.path, FileOptions{Poll: poll, Interval: 20 * time.Millisecond, Retire: time.Second})
	var warns []string
	src.SetWarn(func(m string) { warns = append(warns, m) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan Line, 64)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	time.Sleep(100 * time.Millisecond) // let it open the file and take its end

	go func() {
		if mode == "missing" {
			time.Sleep(150 * time.Millisecond)
			w.reopen()
		}
		for i := 1; i <= n; i++ {
			line := numbered(i)
			if mode == "partial" && i%7 == 0 {
				// A line written in two pieces with time between: the
				// follower must not deliver its first half.
				w.write(line[:10])
				time.Sleep(5 * time.Millisecond)
				w.write(line[10:])
			} else {
				w.write(line)
			}
			if i%400 == 0 && mode != "missing" && mode != "partial" {
				w.rotate(mode, i)
				if w.rotateTail {
					// A few lines still go to the renamed file, then the
					// server reopens its log.
					w.write(numbered(i + 1))
					i++
					w.rotateTail = false
					w.reopen()
				}
				if mode != "rename-burst" {
					// The new file gets some lines, then time passes before
					// the next rotation: no follower can read a file
					// created and deleted between two of its looks.
					for k := 0; k < 10; k++ {
						i++
						w.write(numbered(i))
					}
					time.Sleep(80 * time.Millisecond)
				}
			}
			switch {
			case i%500 < 5:
				time.Sleep(30 * time.Millisecond) // sometimes let the follower catch up
			case i%97 == 0:
				time.Sleep(time.Millisecond)
			}
		}
	}()

	got := make([]int, 0, n)
	seen := make(map[int]int)
	deadline := time.After(90 * time.Second) // generous: CI machines under -race are slow
	quiet := time.NewTimer(time.Hour)
	for {
		select {
		case l := <-out:
			if !strings.HasPrefix(l.Text, "line ") {
				t.Fatalf("unexpected line %q", l.Text)
			}
			i, err := strconv.Atoi(l.Text[5:11])
			if err != nil || l.Text+"\n" != numbered(i) {
				t.Fatalf("garbled line %q", l.Text)
			}
			if l.Source != w.path {
				t.Fatalf("source %q, want %q", l.Source, w.path)
			}
			seen[i]++
			got = append(got, i)
			if len(seen) == n {
				// Wait a little longer for any duplicate.
				quiet.Reset(300 * time.Millisecond)
			}
			continue
		case <-quiet.C:
		case <-deadline:
			t.Errorf("timed out with %d of %d lines", len(seen), n)
		}
		break
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	var missing, dup []int
	for i := 1; i <= n; i++ {
		switch {
		case seen[i] == 0:
			missing = append(missing, i)
		case seen[i] > 1:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d lines lost, first %v", len(missing), missing[:min(len(missing), 10)])
	}
	if len(dup) > 0 {
		t.Errorf("%d lines read twice, first %v", len(dup), dup[:min(len(dup), 10)])
	}
	for k := 1; k < len(got); k++ {
		if got[k] < got[k-1] {
			t.Errorf("line %d arrived after line %d", got[k], got[k-1])
			break
		}
	}
	t.Logf("copytruncate recoveries %d, missed copies read %d", src.recovered.Load(), src.missed.Load())
	for _, m := range warns {
		if mode != "missing" {
			t.Errorf("unexpected warning: %s", m)
		}
	}
}
