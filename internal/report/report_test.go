package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/loggen"
	"github.com/irtui/irtui/internal/testkit"
)

type result struct {
	Lines     int64            `json:"lines"`
	Parsed    int64            `json:"parsed"`
	Malformed int64            `json:"malformed"`
	Formats   map[string]int64 `json:"formats"`
	From, To  time.Time
	Newest    time.Time `json:"newest"`
	Emitted   time.Time `json:"emitted"`
	Total     struct {
		Events, Bytes int64
	} `json:"total"`
	Sources []struct {
		IP     string `json:"ip"`
		Events int64  `json:"events"`
		Bytes  int64  `json:"bytes"`
		Prefix string `json:"prefix"`
		ASN    uint32 `json:"asn"`
		First  time.Time
		Last   time.Time
	} `json:"sources"`
	Codes []struct {
		Key    string `json:"key"`
		Events int64  `json:"events"`
		Bytes  int64  `json:"bytes"`
	} `json:"status_codes"`
	Pages []struct {
		Vhost, Path   string
		Events, Bytes int64
		Sources       int
	} `json:"pages"`
	Mail struct {
		Actions []struct {
			Key    string `json:"key"`
			Events int64  `json:"events"`
		} `json:"actions"`
	} `json:"mail"`
	Findings []struct {
		Kind     string   `json:"kind"`
		Severity string   `json:"severity"`
		Summary  string   `json:"summary"`
		Targets  []string `json:"targets"`
		Evidence []struct {
			Label string `json:"label"`
			Count int64  `json:"count"`
		} `json:"evidence"`
	} `json:"findings"`
}

func runJSON(t *testing.T, o Options) (result, map[string]json.RawMessage) {
	t.Helper()
	var out, errb bytes.Buffer
	o.JSON, o.Out, o.Err = true, &out, &errb
	if o.Config.Windows == nil {
		o.Config = analyze.DefaultConfig()
	}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("report: %v (%s)", err, errb.String())
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report JSON: %v", err)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(out.Bytes(), &raw)
	return r, raw
}

// TestApacheCountsMatchIndependentCounts compares the report with counts
// made here by splitting each line on its quotes.
func TestApacheCountsMatchIndependentCounts(t *testing.T) {
	path := testkit.Fixture(t, "elastic-examples/common-data-formats/apache_logs/apache_logs")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]int64{}
	bytesByStatus := map[string]int64{}
	byIP := map[string]int64{}
	bytesByIP := map[string]int64{}
	var lines, totalBytes int64
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		lines++
		ip := l[:strings.IndexByte(l, ' ')]
		parts := strings.Split(l, "\"")
		f := strings.Fields(parts[2])          // ` 200 203023 `
		n, _ := strconv.ParseInt(f[1], 10, 64) // "-" counts as 0
		byStatus[f[0]]++
		bytesByStatus[f[0]] += n
		byIP[ip]++
		bytesByIP[ip] += n
		totalBytes += n
	}
	r, raw := runJSON(t, Options{Paths: []string{path}, Top: 5000})
	for _, k := range []string{"lines", "parsed", "malformed", "formats", "from", "to", "sources", "prefixes", "ases", "pages", "clusters", "mail", "dns", "findings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
	}
	if r.Lines != lines || r.Parsed != lines || r.Malformed != 0 || r.Formats["combined"] != lines {
		t.Errorf("lines %d parsed %d malformed %d formats %v; want %d lines all combined", r.Lines, r.Parsed, r.Malformed, r.Formats, lines)
	}
	if r.Total.Events != lines || r.Total.Bytes != totalBytes {
		t.Errorf("total %d events %d bytes, want %d and %d", r.Total.Events, r.Total.Bytes, lines, totalBytes)
	}
	if len(r.Codes) != len(byStatus) {
		t.Errorf("%d status codes, want %d", len(r.Codes), len(byStatus))
	}
	for _, c := range r.Codes {
		if c.Events != byStatus[c.Key] || c.Bytes != bytesByStatus[c.Key] {
			t.Errorf("status %s: %d events %d bytes, want %d and %d", c.Key, c.Events, c.Bytes, byStatus[c.Key], bytesByStatus[c.Key])
		}
	}
	if len(r.Sources) != len(byIP) {
		t.Errorf("%d sources, want %d", len(r.Sources), len(byIP))
	}
	for i, s := range r.Sources {
		if s.Events != byIP[s.IP] || s.Bytes != bytesByIP[s.IP] {
			t.Errorf("source %s: %d events %d bytes, want %d and %d", s.IP, s.Events, s.Bytes, byIP[s.IP], bytesByIP[s.IP])
		}
		if i > 0 && s.Events > r.Sources[i-1].Events {
			t.Errorf("sources not sorted by events at %d", i)
		}
		if s.Prefix == "" || s.First.IsZero() || s.Last.Before(s.First) {
			t.Errorf("source row %+v", s)
		}
	}
}

// TestMailCountsMatchGrep checks the mail table against grep-style counts
// of a real Postfix log.
func TestMailCountsMatchGrep(t *testing.T) {
	path := testkit.Fixture(t, "real-mail/louisitvn-pflgviewer/postfix.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bounced := int64(strings.Count(string(data), "status=bounced"))
	r, _ := runJSON(t, Options{Paths: []string{path}, Top: 100})
	var got int64
	for _, a := range r.Mail.Actions {
		if a.Key == "bounced" {
			got = a.Events
		}
	}
	if got != bounced {
		t.Errorf("bounced %d, grep counts %d", got, bounced)
	}
}

func genLog(t *testing.T, c loggen.AccessLog) (string, loggen.Truth) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "access.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := loggen.WriteAccessLog(f, c)
	if err != nil {
		t.Fatal(err)
	}
	return p, tr
}

