package ui

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/irtui/irtui/internal/playbook"
)

// pbStarted is a model at w×h with the first snapshot in, runs saved in a
// temporary store and the timeline in a temporary file.
func pbStarted(t *testing.T, w, h int, edit func(*Config)) (*Model, *fakes, Config) {
	t.Helper()
	cfg, f := testConfig(ModeLive)
	dir := t.TempDir()
	cfg.Runs = &playbook.Store{Dir: filepath.Join(dir, "runs")}
	cfg.Timeline = &playbook.Timeline{Path: filepath.Join(dir, "timeline.jsonl")}
	cfg.StateDir = dir
	if edit != nil {
		edit(&cfg)
	}
	m := New(cfg)
	drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, snapMsg{cfg.Snapshot()}, blocksMsg{})
	return m, f, cfg
}

func (m *Model) runState(t *testing.T) *playbook.Run {
	t.Helper()
	r := m.playbook().run
	if r == nil {
		t.Fatal("no playbook run")
	}
	return r
}

// TestPlaybookGolden draws the Playbook screen's states at both sizes: the
// suggestions for one finding, a run at a check step, a choose step, a
// command step, a verify step, a note, the block dialog a block step
// opens, and a finished run.
func TestPlaybookGolden(t *testing.T) {
	cases := []struct {
		name string
		keys []string
	}{
		{name: "suggested_for_finding", keys: []string{"j", "enter"}},
		{name: "check", keys: []string{"8", "enter", "enter"}},
		{name: "choose", keys: []string{"8", "enter", "enter", "enter", "enter", "space"}},
		{name: "block_dialog", keys: []string{"8", "enter", "enter", "enter", "enter", "enter", "enter"}},
		{name: "command", keys: []string{"8", "G", "k", "enter", "s", "s", "s"}},
		{name: "verify", keys: []string{"8", "enter", "s", "s", "s", "s", "s", "s", "s"}},
		{name: "note", keys: []string{"8", "enter", "s", "s", "s", "s", "s", "s", "s", "s", "enter", "ctrl+u", "h", "i"}},
		{name: "finished", keys: []string{"8", "enter", "enter", "enter", "enter", "s", "s", "s", "s", "s", "s"}},
	}
	for _, sz := range goldenSizes {
		for _, c := range cases {
			t.Run(c.name+"_"+sz.name, func(t *testing.T) {
				m, _, _ := pbStarted(t, sz.w, sz.h, nil)
				for _, k := range c.keys {
					drive(t, m, press(k))
				}
				golden.RequireEqual(t, screen(m))
			})
		}
	}
}

// TestPlaybookTeatest runs the real program: the suggestion on the
// Overview, the Playbook screen, a started run at its check step with the
// live value, and a skipped step.
func TestPlaybookTeatest(t *testing.T) {
	cfg, _ := testConfig(ModeLive)
	tm := teatest.NewTestModel(t, New(cfg), teatest.WithInitialTermSize(80, 24))
	wait := func(what string) {
		t.Helper()
		var seen bytes.Buffer
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			seen.Write(b)
			return bytes.Contains(seen.Bytes(), []byte(what))
		}, teatest.WithDuration(5*time.Second))
	}
	wait("suggested playbook page-flood")
	tm.Send(press("8"))
	wait("Flood on a few pages")
	tm.Send(press("enter"))
	wait("Step 1 of 9")
	tm.Send(press("enter"))
	wait("Live: share of requests on the top 2 pages")
	tm.Send(press("s"))
	wait("skipped")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	r := m.runState(t)
	if r.Current != 2 || r.Steps[0].Status != playbook.StatusDone || r.Steps[1].Status != playbook.StatusSkipped {
		t.Fatalf("run after enter, s: current %d, steps %+v", r.Current, r.Steps[:2])
	}
}

