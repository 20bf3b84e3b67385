package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

func fixturesRoot(t testing.TB) string           { return testkit.Fixtures(t) }
func fixtureDir(t testing.TB, rel string) string { return testkit.Fixture(t, rel) }

// TestJSONContract pins the `irtui parse` output byte for byte: tools
// outside irtui read it.
func TestJSONContract(t *testing.T) {
	tm := time.Date(2024, 1, 31, 18, 59, 49, 0, time.FixedZone("x", 3600))
	cases := []struct {
		name string
		ev   logs.Event
		want string
	}{
		{"http", logs.Event{LineNo: 7, Format: "combined", Kind: logs.KindHTTP, Time: tm, Src: netip.MustParseAddr("2001:db8::1"),
			HTTP: logs.HTTPFields{Method: "GET", Path: "/a\"b", Query: "q=1", Status: 404, Bytes: 0, Vhost: "example.org", UA: "curl/8\x1b[31m", Referer: "-"}},
			`{"line":7,"file":"f.log","format":"combined","kind":"http","time":"2024-01-31T17:59:49Z","src":"2001:db8::1","method":"GET","path":"/a\"b","query":"q=1","status":404,"bytes":0,"vhost":"example.org","ua":"curl/8\u001b[31m","referer":"-"}`},
		{"http error log", logs.Event{LineNo: 1, Format: "apache-error", Kind: logs.KindHTTP, Time: tm, Src: netip.MustParseAddr("192.0.2.9"),
			HTTP: logs.HTTPFields{Action: logs.WebAuthFail, Level: "error", Module: "auth_basic", Message: "user x: auth failure"}},
			`{"line":1,"file":"f.log","format":"apache-error","kind":"http","time":"2024-01-31T17:59:49Z","src":"192.0.2.9","action":"auth_fail","level":"error","module":"auth_basic","message":"user x: auth failure"}`},
		{"mail", logs.Event{LineNo: 2, Format: "postfix", Kind: logs.KindMail, Time: tm.Add(500 * time.Millisecond),
			Mail: logs.MailFields{Program: "postfix/qmgr", Action: logs.ActQueued, From: "a@example.org", QueueID: "ABC123", Size: 1234, NRcpt: 2}},
			`{"line":2,"file":"f.log","format":"postfix","kind":"mail","time":"2024-01-31T17:59:49.5Z","program":"postfix/qmgr","action":"queued","from":"a@example.org","queue_id":"ABC123","size":1234,"nrcpt":2}`},
		{"mail reject", logs.Event{LineNo: 3, Format: "postfix", Kind: logs.KindMail, Time: tm, Src: netip.MustParseAddr("203.0.113.5"),
			Mail: logs.MailFields{Program: "postfix/smtpd", Action: logs.ActReject, Reason: "relay_denied", From: "x@y", To: "z@w", Helo: "h", SASLUser: "u", Relay: "r", DSN: "5.7.1"}},
			`{"line":3,"file":"f.log","format":"postfix","kind":"mail","time":"2024-01-31T17:59:49Z","src":"203.0.113.5","program":"postfix/smtpd","action":"reject","reason":"relay_denied","from":"x@y","to":"z@w","helo":"h","sasl_user":"u","relay":"r","dsn":"5.7.1"}`},
		{"dns", logs.Event{LineNo: 4, Format: "bind", Kind: logs.KindDNS, Time: tm, Src: netip.MustParseAddr("198.51.100.1"),
			DNS: logs.DNSFields{QName: "example.org", QType: "ANY", RD: true}},
			`{"line":4,"file":"f.log","format":"bind","kind":"dns","time":"2024-01-31T17:59:49Z","src":"198.51.100.1","qname":"example.org","qtype":"ANY","rd":true,"denied":false}`},
	}
	for _, c := range cases {
		got := string(AppendJSON(nil, &c.ev, "f.log"))
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(got), &m); err != nil {
			t.Errorf("%s: not JSON: %v", c.name, err)
		}
	}
	got := string(AppendJSONError(nil, 9, "-", "no timestamp"))
	if want := `{"line":9,"file":"-","error":"no timestamp"}`; got != want {
		t.Errorf("error object %s, want %s", got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	cases := map[string]string{
		"plain":            `"plain"`,
		"\x00\x1f\x7f":     `"\u0000\u001f\u007f"`,
		"a\tb\nc\rd":       `"a\tb\nc\rd"`,
		"\xc2\x9b31m":      `"\u009b31m"`, // C1 CSI
		"bad \xff\xfe end": `"bad \ufffd\ufffd end"`,
		"\u2028\u2029":     `"\u2028\u2029"`,
		"héllo ✓":          `"héllo ✓"`,
		`\"`:               `"\\\""`,
	}
	for in, want := range cases {
		if got := string(AppendJSONString(nil, in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("\x1b[2J\xff\u2028\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, out, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want && !invalidRunsDiffer(s) {
			t.Fatalf("%q round-trips to %q", s, back)
		}
		for _, c := range out {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("raw control byte in %q", out)
			}
		}
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 in %q", out)
		}
	})
}