func TestGeneratedLog(t *testing.T) {
	c := loggen.DefaultAccessLog()
	c.Lines = 60000
	path, tr := genLog(t, c)
	r, _ := runJSON(t, Options{Paths: []string{path}, Top: 50})
	if r.Parsed != int64(tr.Lines) || r.Malformed != 0 {
		t.Fatalf("parsed %d malformed %d of %d generated lines", r.Parsed, r.Malformed, tr.Lines)
	}
	if len(r.Findings) != 0 {
		t.Errorf("benign generated log raised %+v", r.Findings)
	}
	c.Attacks = []string{loggen.AttackPageFlood, loggen.AttackLogin, loggen.AttackScanner}
	c.Lines, c.AttackFrom, c.AttackShare = 200000, 0.9, 0.6
	path, tr = genLog(t, c)
	r, _ = runJSON(t, Options{Paths: []string{path}, Top: 50})
	got := map[string]bool{}
	for _, f := range r.Findings {
		got[f.Kind] = true
		if f.Kind == "page_flood" && !strings.Contains(f.Summary, "hero-summer.jpg") && !strings.Contains(f.Summary, "/product/1337") {
			t.Errorf("page flood on a page the botnet did not hit: %s", f.Summary)
		}
		if f.Kind == "page_flood" {
			bots := map[string]bool{}
			for _, ip := range tr.Attackers[loggen.AttackPageFlood] {
				bots[ip] = true
			}
			hit := 0
			for _, tg := range f.Targets {
				if bots[tg] {
					hit++
				}
			}
			// How many cluster members a flood names depends on the order
			// parallel chunks arrive in (78 to 130 here); what must hold is
			// that it names many and that nearly all of them are bots.
			if hit < 60 || hit < len(f.Targets)*95/100 {
				t.Errorf("page flood targets: %d of %d are bots, want ≥ 60 and ≥ 95%%", hit, len(f.Targets))
			}
		}
	}
	for _, k := range []string{"page_flood", "http_bruteforce", "scanner"} {
		if !got[k] {
			t.Errorf("no %s finding in %+v", k, r.Findings)
		}
	}
}

// TestTextIsSanitized feeds escape sequences through user agents and paths.
func TestTextIsSanitized(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	var b []byte
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	web := loggen.NewWeb(3, 10, 0)
	for i := 0; i < 50; i++ {
		r := web.Benign(at.Add(time.Duration(i) * time.Second))
		r.UA = "evil\x1b]0;pwned\x07\x1b[2J"
		r.Path = "/x\x1b[31mred"
		b = loggen.AppendCombined(b, &r)
	}
	os.WriteFile(p, b, 0o644)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), Options{Paths: []string{p}, Config: analyze.DefaultConfig(), Out: &out, Err: &errb}); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07") {
		t.Errorf("text report carries control characters:\n%q", out.String())
	}
	if !strings.Contains(out.String(), "Pages") || !strings.Contains(out.String(), "Findings") {
		t.Errorf("text report lacks its tables:\n%s", out.String())
	}
	out.Reset()
	if err := Run(context.Background(), Options{Paths: []string{p}, JSON: true, Config: analyze.DefaultConfig(), Out: &out, Err: &errb}); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07") {
		t.Errorf("JSON report carries raw control characters")
	}
}

func TestMissingFile(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), Options{Paths: []string{filepath.Join(t.TempDir(), "none.log")}, Config: analyze.DefaultConfig(), Out: &out, Err: &errb})
	if err != ErrNoInput {
		t.Errorf("err %v, want ErrNoInput", err)
	}
	if !strings.Contains(errb.String(), "none.log") {
		t.Errorf("stderr %q does not name the file", errb.String())
	}
}

// TestFollow appends to a file while report --follow runs and reads the
// JSON snapshots it prints.
func TestFollow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pr, pw, _ := os.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Paths: []string{p}, JSON: true, Follow: true, Interval: 100 * time.Millisecond, Top: 5,
			Config: analyze.DefaultConfig(), Out: pw, Err: os.Stderr})
		pw.Close()
	}()
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	web := loggen.NewWeb(5, 100, 0.1)
	var b []byte
	for i := 0; i < 500; i++ {
		r := web.Benign(time.Now())
		b = loggen.AppendCombined(b, &r)
	}
	time.Sleep(300 * time.Millisecond)
	f.Write(b)
	f.Close()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	deadline := time.After(20 * time.Second)
	seen := false
	for !seen {
		lineCh := make(chan bool, 1)
		go func() { lineCh <- sc.Scan() }()
		select {
		case ok := <-lineCh:
			if !ok {
				t.Fatal("report ended early")
			}
			var r result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("follow output is not one JSON object per line: %v", err)
			}
			if r.Emitted.IsZero() {
				t.Fatal("snapshot without emitted time")
			}
			if r.Parsed == 500 {
				seen = true
				if r.Newest.IsZero() || time.Since(r.Newest) > time.Minute {
					t.Errorf("newest %v", r.Newest)
				}
			}
		case <-deadline:
			t.Fatal("the 500 appended lines never showed in a snapshot")
		}
	}
	cancel()
	go func() {
		for sc.Scan() {
		}
	}()
	if err := <-done; err != nil {
		t.Errorf("follow: %v", err)
	}
}
