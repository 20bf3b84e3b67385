package logs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
)

// collect runs src to its end (or until it has produced want lines, for
// followers) and returns its lines.
func collect(t *testing.T, src Source, want int) ([]Line, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := make(chan Line, 1024)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out); close(out) }()
	var lines []Line
	for l := range out {
		lines = append(lines, l)
		if want > 0 && len(lines) == want {
			cancel()
		}
	}
	return lines, <-done
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes+10)
	cases := []struct {
		name   string
		chunks []string
		want   []string
		trunc  []bool
	}{
		{"lines", []string{"a\nb\n"}, []string{"a", "b"}, []bool{false, false}},
		{"split mid-line", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}, []bool{false, false}},
		{"crlf", []string{"a\r\nb\r", "\n"}, []string{"a", "b"}, []bool{false, false}},
		{"empty lines", []string{"\n\nx\n"}, []string{"", "", "x"}, []bool{false, false, false}},
		{"long in one chunk", []string{long + "\nnext\n"}, []string{long[:MaxLineBytes], "next"}, []bool{true, false}},
		{"long across chunks", []string{long[:100], long[100:], "\nnext\n"}, []string{long[:MaxLineBytes], "next"}, []bool{true, false}},
		{"exactly max", []string{long[:MaxLineBytes] + "\n"}, []string{long[:MaxLineBytes]}, []bool{false}},
		{"no newline yet", []string{"a\npartial"}, []string{"a"}, []bool{false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sp splitter
			var got []string
			var trunc []bool
			for _, ch := range c.chunks {
				sp.feed([]byte(ch), func(s string, tr bool) bool {
					got = append(got, s)
					trunc = append(trunc, tr)
					return true
				})
			}
			if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(trunc, c.trunc) {
				t.Fatalf("got %d lines %v, want %d %v", len(got), trunc, len(c.want), c.trunc)
			}
		})
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint8(3))
	f.Add([]byte("\n\n\r\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		// Whatever the chunking, the lines are those of a plain split.
		n := int(step)%17 + 1
		var sp splitter
		var got []string
		emit := func(s string, _ bool) bool { got = append(got, s); return true }
		for i := 0; i < len(data); i += n {
			sp.feed(data[i:min(i+n, len(data))], emit)
		}
		sp.flush(emit)
		var want []string
		parts := strings.Split(string(data), "\n")
		for i, p := range parts {
			if i == len(parts)-1 && p == "" {
				break
			}
			want = append(want, strings.TrimSuffix(p, "\r"))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunked %d: got %q, want %q", n, got, want)
		}
	})
}