func TestPlaybookSkipAndStop(t *testing.T) {
	m, _, _ := pbStarted(t, 80, 24, nil)
	keys(t, m, "8", "enter")
	r := m.runState(t)
	if r.Playbook != "page-flood" || r.FindingKind != "page_flood" || r.FindingID != "f1" {
		t.Fatalf("started %s for %s/%s; want page-flood for the page_flood finding f1", r.Playbook, r.FindingKind, r.FindingID)
	}
	keys(t, m, "s")
	if r.Current != 1 || r.Steps[0].Status != playbook.StatusSkipped || r.Steps[0].Result != "skipped by the operator" {
		t.Fatalf("after s: current %d, step %+v", r.Current, r.Steps[0])
	}
	mustContain(t, m, "skipped 1 why", "▶ now     2 choke", "Step 2 of 9 · check")
	// help is true to the state: no picking at a check step
	if m.playbook().keys.All.Enabled() || !m.playbook().keys.Skip.Enabled() {
		t.Fatal("a check step offers pick-all or lacks skip")
	}
	keys(t, m, "x")
	if !r.Finished || r.Current != 1 {
		t.Fatalf("x did not stop the run where it stood: %+v", r)
	}
	mustContain(t, m, "Finished", "0 done, 1 skipped, 0 failed, 8 not reached")
	keys(t, m, "enter")
	if m.playbook().run != nil {
		t.Fatal("enter on a finished run did not go back to the list")
	}
	mustContain(t, m, "Playbooks — those the active findings suggest first")
}

// TestPlaybookResume saves a run mid-way and has a new console, started
// on the same state dir, resume it at the same step.
func TestPlaybookResume(t *testing.T) {
	dir := t.TempDir()
	share := func(c *Config) {
		c.Runs = &playbook.Store{Dir: filepath.Join(dir, "runs")}
		c.Timeline = &playbook.Timeline{Path: filepath.Join(dir, "timeline.jsonl")}
	}
	m1, _, _ := pbStarted(t, 80, 24, share)
	keys(t, m1, "8", "enter", "enter", "enter", "s", "enter") // why, choke, concentrated skipped, pick
	r1 := m1.runState(t)
	if r1.Current != 4 || len(r1.Chosen) != 2 {
		t.Fatalf("first console: current %d, chosen %v", r1.Current, r1.Chosen)
	}
	saved, err := (&playbook.Store{Dir: filepath.Join(dir, "runs")}).Active()
	if err != nil || len(saved) != 1 || saved[0].Current != 4 {
		t.Fatalf("saved runs: %v, %v", saved, err)
	}

	m2, _, _ := pbStarted(t, 80, 24, share)
	drive(t, m2, run(m2.playbook().Init())...)
	r2 := m2.runState(t)
	if r2.ID != r1.ID || r2.Current != 4 || !slices.Equal(r2.Chosen, r1.Chosen) || r2.Steps[2].Status != playbook.StatusSkipped {
		t.Fatalf("resumed %+v; want %+v", r2, r1)
	}
	mustContain(t, m2, "resumed playbook page-flood at step 5/9")
	keys(t, m2, "8")
	mustContain(t, m2, "· resumed", "Step 5 of 9 · block", "Targets (2): 203.0.113.0/24 198.51.100.0/24")
	// finishing it there: the next console has nothing to resume
	keys(t, m2, "x")
	drive(t, m2) // the save ran inside keys
	m3, _, _ := pbStarted(t, 80, 24, share)
	drive(t, m3, run(m3.playbook().Init())...)
	if m3.playbook().run != nil {
		t.Fatal("a stopped run was resumed")
	}
}

// TestPlaybookBlockStep: the block step opens the existing dialog with the
// step's action, ports and TTL, shows the rules, and applying it records
// the step.
func TestPlaybookBlockStep(t *testing.T) {
	m, f, _ := pbStarted(t, 120, 40, nil)
	keys(t, m, "8", "enter", "enter", "enter", "enter", "enter")
	if st := m.playbook().step(); st == nil || st.Kind != playbook.KindBlock {
		t.Fatalf("not at the block step: %+v", st)
	}
	keys(t, m, "enter")
	if m.mode != modeDialog {
		t.Fatal("the block step did not open the dialog")
	}
	mustContain(t, m, "Block page-flood/block-clusters", "Scope   ‹ tcp/80,tcp/443 ›", "Action  ‹ drop ›", "TTL     ‹ 1h00m ›",
		"add element inet irtui block4 { 203.0.113.0/24 timeout 1h0m0s }", "covers 92% of the attack")
	keys(t, m, "esc")
	if st := m.playbook().step(); st.Kind != playbook.KindBlock {
		t.Fatal("cancelling the dialog moved the playbook on")
	}
	keys(t, m, "enter", "enter")
	r := m.runState(t)
	if r.Steps[4].Status != playbook.StatusDone || !strings.Contains(r.Steps[4].Result, "blocked 2 target(s): drop on tcp/80,tcp/443 for 1h00m") {
		t.Fatalf("block step: %+v", r.Steps[4])
	}
	if len(f.block.blocks) != 2 || f.block.blocks[0].Target != "203.0.113.0/24" || f.block.blocks[0].Ports != "tcp/80,tcp/443" {
		t.Fatalf("blocks applied: %+v", f.block.blocks)
	}
	// the rate-limit step carries its own rate into the dialog and the request
	keys(t, m, "enter") // pick-prefixes: those of the finding are pre-picked
	keys(t, m, "enter")
	mustContain(t, m, "Action  ‹ ratelimit 10/second ›")
	keys(t, m, "enter")
	if n := len(f.block.blocks); n != 4 || f.block.blocks[2].Action != "ratelimit" {
		t.Fatalf("blocks after the rate-limit step: %+v", f.block.blocks)
	}
}

