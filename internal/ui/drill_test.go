package ui

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/playbook"
)

// drillConsole starts a real generator for scenario name at speed and a
// console on fake engines wired to it; the snapshot carries one finding
// of the scenario's expected kind naming every attacker.
func drillConsole(t *testing.T, name string, speed float64) (*Model, *drill.Generator, *fakes, Config) {
	t.Helper()
	sc, err := drill.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gen := drill.NewGenerator(sc, filepath.Join(dir, "logs"), speed, 42)
	var targets []netip.Prefix
	for _, a := range gen.Attackers() {
		targets = append(targets, netip.PrefixFrom(a, a.BitLen()))
	}
	snap := fakeSnapshot()
	snap.Findings = []analyze.Finding{{ID: "d1", Kind: sc.Expect[0], Severity: analyze.SevCritical, Summary: "the drill's attack",
		Targets: targets, First: t0}}
	cfg, f := testConfig(ModeDrill)
	cfg.Snapshot = func() *analyze.Snapshot { return snap }
	cfg.Now = time.Now
	cfg.Drill = NewGeneratorDrill(gen)
	cfg.Timeline = &playbook.Timeline{Path: filepath.Join(dir, "timeline.jsonl")}
	if err := gen.Prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); gen.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	m := New(cfg)
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, snapMsg{snap}, blocksMsg{})
	return m, gen, f, cfg
}

// TestDrillConsoleBlockReachesGenerator: a block confirmed in the dialog
// is handed to the generator, which stops the attack's traffic; the
// detection, the score screen and the timeline (on the data clock) follow.
func TestDrillConsoleBlockReachesGenerator(t *testing.T) {
	m, gen, f, cfg := drillConsole(t, "accidental-dos", 50)
	keys(t, m, "b")
	mustContain(t, m, "[DRILL]", "Rules (DRILL: recorded, the real firewall is not touched)")
	keys(t, m, "enter")
	if len(f.block.blocks) == 0 {
		t.Fatal("nothing applied")
	}
	uniq := map[netip.Addr]bool{}
	for _, a := range gen.Attackers() {
		uniq[a] = true
	}
	if bs := gen.Blocks(); len(bs) != len(uniq) || bs[0].Action != "drop" || len(bs[0].Ports) != 0 {
		t.Fatalf("generator has %d blocks (%+v…); want one per attacker, drop on every port", len(bs), bs[:min(len(bs), 1)])
	}
	// the attack starts: the finding now names it
	for gen.Now().Before(gen.AttackStart()) {
		time.Sleep(10 * time.Millisecond)
	}
	drive(t, m, snapMsg{cfg.Snapshot()})
	if m.detected.IsZero() {
		t.Fatal("the expected finding after the attack's start was not taken as the detection")
	}
	<-gen.Done()
	c := gen.Counts()
	if c.AttackAfter == 0 || c.AttackStopped != c.AttackAfter || c.BenignStopped != 0 {
		t.Fatalf("counts %+v: want every attack request after the block stopped and no legitimate one", c)
	}
	drive(t, m, drillOverMsg{})
	if m.mode != modeScore || m.score == nil {
		t.Fatal("the end of the drill did not show the score")
	}
	mustContain(t, m, "[DRILL]", "The drill is over", `Drill "accidental-dos"`, "attack stopped:  100.0 %", "collateral:      0.00 %")
	if sc := m.Result().Score; sc == nil || sc.AttackStopped != 1 || sc.DetectedAfterS == nil || sc.BlockedAfterS == nil || *sc.BlockedAfterS > 0 {
		t.Fatalf("result score %+v", sc)
	}
	keys(t, m, "q")
	if !m.quit {
		t.Fatal("q on the score did not quit")
	}
	es, _ := cfg.Timeline.Entries()
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
	}
	// stamped on the drill's data clock (which ran 50 times faster than
	// the wall clock), not the wall clock
	if last := es[len(es)-1]; !strings.Contains(last.Summary, "over") || last.Time.Before(gen.AttackStart()) || time.Now().After(gen.AttackStart()) {
		t.Fatalf("last entry %+v: want the drill's end on its data clock (attack start %v, wall now %v)", last, gen.AttackStart(), time.Now())
	}
	if got := strings.Join(kinds, " "); !strings.Contains(got, "finding") || !strings.Contains(got, "block") || !strings.Contains(got, "note") {
		t.Fatalf("timeline kinds %q", got)
	}
}

