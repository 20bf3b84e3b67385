package remote

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

func TestParseURL(t *testing.T) {
	ok := []struct {
		in   string
		want URL
	}{
		{"ssh://web1/var/log/nginx/access.log", URL{Host: "web1", Path: "/var/log/nginx/access.log"}},
		{"ssh://deploy@web1.example.org:2222/var/log/mail.log", URL{User: "deploy", Host: "web1.example.org", Port: 2222, Path: "/var/log/mail.log"}},
		{"ssh://[2001:db8::7]:22/log", URL{Host: "2001:db8::7", Port: 22, Path: "/log"}},
		{"ssh://192.0.2.7/var/log/with space.log", URL{Host: "192.0.2.7", Path: "/var/log/with space.log"}},
	}
	for _, c := range ok {
		got, err := ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if again, err := ParseURL(got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", c.in, again, err)
		}
	}
	for _, bad := range []string{"web1/var/log", "ssh://web1", "ssh://-oProxyCommand=x/log", "ssh://u:pw@web1/log",
		"ssh://web1:0/log", "ssh://::1/", "ssh://[fe80::1%25eth0]/x", "ssh://web1:99999/log", "ssh://we;b1/log", "ssh://web1/log\nx", "ssh://-l@web1/log", "ssh:///log"} {
		if u, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted: %+v", bad, u)
		}
	}
}

func TestSSHArgs(t *testing.T) {
	u, _ := ParseURL("ssh://deploy@web1:2222/var/log/x")
	got := strings.Join(u.sshArgs([]string{"-F", "cfg"}), " ")
	want := "-F cfg -T -o BatchMode=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ConnectTimeout=10 -p 2222 -l deploy -- web1"
	if got != want {
		t.Fatalf("ssh args:\n got %s\nwant %s", got, want)
	}
}

func TestParseHeader(t *testing.T) {
	h, ok := parseHeader("irtui-remote 1 2049:131 1234 56 1")
	if !ok || h != (header{ident: "2049:131", start: 1234, old: 56, found: true}) {
		t.Fatalf("%+v %v", h, ok)
	}
	for _, bad := range []string{"", "irtui-remote 2 1:2 0 0 1", "irtui-remote 1 12 0 0 1", "irtui-remote 1 1:2 -1 0 1", "irtui-remote 1 a:b 0 0 1", "irtui-remote 1 1:2 0 1", "irtui-remote 1 1:2 0 0 2"} {
		if _, ok := parseHeader(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBackoff(t *testing.T) {
	s, _ := New("ssh://h/x", Options{MinBackoff: time.Second, MaxBackoff: 8 * time.Second})
	for attempt, base := range []time.Duration{1, 2, 4, 8, 8, 8} {
		d := s.backoff(attempt)
		lo, hi := base*time.Second*8/10, base*time.Second*12/10
		if d < lo || d > hi {
			t.Errorf("attempt %d: %s not in [%s, %s]", attempt, d, lo, hi)
		}
	}
}

// readAll runs the line splitter over data and returns the lines and the
// last committed offset.
func readAll(t testing.TB, data string, section bool) ([]logs.Line, int64) {
	s, _ := New("ssh://h/x", Options{})
	out := make(chan logs.Line, 64)
	var got []logs.Line
	done := make(chan struct{})
	go func() {
		for l := range out {
			got = append(got, l)
		}
		close(done)
	}()
	var committed int64
	var lr *io.LimitedReader
	var r io.Reader = strings.NewReader(data)
	if section {
		lr = &io.LimitedReader{R: r, N: int64(len(data))}
		r = lr
	}
	_, err := s.lines(context.Background(), bufio.NewReaderSize(r, 16), out, func(raw int64) { committed = raw }, lr)
	close(out)
	<-done
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return got, committed
}

func TestLinesCommitWholeLinesOnly(t *testing.T) {
	long := strings.Repeat("x", logs.MaxLineBytes+10)
	data := "one\r\ntwo\n" + long + "\nthree\npartial"
	got, committed := readAll(t, data, false)
	if len(got) != 4 || got[0].Text != "one" || got[1].Text != "two" || !got[2].Truncated || len(got[2].Text) != logs.MaxLineBytes || got[3].Text != "three" {
		t.Fatalf("lines: %d", len(got))
	}
	if want := int64(len(data) - len("partial")); committed != want {
		t.Fatalf("committed %d, want %d (up to the last newline)", committed, want)
	}
	for i, l := range got {
		if l.No != int64(i+1) || l.Host != "h" {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	// A bounded section (the rest of a rotated file) ends with its last
	// line even without a newline.
	got, committed = readAll(t, "a\nb", true)
	if len(got) != 2 || got[1].Text != "b" || committed != 3 {
		t.Fatalf("section: %v, %d", got, committed)
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), false)
	f.Add(bytes.Repeat([]byte("y"), 70000), true)
	f.Fuzz(func(t *testing.T, data []byte, section bool) {
		got, committed := readAll(t, string(data), section)
		want := int64(bytes.LastIndexByte(data, '\n') + 1)
		if section && len(data) > 0 {
			want = int64(len(data))
		}
		if committed != want {
			t.Fatalf("committed %d, want %d", committed, want)
		}
		for _, l := range got {
			if len(l.Text) > logs.MaxLineBytes || strings.ContainsRune(l.Text, '\n') {
				t.Fatalf("bad line of %d bytes", len(l.Text))
			}
		}
	})
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"ssh://web1/var/log/x", "ssh://u@[2001:db8::1]:22/a b", "ssh://-x/y", "ssh://h:1/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if u.Host == "" || u.Host[0] == '-' || !strings.HasPrefix(u.Path, "/") || strings.ContainsAny(u.Path, "\n\r\x00") {
			t.Fatalf("accepted %q as %+v", s, u)
		}
		again, err := ParseURL(u.String())
		if err != nil || again != u {
			t.Fatalf("round trip %q → %q: %+v %v", s, u.String(), again, err)
		}
		_ = remoteCommand(u.Path, "", "end")
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add("irtui-remote 1 2049:131 1234 56 1")
	f.Add("irtui-remote 1 :1 9999999999999999999 0 0")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := parseHeader(s)
		if ok && (h.start < 0 || h.old < 0 || !strings.Contains(h.ident, ":")) {
			t.Fatalf("%q → %+v", s, h)
		}
	})
}