func TestPlaybookVerifyTimesOutAndHolds(t *testing.T) {
	var mu sync.Mutex
	now := t0
	snap := fakeSnapshot()
	m, _, _ := pbStarted(t, 80, 24, func(c *Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	keys(t, m, "8", "enter", "s", "s", "s", "s", "s", "s", "s")
	r := m.runState(t)
	if st := m.playbook().step(); st.Kind != playbook.KindVerify {
		t.Fatalf("at %s, not verify", st.Kind)
	}
	mustContain(t, m, "Live: rate of shop.example/img/hero.jpg against its baseline = 216.67 (< 3): no", "Waiting for it to hold: 5m left")
	mu.Lock()
	now = now.Add(5*time.Minute + time.Second)
	mu.Unlock()
	drive(t, m, snapMsg{snap})
	if r.Steps[7].Status != playbook.StatusFailed || !strings.Contains(r.Steps[7].Result, "timed out after 5m") {
		t.Fatalf("verify after its timeout: %+v", r.Steps[7])
	}

	// a second run whose flooded page calmed down: verify completes by itself
	m2, _, _ := pbStarted(t, 80, 24, nil)
	keys(t, m2, "8", "enter", "s", "s", "s", "s", "s", "s", "s")
	calm := fakeSnapshot()
	for i := range calm.Pages {
		calm.Pages[i].Rate = calm.Pages[i].Baseline
	}
	drive(t, m2, snapMsg{calm})
	r2 := m2.runState(t)
	if r2.Steps[7].Status != playbook.StatusDone || r2.Current != 8 {
		t.Fatalf("verify on calm data: %+v", r2.Steps[7])
	}
}

// TestPlaybookCommandSaved: y writes the rendered commands to a file in
// the state dir, and the step records where.
func TestPlaybookCommandSaved(t *testing.T) {
	m, _, cfg := pbStarted(t, 80, 24, nil)
	keys(t, m, "8", "G", "k", "enter", "s", "s", "s")
	if st := m.playbook().step(); st.Kind != playbook.KindCommand {
		t.Fatalf("at %s, not command", st.Kind)
	}
	// the commands are plain lines: nothing before them a mouse would copy
	mustContain(t, m, "\npostsuper -h ALL ")
	keys(t, m, "y")
	path := m.playbook().saved
	if !strings.HasPrefix(path, filepath.Join(cfg.StateDir, "commands")) {
		t.Fatalf("saved to %q", path)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "postsuper -h ALL") || !strings.Contains(string(data), "exim -bp | exiqsumm") {
		t.Fatalf("saved file: %q, %v", data, err)
	}
	mustContain(t, m, "saved to "+path[:20])
	keys(t, m, "enter")
	if r := m.runState(t); !strings.Contains(r.Steps[3].Result, "saved to "+path) {
		t.Fatalf("command step result %q", r.Steps[3].Result)
	}
}

// TestTimelineFromConsole: a finding, a playbook, a block, an unblock, an
// abuse-report addition and a note all land in the timeline, once each.
func TestTimelineFromConsole(t *testing.T) {
	m, _, cfg := pbStarted(t, 80, 24, nil)
	drive(t, m, snapMsg{cfg.Snapshot()}) // the same findings again: no new entry
	keys(t, m, "b", "enter")             // block the first finding's targets
	drive(t, m, blocksMsg{list: []ActiveBlock{{ID: "1", Target: "203.0.113.0/24", Targets: []netip.Prefix{pfx("203.0.113.0/24")}}}})
	keys(t, m, "6", "u")
	keys(t, m, "1", "r")
	keys(t, m, "8", "enter", "s", "s", "s", "s", "s", "s", "s", "s")
	keys(t, m, "enter", "ctrl+u", "d", "o", "n", "e", "enter")
	if r := m.runState(t); !r.Finished {
		t.Fatalf("run not finished: %+v", r)
	}
	es, err := cfg.Timeline.Entries()
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	var text []string
	for _, e := range es {
		count[e.Kind]++
		text = append(text, e.Kind+": "+e.Summary)
	}
	all := strings.Join(text, "\n")
	if count[playbook.EventFinding] != 3 {
		t.Fatalf("want each of the 3 findings once:\n%s", all)
	}
	for _, want := range []string{
		"finding: 2 pages get 88% of requests from 812 sources",
		"block: blocked 2 target(s) of page_flood: 2 pages get 88% of requests from 812 sources: drop on tcp/80,tcp/443 for 1h00m",
		"unblock: unblocked 203.0.113.0/24",
		"report: added 2 target(s) of page_flood",
		`playbook: playbook "Flood on a few pages" started`,
		"step: why skipped: Why a few pages matter",
		"note: done",
		`playbook: playbook "Flood on a few pages" finished: 1 steps done, 8 skipped`,
	} {
		if !strings.Contains(all, want) {
			t.Fatalf("timeline lacks %q:\n%s", want, all)
		}
	}
	// the finding's entry names its kind and targets, and the times are the console's clock
	for _, e := range es {
		if !e.Time.Equal(t0) {
			t.Fatalf("entry stamped %v, want the console clock %v", e.Time, t0)
		}
		if e.Kind == playbook.EventFinding && strings.HasPrefix(e.Summary, "2 pages") && e.Detail != "page_flood: 203.0.113.0/24 198.51.100.0/24" {
			t.Fatalf("finding detail %q", e.Detail)
		}
	}
}

// TestPlaybookChooseToggles: space unpicks, a picks all or none, and
// enter refuses an empty pick.
func TestPlaybookChooseToggles(t *testing.T) {
	m, _, _ := pbStarted(t, 80, 24, nil)
	keys(t, m, "8", "enter", "enter", "enter", "enter")
	p := m.playbook()
	if got := p.picked(); len(got) != 2 {
		t.Fatalf("pre-picked %v; want the finding's 2 targets", got)
	}
	keys(t, m, "space")
	if got := p.picked(); len(got) != 1 {
		t.Fatalf("after space %v", got)
	}
	keys(t, m, "a", "a")
	if got := p.picked(); len(got) != 0 {
		t.Fatalf("after a, a: %v", got)
	}
	keys(t, m, "enter")
	mustContain(t, m, "nothing picked: space picks a row, s skips the step")
	if m.runState(t).Current != 3 {
		t.Fatal("an empty pick was confirmed")
	}
	keys(t, m, "a", "enter")
	if r := m.runState(t); r.Current != 4 || len(r.Chosen) != 2 {
		t.Fatalf("after a, enter: %+v", r)
	}
}

// TestOverviewSuggestsPlaybook: the Overview names the playbook to run,
// and Enter on a finding lists the playbooks for it.
func TestOverviewSuggestsPlaybook(t *testing.T) {
	m, _, _ := pbStarted(t, 80, 24, nil)
	mustContain(t, m, "press 8: suggested playbook page-flood — Flood on a few pages (+3 more)")
	keys(t, m, "j", "enter") // the SMTP AUTH finding
	if m.active != scrPlaybook {
		t.Fatal("enter on a finding did not open the Playbook screen")
	}
	mustContain(t, m, "Playbooks for smtp_auth_bruteforce", "1 brute-force")
	keys(t, m, "enter")
	if r := m.runState(t); r.Playbook != "brute-force" || r.FindingID != "f2" {
		t.Fatalf("started %s for %s", r.Playbook, r.FindingID)
	}
	keys(t, m, "1")
	mustContain(t, m, "press 8: playbook brute-force at step 1/")
}