// TestDrillConsoleUnblockLifts: an undo on the Blocks screen lifts the
// block in the generator too; unblock-all lifts every one.
func TestDrillConsoleUnblockLifts(t *testing.T) {
	m, gen, f, _ := drillConsole(t, "accidental-dos", 1)
	keys(t, m, "b", "enter")
	n := len(gen.Blocks())
	if n == 0 {
		t.Fatal("no block reached the generator")
	}
	keys(t, m, "6", "u")
	if got := len(gen.Blocks()); got != n-1 {
		t.Fatalf("after one undo the generator has %d blocks, want %d", got, n-1)
	}
	keys(t, m, "U", "y")
	if got := len(gen.Blocks()); got != 0 || len(f.block.blocks) != 0 {
		t.Fatalf("after unblock-all: generator %d, engine %d", got, len(f.block.blocks))
	}
}

// TestDrillConsoleComplaintAndQuit: the relay scenario's complaint shows
// as a banner once it arrived and c reads it; q ends the drill on its
// score rather than leaving at once.
func TestDrillConsoleComplaintAndQuit(t *testing.T) {
	m, gen, _, _ := drillConsole(t, "relay-abused", 100)
	<-gen.Done()
	drive(t, m, tickMsg{})
	mustContain(t, m, "An abuse complaint arrived — press c to read it")
	keys(t, m, "c")
	mustContain(t, m, "Abuse complaint (drill relay-abused)")
	if first := firstLine(gen.S.Complaint); !strings.Contains(screen(m), first[:min(len(first), 40)]) {
		t.Fatalf("complaint text not shown:\n%s", screen(m))
	}
	keys(t, m, "esc", "q")
	if m.quit || m.mode != modeScore {
		t.Fatal("q in a drill did not show the score first")
	}
	mustContain(t, m, `Drill "relay-abused"`, "first block:     never", "playbook steps:  0 done, 0 skipped")
	keys(t, m, "q")
	if !m.quit {
		t.Fatal("the second q did not quit")
	}
}

// TestGeneratorBlocksRate: a playbook's rate-limit becomes the
// generator's per-source allowance, the dialog's own a human pace.
func TestGeneratorBlocksRate(t *testing.T) {
	at := t0
	bs := GeneratorBlocks(BlockRequest{Targets: []netip.Prefix{pfx("203.0.113.7/24")}, Ports: []string{"tcp/443"}, Action: ActionRateLimit, Rate: "10/second"}, at)
	if len(bs) != 1 || bs[0].Prefix != pfx("203.0.113.0/24") || bs[0].PerSecond != 10 || bs[0].Burst < 1 || bs[0].Ports[0] != "tcp/443" || !bs[0].At.Equal(at) {
		t.Fatalf("%+v", bs)
	}
	bs = GeneratorBlocks(BlockRequest{Targets: []netip.Prefix{pfx("198.51.100.1/32")}, Action: ActionRateLimit}, at)
	if bs[0].PerSecond != 10.0/60 || bs[0].Burst != 5 {
		t.Fatalf("dialog rate-limit: %+v", bs[0])
	}
	if bs := GeneratorBlocks(BlockRequest{Targets: []netip.Prefix{pfx("198.51.100.1/32")}, Action: "bogus"}, at); bs != nil {
		t.Fatalf("a bad action became %+v", bs)
	}
}