func TestSplitArgs(t *testing.T) {
	cases := map[string][]string{
		`journalctl -f -o short-iso -u postfix`: {"journalctl", "-f", "-o", "short-iso", "-u", "postfix"},
		`ssh host 'tail -F /var/log/mail.log'`:  {"ssh", "host", "tail -F /var/log/mail.log"},
		`echo "a \"b\" $HOME" c\ d`:             {"echo", `a "b" $HOME`, "c d"},
		`  x   ''  "" `:                         {"x", "", ""},
		`a'b'"c"`:                               {"abc"},
		`echo ; rm -rf / | cat`:                 {"echo", ";", "rm", "-rf", "/", "|", "cat"},
		``:                                      nil,
	}
	for in, want := range cases {
		got, err := SplitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `trailing\`} {
		if _, err := SplitArgs(bad); err == nil {
			t.Errorf("SplitArgs(%q) accepted", bad)
		}
	}
}

func TestReaderSource(t *testing.T) {
	in := "one\ntwo\r\n" + strings.Repeat("z", MaxLineBytes*2) + "\nlast without newline"
	lines, err := collect(t, NewReaderSource("-", strings.NewReader(in)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if l.Source != "-" || l.No != int64(i+1) {
			t.Errorf("line %d: source %q no %d", i, l.Source, l.No)
		}
	}
	if lines[1].Text != "two" || !lines[2].Truncated || len(lines[2].Text) != MaxLineBytes || lines[3].Text != "last without newline" {
		t.Errorf("unexpected lines: %q %v %d %q", lines[1].Text, lines[2].Truncated, len(lines[2].Text), lines[3].Text)
	}
}

func TestCommandSource(t *testing.T) {
	fixture := testkit.Fixture(t, "elastic-examples/common-data-formats/apache_logs/apache_logs")
	cat := testkit.NeedTool(t, "cat", "coreutils")
	src, err := NewCommandSource(cat + " '" + fixture + "'")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := collect(t, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 10000 {
		t.Fatalf("%d lines from cat, want 10000", len(lines))
	}
	if lines[9999].No != 10000 || lines[0].Source != src.Name() {
		t.Errorf("last line no %d source %q", lines[9999].No, lines[0].Source)
	}

	// A failing command is reported with its standard error.
	src, _ = NewCommandSource(cat + " /nonexistent/irtui-test")
	_, err = collect(t, src, 0)
	if err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("error %v, want cat's complaint", err)
	}
	src, _ = NewCommandSource("irtui-no-such-program")
	if _, err = collect(t, src, 0); err == nil || !strings.Contains(err.Error(), "PATH") {
		t.Errorf("error %v, want a hint about PATH", err)
	}
}

func TestCommandSourceCancel(t *testing.T) {
	testkit.NeedTool(t, "sleep", "coreutils")
	src, _ := NewCommandSource("sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, make(chan Line)) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("cancelled command: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("command not stopped on cancel")
	}
}

func TestRotatedSiblingsOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"access.log", "access.log.1", "access.log.2.gz", "access.log.10.gz", "access.log.3.gz",
		"access.log-20240101.gz", "access.log-20231231", "access.log.bak", "access.log.1.swp", "other.log.1"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sibs, err := RotatedSiblings(filepath.Join(dir, "access.log"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sibs {
		got = append(got, filepath.Base(s.Path))
	}
	want := []string{"access.log-20231231", "access.log-20240101.gz", "access.log.10.gz", "access.log.3.gz", "access.log.2.gz", "access.log.1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	// Copies last written before --since are skipped.
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, "access.log.10.gz"), old, old)
	sibs, _ = RotatedSiblings(filepath.Join(dir, "access.log"), time.Now().Add(-time.Hour))
	for _, s := range sibs {
		if strings.HasSuffix(s.Path, ".10.gz") {
			t.Error("old sibling kept")
		}
	}
}

// TestBackfillRealRotation reads seven real rotated, gzipped days and then
// follows the live file: every line once, oldest day first.
func TestBackfillRealRotation(t *testing.T) {
	src := testkit.Fixture(t, "real-web/wekilos-BPlogs")
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "access.log.") {
			copyFile(t, filepath.Join(src, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	live := filepath.Join(dir, "access.log")
	if err := os.WriteFile(live, []byte("live 1\nlive 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first line of each day, to check the order the days arrive in.
	firsts := map[string]string{}
	for n := 8; n <= 14; n++ {
		p := filepath.Join(dir, "access.log."+strconv.Itoa(n)+".gz")
		firsts[p] = firstLine(t, p)
	}
	const want = 289272 + 2
	lines, err := collect(t, NewFileSource(live, FileOptions{Backfill: true, Poll: true}), want)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	var order []string
	for i, l := range lines {
		if i == 0 || l.Source != lines[i-1].Source {
			order = append(order, filepath.Base(l.Source))
			if l.No != 1 {
				t.Errorf("%s starts at line %d", l.Source, l.No)
			}
			if f, ok := firsts[l.Source]; ok && f != l.Text {
				t.Errorf("%s: first line differs", l.Source)
			}
		}
	}
	wantOrder := []string{"access.log.14.gz", "access.log.13.gz", "access.log.12.gz", "access.log.11.gz", "access.log.10.gz", "access.log.9.gz", "access.log.8.gz", "access.log"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("order %q, want %q", order, wantOrder)
	}
	if lines[len(lines)-1].Text != "live 2" {
		t.Errorf("last line %q", lines[len(lines)-1].Text)
	}
}

func firstLine(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(z)
	s.Buffer(nil, 1<<20)
	s.Scan()
	return strings.TrimSuffix(s.Text(), "\r")
}

func TestDecompressPlainAndShort(t *testing.T) {
	for _, in := range []string{"", "x", "plain text\n"} {
		r, err := Decompress(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if string(b) != in {
			t.Errorf("%q read as %q", in, b)
		}
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("zipped\n"))
	w.Close()
	r, err := Decompress(&gz)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "zipped\n" {
		t.Errorf("gzip read as %q", b)
	}
}

func TestUsualLogs(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"/var/log/nginx/access.log", "/var/log/mail.log"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), nil, 0o644)
	}
	os.MkdirAll(filepath.Join(root, "/var/log/maillog"), 0o755) // a directory is not a log
	got := UsualLogs(root)
	want := []string{filepath.Join(root, "/var/log/nginx/access.log"), filepath.Join(root, "/var/log/mail.log")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFileSourceSampleAndDirectory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mail.log")
	os.WriteFile(p, []byte("\none\n\ntwo\nthree"), 0o644)
	if got := NewFileSource(p, FileOptions{}).Sample(2); !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Errorf("sample %q", got)
	}
	// An empty live file: the newest rotated copy shows the format.
	os.WriteFile(p, nil, 0o644)
	os.WriteFile(p+".1", []byte("rotated\n"), 0o644)
	if got := NewFileSource(p, FileOptions{}).Sample(5); !reflect.DeepEqual(got, []string{"rotated"}) {
		t.Errorf("sample %q", got)
	}
	_, err := collect(t, NewFileSource(dir, FileOptions{Poll: true}), 0)
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}
