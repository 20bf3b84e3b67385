package drill

import (
	"bufio"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReplayFixture replays real Apache lines (the first 2,000 of
// elastic/examples apache_logs) at a high speed: every line arrives, in
// order, the pipeline reads them all, and 17 hours of log take seconds.
func TestReplayFixture(t *testing.T) {
	t.Parallel()
	in := filepath.Join("..", "..", "testdata", "sample-access.log")
	want, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := NewReplay([]string{in}, ReplayOptions{Speed: 1000, MaxGap: 2 * time.Millisecond, TempDir: t.TempDir(), Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := rp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := rp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Lines != 2000 || sum.Untimed != 0 || sum.Formats[0] != "combined" {
		t.Fatalf("summary %+v", sum)
	}
	if sum.From.Format(time.RFC3339) != "2015-05-17T10:05:00Z" || sum.To.Sub(sum.From) < 16*time.Hour {
		t.Fatalf("log time %s to %s", sum.From, sum.To)
	}
	if el := time.Since(t0); el > 15*time.Second {
		t.Fatalf("replay took %s", el)
	}
	got, err := os.ReadFile(rp.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("the replayed file differs from the original")
	}
	if snap := rp.Analyzer.Snapshot(); snap.Lines != 2000 || snap.Parsed != 2000 {
		t.Fatalf("pipeline read %d lines, parsed %d", snap.Lines, snap.Parsed)
	}
	var b strings.Builder
	sum.WriteText(&b)
	if !strings.Contains(b.String(), "Replayed 2000 lines of") || !strings.Contains(b.String(), "(combined)") {
		t.Fatalf("text:\n%s", b.String())
	}
}

// TestReplayTiming checks the timing: lines come at their own pace,
// compressed by Speed, and long gaps are cut to MaxGap.
func TestReplayTiming(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "access.log")
	lines := []string{
		`192.0.2.1 - - [17/May/2015:10:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "a"`,
		`192.0.2.1 - - [17/May/2015:10:00:10 +0000] "GET /a HTTP/1.1" 200 10 "-" "a"`,
		`192.0.2.2 - - [17/May/2015:10:00:20 +0000] "GET /b HTTP/1.1" 200 10 "-" "a"`,
		`192.0.2.3 - - [17/May/2015:14:00:20 +0000] "GET /c HTTP/1.1" 200 10 "-" "a"`,
	}
	os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	rp, err := NewReplay([]string{in}, ReplayOptions{Speed: 20, MaxGap: 700 * time.Millisecond, TempDir: dir, NoIngest: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	t0 := time.Now()
	rp.Start(context.Background())
	if _, err := rp.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 10 s + 10 s at 20× = 1 s, then four hours cut to 0.7 s.
	if el := time.Since(t0); el < 1600*time.Millisecond || el > 3*time.Second {
		t.Fatalf("replay took %s, want about 1.7 s", el)
	}
}

// TestReplayMergesFilesAndFindsTheAttack replays a drill's own logs
// (gzipped mail, plain web) and checks the files are merged on one clock
// and the attack's finding comes at the attack's time in the log.
func TestReplayMergesFilesAndFindsTheAttack(t *testing.T) {
	t.Parallel()
	sc, _ := Find("accidental-dos")
	sc.Duration = sc.AttackStart + 40*time.Second
	src := t.TempDir()
	g := NewGenerator(sc, src, 1000, 5)
	if err := g.Prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The mail log goes in gzipped, as a rotated copy would.
	mail, _ := os.ReadFile(filepath.Join(src, MailLog))
	gzPath := filepath.Join(src, "mail.log.1.gz")
	f, _ := os.Create(gzPath)
	zw := gzip.NewWriter(f)
	zw.Write(mail)
	zw.Close()
	f.Close()
	rp, err := NewReplay([]string{filepath.Join(src, AccessLog), gzPath}, ReplayOptions{Speed: 60, MaxGap: 100 * time.Millisecond, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if filepath.Base(rp.Files[1]) != "mail.log.1" {
		t.Fatalf("files %v", rp.Files)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	rp.Start(ctx)
	sum, err := rp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Formats, []string{"combined", "postfix"}) && !strings.HasPrefix(sum.Formats[1], "postfix") {
		t.Fatalf("formats %v", sum.Formats)
	}
	var kinds []string
	for _, f := range sum.Findings {
		kinds = append(kinds, f.Kind)
		// The page only the worm fetches; the banner customers load too
		// may be flagged briefly while the analyzer warms up.
		if f.ID == "page_flood:/img/catalog-hero.png" {
			at := f.First.Sub(g.AttackStart())
			if at < -time.Second || at > 15*time.Second { // page views stamp their assets up to a second later
				t.Errorf("page flood raised %s after the attack started: %+v", at, f)
			}
		}
	}
	if !slices.ContainsFunc(sum.Findings, func(f SeenFinding) bool { return f.ID == "page_flood:/img/catalog-hero.png" }) {
		t.Fatalf("findings %v", kinds)
	}
	got, _ := os.ReadFile(rp.Files[1])
	if string(got) != string(mail) {
		t.Fatal("the gzipped mail log was not replayed line for line")
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewReplay(nil, ReplayOptions{}); err == nil {
		t.Fatal("no files accepted")
	}
	if _, err := NewReplay([]string{filepath.Join(dir, "missing.log")}, ReplayOptions{TempDir: dir}); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Fatalf("missing file: %v", err)
	}
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("hello\x1b[31m world\nnot a log\n"), 0o600)
	_, err := NewReplay([]string{junk}, ReplayOptions{TempDir: dir})
	if err == nil || !strings.Contains(err.Error(), "cannot tell the format") {
		t.Fatalf("junk: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "irtui-replay-") {
			t.Fatalf("%s left behind after a failed start", e.Name())
		}
	}
}

func TestReadLineBounds(t *testing.T) {
	long := strings.Repeat("x", maxReplayLine*3)
	r := bufio.NewReaderSize(strings.NewReader("a\r\n"+long+"\nb"), 4096)
	var got []int
	for {
		l, ok := readLine(r)
		if !ok {
			break
		}
		got = append(got, len(l))
	}
	if !slices.Equal(got, []int{1, maxReplayLine, 1}) {
		t.Fatalf("line lengths %v", got)
	}
}

// FuzzReadLine: any input splits into lines no longer than the bound,
// which together with their ends make up the input.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"))
	f.Add([]byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(strings.NewReader(string(data)), 16)
		n := 0
		for {
			l, ok := readLine(r)
			if !ok {
				break
			}
			if len(l) > maxReplayLine {
				t.Fatalf("line of %d bytes", len(l))
			}
			n++
			if n > len(data)+1 {
				t.Fatal("more lines than bytes")
			}
		}
	})
}

// FuzzParseScenario: a scenario file never panics the loader, and a
// scenario it accepts can be generated from.
func FuzzParseScenario(f *testing.F) {
	entries, _ := scenarioFS.ReadDir("scenarios")
	for _, e := range entries {
		data, _ := scenarioFS.ReadFile("scenarios/" + e.Name())
		f.Add(data)
	}
	f.Add([]byte("name: x\ntitle: X\nduration: 2m\nattack_start: 1m\nnetworks: [{asn: 1, prefixes: [192.0.2.0/24]}]\ntraffic: [{name: a, role: attack, kind: web, what: flood, rate: 1, networks: [1]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseScenario("fuzz.yaml", data)
		if err != nil {
			return
		}
		s.ASTable()
		g := NewGenerator(s, t.TempDir(), 1, 1)
		_ = g.Attackers()
	})
}
