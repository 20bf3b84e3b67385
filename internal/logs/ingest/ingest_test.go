package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// testParser understands "TIME ADDR METHOD PATH STATUS" (kind http) and,
// as format "tmail", "TIME mail ADDR ACTION" (kind mail): just enough to
// test the pipeline without depending on the real parsers.
type testParser struct{ mail bool }

func (p testParser) Parse(line string, ev *logs.Event) error {
	*ev = logs.Event{}
	f := strings.Fields(line)
	if len(f) == 0 {
		return logs.Malformed("empty line")
	}
	t, err := time.Parse(time.RFC3339, f[0])
	if err != nil {
		return logs.Malformed("bad timestamp")
	}
	ev.Time = t.UTC()
	if p.mail {
		if len(f) != 4 || f[1] != "mail" {
			return logs.Malformed("not mail")
		}
		a, err := netip.ParseAddr(f[2])
		if err != nil {
			return logs.Malformed("bad client address")
		}
		ev.Src, ev.Kind, ev.Mail.Action, ev.Mail.Program = a, logs.KindMail, f[3], "tmail"
		return nil
	}
	if len(f) != 5 {
		return logs.Malformed("wrong field count")
	}
	a, err := netip.ParseAddr(f[1])
	if err != nil {
		return logs.Malformed("bad client address")
	}
	ev.Src, ev.Kind, ev.HTTP.Method, ev.HTTP.Path = a, logs.KindHTTP, f[2], f[3]
	fmt.Sscan(f[4], &ev.HTTP.Status)
	return nil
}

var testFormats = []logs.Format{
	{Name: "thttp", Kind: logs.KindHTTP, New: func(logs.Options) logs.Parser { return testParser{} }},
	{Name: "tmail", Kind: logs.KindMail, New: func(logs.Options) logs.Parser { return testParser{mail: true} }},
	{Name: "tcustom", Kind: logs.KindHTTP, NeedsLogFormat: true, New: func(logs.Options) logs.Parser { return testParser{} }},
}

// memSink keeps copies of what it is given.
type memSink struct {
	mu        sync.Mutex
	events    []logs.Event
	malformed []string
	errs      []string
	calls     int
	largest   int // the longest batch
}

func (s *memSink) AddEvents(b []logs.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) > max(BatchSize, backfillBatch) {
		panic("batch too large")
	}
	s.largest = max(s.largest, len(b))
	s.calls++
	s.events = append(s.events, b...)
}

func (s *memSink) AddMalformed(source string, no int64, reason, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.malformed = append(s.malformed, fmt.Sprintf("%s:%d: %s", filepath.Base(source), no, reason))
}

func (s *memSink) SourceError(source, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, msg)
}

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events) + len(s.malformed)
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func httpLines(n int, from time.Time) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s 192.0.2.%d GET /page/%d 200\n", from.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i%250+1, i)
	}
	return b.String()
}

func mailLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s mail 2001:db8::%x reject\n", t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
	}
	return b.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunManySources follows two files of different formats and a stream
