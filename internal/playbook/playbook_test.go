package playbook

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/audit"
	"github.com/irtui/irtui/playbooks"
)

func TestShippedPlaybooksPassCheck(t *testing.T) {
	lib, err := Load(playbooks.FS, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"backscatter", "brute-force", "distributed-flood", "mail-relay", "open-resolver", "page-flood", "syn-flood"}
	var got []string
	for _, pb := range lib.All() {
		got = append(got, pb.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("shipped playbooks = %v, want %v", got, want)
	}
}

func TestCheckNamesTheLine(t *testing.T) {
	cases := []struct {
		name, yaml string
		line       int
		msg        string
	}{
		{"unknown kind", "name: x\ntitle: X\nsteps:\n  - id: a\n    title: A\n    kind: dance\n", 6, `kind "dance"`},
		{"unknown metric", "name: x\ntitle: X\nsteps:\n  - id: a\n    title: A\n    kind: check\n    metric: vibes\n    op: '>'\n", 7, `metric "vibes"`},
		{"unknown key", "name: x\ntitle: X\nstepz: []\n", 3, "stepz"},
		{"bad port", "name: x\ntitle: X\nsteps:\n  - {id: c, title: C, kind: choose, from: sources}\n  - id: b\n    title: B\n    kind: block\n    action: drop\n    ports: [tcp/99999]\n", 9, "tcp/99999"},
		{"block before choose", "name: x\ntitle: X\nsteps:\n  - id: b\n    title: B\n    kind: block\n    action: drop\n", 4, "before any choose"},
		{"verify without timeout", "name: x\ntitle: X\nsteps:\n  - id: v\n    title: V\n    kind: verify\n    metric: total_rate_ratio\n    op: '<'\n", 4, "needs a timeout"},
		{"bad yaml", "name: x\ntitle: [\n", 2, "did not find"},
		{"unknown finding", "name: x\ntitle: X\nsuggested_by: [flod]\nsteps:\n  - {id: e, title: E, kind: explain, text: t}\n", 3, `"flod"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("accepted a broken playbook")
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("f.yaml:%d:", c.line)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q does not name line %d and %q", err, c.line, c.msg)
			}
		})
	}
}

func TestUserPlaybookOverridesBuiltin(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "page-flood.yaml"), []byte("name: page-flood\ntitle: Mine\nsteps:\n  - {id: e, title: E, kind: explain, text: hi}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: [\n"), 0o600)
	lib, err := Load(playbooks.FS, dir)
	if err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Fatalf("a broken user file was not reported: %v", err)
	}
	pb, _ := lib.Get("page-flood")
	if pb.Title != "Mine" {
		t.Fatalf("user playbook did not override the built-in one: %q", pb.Title)
	}
	if _, ok := lib.Get("mail-relay"); !ok {
		t.Fatal("built-ins lost when a user file is present")
	}
}

func TestRenderQuotesAttackerValues(t *testing.T) {
	vars := map[string]string{"targets": "192.0.2.0/24,198.51.100.7/32", "evil": "x; rm -rf / \x1b[2J'"}
	if got := Render("block {{targets}}", vars, true); got != "block 192.0.2.0/24,198.51.100.7/32" {
		t.Fatalf("safe value was quoted: %q", got)
	}
	got := Render("echo {{evil}} {{missing}}", vars, true)
	if strings.Contains(got, "\x1b") || !strings.Contains(got, `'x; rm -rf / ?[2J'\'''`) || !strings.Contains(got, "<missing?>") {
		t.Fatalf("unsafe render: %q", got)
	}
}

func TestTimelineMarkdown(t *testing.T) {
	tl := &Timeline{Path: filepath.Join(t.TempDir(), "timeline.jsonl")}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tl.AppendAt(at, EventFinding, "page flood on /img/a.jpg\x1b]0;x\x07", "")
	tl.AppendAt(at.Add(time.Minute), EventBlock, "dropped 3 prefixes", "192.0.2.0/24")
	entries, err := tl.Entries()
	if err != nil || len(entries) != 2 {
		t.Fatalf("entries %v %v", entries, err)
	}
	var b bytes.Buffer
	WriteMarkdown(&b, entries)
	out := b.String()
	for _, want := range []string{"# Incident report", "| 2026-01-02 03:04:05 |", "dropped 3 prefixes — 192.0.2.0/24", "1 block entries"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Fatal("escape sequence reached the report")
	}
}

// fakeEnv is a scenario in miniature: an attack from 192.0.2.0/24 that
// stops once it is blocked.
type fakeEnv struct {
	now     time.Time
	blocked []netip.Prefix
	reports int
}

func (e *fakeEnv) Now() time.Time             { e.now = e.now.Add(time.Second); return e.now }
func (e *fakeEnv) Values() map[string]float64 { return map[string]float64{"open_relay": 1} }
func (e *fakeEnv) Report(ctx context.Context, t []netip.Prefix, f string) (string, error) {
	e.reports++
	return fmt.Sprintf("report for %d targets", len(t)), nil
}
func (e *fakeEnv) Block(ctx context.Context, r BlockRequest) (string, error) {
	e.blocked = append(e.blocked, r.Targets...)
	return fmt.Sprintf("%s %d targets on %s", r.Action, len(r.Targets), strings.Join(r.Ports, ",")), nil
}
func (e *fakeEnv) Snapshot() *analyze.Snapshot {
	attack := 50.0
	if len(e.blocked) > 0 {
		attack = 0
	}
	p := netip.MustParsePrefix("192.0.2.0/24")
	return &analyze.Snapshot{
		Total:    analyze.Group{Rate: 10 + attack, Baseline: 10},
		IPs:      []analyze.Group{{Key: "192.0.2.9", Rate: attack, Share: 0.8, Events: 500}},
		Prefixes: []analyze.Group{{Key: "192.0.2.0/24", Prefix: p, ASN: 64500, Rate: attack, Events: 500}},
		ASes:     []analyze.Group{{Key: "AS64500", ASN: 64500, Share: 0.8, Events: 500}},
		Pages:    []analyze.Group{{Key: "shop.example/img/big.jpg", Rate: 5 + attack, Baseline: 5, Events: 600, Top: []analyze.Member{{Key: "AS64500", Events: 500}}}},
		Findings: []analyze.Finding{{ID: "f1", Kind: "distributed_flood", Targets: []netip.Prefix{p}, Ports: []string{"tcp/80"}}},
	}
}

func TestAutopilotRunsAndResumes(t *testing.T) {
	lib, _ := Load(playbooks.FS, "")
	pb, _ := lib.Get("distributed-flood")
	env := &fakeEnv{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	snap := env.Snapshot()
	run := NewRun(pb, &snap.Findings[0], env.now)
	store := &Store{Dir: t.TempDir()}
	tl := &Timeline{Path: filepath.Join(t.TempDir(), "t.jsonl")}
	if err := store.Save(run); err != nil {
		t.Fatal(err)
	}
	active, _ := store.Active()
	if len(active) != 1 || active[0].ID != run.ID {
		t.Fatalf("run not resumable: %v", active)
	}
	if err := Autopilot(context.Background(), pb, active[0], env, tl, store, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	run = active[0]
	done, skipped := run.Counts()
	if !run.Finished || done != len(pb.Steps) || skipped != 0 {
		t.Fatalf("run: finished=%v done=%d skipped=%d steps=%+v", run.Finished, done, skipped, run.Steps)
	}
	if len(env.blocked) != 1 || env.blocked[0].String() != "192.0.2.0/24" || env.reports != 1 {
		t.Fatalf("blocked %v reports %d", env.blocked, env.reports)
	}
	if active, _ := store.Active(); len(active) != 0 {
		t.Fatal("a finished run is still offered for resuming")
	}
	entries, _ := tl.Entries()
	if len(entries) < len(pb.Steps)+2 {
		t.Fatalf("timeline has %d entries", len(entries))
	}
}

func TestEveryShippedPlaybookOnAutopilot(t *testing.T) {
	lib, _ := Load(playbooks.FS, "")
	for _, pb := range lib.All() {
		t.Run(pb.Name, func(t *testing.T) {
			env := &fakeEnv{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			snap := env.Snapshot()
			run := NewRun(pb, &snap.Findings[0], env.now)
			if err := Autopilot(context.Background(), pb, run, env, nil, nil, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if !run.Finished {
				t.Fatal("did not finish")
			}
		})
	}
}

// synEnv plays the SYN-flood playbook against recorded /proc data: the
// flood fixture until a block is applied, the quiet one after.
type synEnv struct {
	fakeEnv
	flood, quiet float64
}

func (e *synEnv) Values() map[string]float64 {
	if len(e.blocked) > 0 {
		return map[string]float64{"syn_recv": e.quiet}
	}
	return map[string]float64{"syn_recv": e.flood}
}

func TestSynFloodPlaybookOnRecordedProc(t *testing.T) {
	flood, err := audit.ReadSYN("../audit/testdata/proc-flood")
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := audit.ReadSYN("../audit/testdata/proc-quiet")
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := Load(playbooks.FS, "")
	pb, _ := lib.Get("syn-flood")
	env := &synEnv{fakeEnv: fakeEnv{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, flood: float64(flood.HalfOpen), quiet: float64(quiet.HalfOpen)}
	snap := env.Snapshot()
	run := NewRun(pb, &snap.Findings[0], env.now)
	if err := Autopilot(context.Background(), pb, run, env, nil, nil, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Steps {
		if s.Status != StatusDone {
			t.Fatalf("step %s: %s (%s)", s.ID, s.Status, s.Result)
		}
		if s.ID == "halfopen" && !strings.Contains(s.Result, "yes") {
			t.Fatalf("the flood fixture did not pass the half-open check: %s", s.Result)
		}
	}
	if len(env.blocked) == 0 {
		t.Fatal("nothing was rate-limited")
	}
}