// invalidRunsDiffer: ToValidUTF8 folds a run of bad bytes into one U+FFFD,
// the encoder (like encoding/json) writes one per byte.
func invalidRunsDiffer(s string) bool { return !utf8.ValidString(s) }

// parseOut runs Parse and returns its lines.
func parseOut(t *testing.T, paths []string, cfg Config, workers int) ([]string, *Summary) {
	t.Helper()
	var out bytes.Buffer
	var fails []string
	sum, err := Parse(context.Background(), paths, cfg, workers, &out, func(n string, err error) { fails = append(fails, err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if len(fails) > 0 {
		t.Fatalf("failures: %q", fails)
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"), sum
}

// TestParseOrder feeds files large enough for many chunks through several
// workers: output stays in input order with each file's line numbers, gzip
// is read, CRLF dropped, and a line longer than the limit is cut and counted.
func TestParseOrder(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	b := filepath.Join(dir, "b.log.gz")
	c := filepath.Join(dir, "c.log")
	bigA := httpLines(60000, t0) // ~3.5 MB: several chunks
	write(t, a, bigA)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(mailLines(20000)))
	zw.Close()
	write(t, b, gz.String())
	long := strings.Repeat("x", 3*chunkSize) // longer than a whole chunk
	mid := strings.Repeat("y", logs.MaxLineBytes+5)
	write(t, c, strings.ReplaceAll(httpLines(3, t0), "\n", "\r\n")+long+"\n"+mid+"\n"+httpLines(2, t0)+"no newline at end")

	for _, workers := range []int{1, 3} {
		lines, sum := parseOut(t, []string{a, b, c}, Config{Formats: testFormats}, workers)
		if len(lines) != 60000+20000+8 {
			t.Fatalf("%d output lines", len(lines))
		}
		files := []string{a, b, c}
		starts := []int{0, 60000, 80000}
		for i, l := range lines {
			var o struct {
				Line  int64
				File  string
				Error string
				Kind  string
			}
			if err := json.Unmarshal([]byte(l), &o); err != nil {
				t.Fatalf("line %d: %v: %s", i, err, l)
			}
			fi := 0
			for fi+1 < len(starts) && i >= starts[fi+1] {
				fi++
			}
			if o.File != files[fi] || o.Line != int64(i-starts[fi]+1) {
				t.Fatalf("output %d is %s:%d, want %s:%d", i, o.File, o.Line, files[fi], i-starts[fi]+1)
			}
		}
		if !strings.Contains(lines[80000], `"status":200`) {
			t.Errorf("CRLF line not parsed: %s", lines[80000])
		}
		tot := sum.Totals()
		if tot.Truncated != 2 || tot.Lines != 80008 || tot.Malformed != 3 {
			t.Errorf("totals %+v", tot)
		}
		if sum.Files[0].Format != "thttp" || sum.Files[1].Format != "tmail" || sum.Files[2].Format != "thttp" {
			t.Errorf("formats %s %s %s", sum.Files[0].Format, sum.Files[1].Format, sum.Files[2].Format)
		}
	}
}

func TestParseStdinAndErrors(t *testing.T) {
	cfg := Config{Formats: testFormats}
	var out bytes.Buffer
	var fails []string
	old := os.Stdin
	r, w, _ := os.Pipe()
	os.Stdin = r
	defer func() { os.Stdin = old }()
	go func() { w.WriteString(httpLines(5, t0)); w.Close() }()
	_, err := Parse(context.Background(), []string{"-", "/nonexistent/x.log"}, cfg, 2, &out, func(n string, err error) { fails = append(fails, err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"file":"-"`); n != 5 {
		t.Errorf("%d lines from stdin", n)
	}
	if len(fails) != 1 || !strings.Contains(fails[0], "no such file") {
		t.Errorf("failures %q", fails)
	}
}

func TestSummaryText(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	write(t, a, httpLines(3, t0)+"junk\n"+mailLines(2))
	sum, err := Summarize(context.Background(), []string{a}, Config{Formats: testFormats}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	sum.WriteText(&b)
	want := fmt.Sprintf(`6 lines, 3 events, 3 malformed (50.00%%), 0 truncated

file%s  format  lines  malformed
%s  thttp       6          3

format  lines
thttp       3

kind  lines
http      3

action        lines
http/request      3

malformed reason   lines
wrong field count      2
bad timestamp          1
`, strings.Repeat(" ", len(a)-4), a)
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestBackfillCounts reads the seven real rotated days in parallel.
func TestBackfillCounts(t *testing.T) {
	dir := fixtureDir(t, "real-web/wekilos-BPlogs")
	paths, _ := filepath.Glob(filepath.Join(dir, "access.log.*.gz"))
	if len(paths) != 7 {
		t.Fatalf("%d files", len(paths))
	}
	sink := &countSink{}
	st := NewStats()
	if err := Backfill(context.Background(), paths, Config{Stats: st}, 2, sink); err != nil {
		t.Fatal(err)
	}
	var lines int64
	for _, s := range st.Snapshot() {
		lines += s.Lines
		if s.Format != "combined" {
			t.Errorf("%s: format %q", s.Source, s.Format)
		}
	}
	if lines != 289272 || sink.events+sink.malformed != 289272 {
		t.Errorf("%d lines, %d events + %d malformed; want 289272", lines, sink.events, sink.malformed)
	}
}

// TestBackfillLineNumbers checks that parallel workers keep each file's
// line numbers and deliver every line once.
func TestBackfillLineNumbers(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	write(t, a, httpLines(50000, t0))
	sink := &memSink{}
	if err := Backfill(context.Background(), []string{a, a}, Config{Formats: testFormats}, 4, sink); err != nil {
		t.Fatal(err)
	}
	seen := make([]int, 50001)
	for _, ev := range sink.events {
		seen[ev.LineNo]++
		want := fmt.Sprintf("/page/%d", ev.LineNo)
		if ev.HTTP.Path != want || ev.Source != a {
			t.Fatalf("line %d has path %s", ev.LineNo, ev.HTTP.Path)
		}
	}
	for i := 1; i <= 50000; i++ {
		if seen[i] != 2 {
			t.Fatalf("line %d seen %d times", i, seen[i])
		}
	}
}

type countSink struct {
	mu                sync.Mutex
	events, malformed int
}

func (s *countSink) AddEvents(b []logs.Event) {
	s.mu.Lock()
	s.events += len(b)
	s.mu.Unlock()
}
func (s *countSink) AddMalformed(string, int64, string, string) {
	s.mu.Lock()
	s.malformed++
	s.mu.Unlock()
}
func (s *countSink) SourceError(string, string) {}

// TestParseRealFixtures runs the real parsers over the real logs: one
// valid JSON object per line, each either an event with the fields every
// object has or an error.
func TestParseRealFixtures(t *testing.T) {
	var paths []string
	for _, g := range []string{"real-mail/*/*", "real-dns/*/*.log", "elastic-examples/common-data-formats/apache_logs/apache_logs"} {
		m, _ := filepath.Glob(filepath.Join(fixturesRoot(t), g))
		paths = append(paths, m...)
	}
	var out bytes.Buffer
	sum, err := Parse(context.Background(), paths, Config{}, 2, &out, func(n string, err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	tot := sum.Totals()
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := int64(0)
	for sc.Scan() {
		n++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("invalid JSON: %v: %s", err, sc.Text())
		}
		keys := []string{"line", "file", "error"}
		if _, bad := m["error"]; !bad {
			keys = []string{"line", "file", "format", "kind", "time"}
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("no %q in %s", k, sc.Text())
			}
		}
	}
	if n != tot.Lines {
		t.Errorf("%d objects for %d lines", n, tot.Lines)
	}
	if float64(tot.Events) < 0.995*float64(tot.Lines) {
		t.Errorf("only %d of %d lines parsed", tot.Events, tot.Lines)
	}
	if !reflect.DeepEqual(len(sum.Files), len(paths)) {
		t.Errorf("%d files summarised", len(sum.Files))
	}
}