// at once: each event carries its source and line number, each source gets
// its own format.
func TestRunManySources(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "access.log")
	mail := filepath.Join(dir, "mail.log")
	write(t, web, httpLines(300, t0)+"garbage line\n")
	write(t, mail, mailLines(120))
	stream := logs.NewReaderSource("stream", strings.NewReader(httpLines(40, t0)))
	cfg := Config{FromStart: true, Poll: true, Formats: testFormats, Stats: NewStats()}
	srcs, err := Open([]string{web, mail}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srcs = append(srcs, stream)
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, srcs, cfg, sink) }()
	waitFor(t, "all lines", func() bool { return sink.count() == 301+120+40 })
	// Lines appended later arrive too.
	f, _ := os.OpenFile(web, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(httpLines(1, t0.Add(time.Hour)))
	f.Close()
	waitFor(t, "the appended line", func() bool { return sink.count() == 302+120+40 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	per := map[string][]int64{}
	for _, ev := range sink.events {
		per[ev.Source] = append(per[ev.Source], ev.LineNo)
		want := map[string]string{web: "thttp", mail: "tmail", "stream": "thttp"}[ev.Source]
		if ev.Format != want {
			t.Fatalf("%s line %d: format %q, want %q", ev.Source, ev.LineNo, ev.Format, want)
		}
		if ev.Line == "" || ev.Time.IsZero() {
			t.Fatalf("event without line or time: %+v", ev)
		}
	}
	for src, n := range map[string]int{web: 301, mail: 120, "stream": 40} {
		nos := per[src]
		sort.Slice(nos, func(i, j int) bool { return nos[i] < nos[j] })
		if len(nos) != n {
			t.Errorf("%s: %d events, want %d", src, len(nos), n)
			continue
		}
		for i, no := range nos {
			want := int64(i + 1)
			if src == web && i == 300 {
				want = 302 // line 301 is the garbage one
			}
			if no != want {
				t.Errorf("%s: event %d has line %d", src, i, no)
				break
			}
		}
	}
	if len(sink.malformed) != 1 || sink.malformed[0] != "access.log:301: bad timestamp" {
		t.Errorf("malformed %q", sink.malformed)
	}
	st := cfg.Stats.Snapshot()
	if len(st) != 3 || st[0].Format != "thttp" || st[0].Lines != 302 || st[0].Malformed != 1 || st[1].Format != "tmail" {
		t.Errorf("stats %+v", st)
	}
}

// TestRunBatches checks the batch limits: a flood goes in batches of at
// most BatchSize, and a lone line is delivered without waiting for more.
func TestRunBatches(t *testing.T) {
	r, w, _ := os.Pipe()
	cfg := Config{Formats: testFormats, Format: "thttp"}
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []logs.Source{logs.NewReaderSource("pipe", r)}, cfg, sink) }()
	w.WriteString(httpLines(1000, t0))
	waitFor(t, "the flood", func() bool { return sink.count() == 1000 })
	sink.mu.Lock()
	if sink.calls < 4 || sink.largest > BatchSize {
		t.Errorf("1000 events in %d calls, the longest of %d", sink.calls, sink.largest)
	}
	sink.mu.Unlock()
	w.WriteString(httpLines(1, t0))
	start := time.Now()
	waitFor(t, "one more line", func() bool { return sink.count() == 1001 })
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a lone line took %v", d)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestRunSince drops events older than the cutoff, reading rotated copies.
func TestRunSince(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	now := t0.Add(10 * time.Hour)
	// Rotated copy: 100 lines from t0 (older than 2h), 100 from now-1h.
	write(t, live+".1", httpLines(100, t0)+httpLines(100, now.Add(-time.Hour)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(httpLines(50, now.Add(-90*time.Minute))))
	zw.Close()
	write(t, live+".2.gz", gz.String())
	write(t, live, httpLines(10, now.Add(-time.Minute)))
	cfg := Config{Since: 2 * time.Hour, Poll: true, Formats: testFormats, Stats: NewStats(),
		Options: logs.Options{Now: func() time.Time { return now }}}
	srcs, err := Open([]string{live}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, srcs, cfg, sink) }()
	waitFor(t, "lines", func() bool {
		for _, s := range cfg.Stats.Snapshot() {
			if s.Lines == 260 {
				return true
			}
		}
		return false
	})
	cancel()
	<-done
	if len(sink.events) != 160 {
		t.Fatalf("%d events kept, want 160", len(sink.events))
	}
	sources := map[string]int{}
	for _, ev := range sink.events {
		sources[filepath.Base(ev.Source)]++
		if ev.Time.Before(now.Add(-2 * time.Hour)) {
			t.Fatalf("old event kept: %v", ev.Time)
		}
	}
	if sources["access.log.2.gz"] != 50 || sources["access.log.1"] != 100 || sources["access.log"] != 10 {
		t.Errorf("events per file %v", sources)
	}
	if st := cfg.Stats.Snapshot(); st[0].Skipped != 100 {
		t.Errorf("stats %+v", st)
	}
}

func TestRunBadFormat(t *testing.T) {
	for _, c := range []Config{{Format: "nope"}, {Format: "tcustom"}, {Format: "thttp", LogFormat: "%h"}} {
		c.Formats = testFormats
		if err := Run(context.Background(), nil, c, &memSink{}); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	c := Config{LogFormat: "%h %t", Formats: testFormats}
	if err := Run(context.Background(), nil, c, &memSink{}); err != nil {
		t.Errorf("--log-format alone: %v", err)
	}
}

func TestRunUndetectable(t *testing.T) {
	cfg := Config{Formats: testFormats}
	sink := &memSink{}
	in := "nonsense\nmore nonsense\n" + httpLines(3, t0)
	if err := Run(context.Background(), []logs.Source{logs.NewReaderSource("x", strings.NewReader(in))}, cfg, sink); err != nil {
		t.Fatal(err)
	}
	// Detection over the whole (short) stream picks thttp; the two junk
	// lines are malformed for it.
	if len(sink.events) != 3 || len(sink.malformed) != 2 {
		t.Errorf("%d events, malformed %q", len(sink.events), sink.malformed)
	}
	sink = &memSink{}
	if err := Run(context.Background(), []logs.Source{logs.NewReaderSource("x", strings.NewReader("a\nb\n"))}, cfg, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.malformed) != 2 || !strings.HasSuffix(sink.malformed[0], ReasonUnknownFormat) {
		t.Errorf("malformed %q", sink.malformed)
	}
}

func TestRunCommandSourceError(t *testing.T) {
	src, err := logs.NewCommandSource("cat /nonexistent/irtui")
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := Run(context.Background(), []logs.Source{src}, Config{Formats: testFormats}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.errs) != 1 || !strings.Contains(sink.errs[0], "cat exited") {
		t.Errorf("errors %q", sink.errs)
	}
}

func TestOpenNamesEveryKindOfSource(t *testing.T) {
	srcs, err := Open([]string{"-", "ssh://deploy@web1:2222/var/log/nginx/access.log", "/var/log/mail.log"},
		[]string{"journalctl -f -o short-iso -u postfix"}, Config{SSHArgs: []string{"-F", "/dev/null"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name())
	}
	got := strings.Join(names, " | ")
	for _, want := range []string{"-", "web1", "/var/log/mail.log", "journalctl"} {
		if !strings.Contains(got, want) {
			t.Fatalf("sources %q lack %q", got, want)
		}
	}
	if _, err := Open([]string{"ssh://-oProxyCommand=x/etc/passwd"}, nil, Config{}); err == nil {
		t.Fatal("an ssh host that looks like an option was accepted")
	}
}
