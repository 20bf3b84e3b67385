package ui

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/drill"
)

// drillConsole starts a real drill session for scenario name at speed
// and a console wired to it as irtui wires it: the session's engine for
// blocks, its timeline, its score. The session follows no logs (the test
// plays the pipeline's part with Observe); the console's snapshot carries
// one finding of the scenario's expected kind naming every attacker.
func drillConsole(t *testing.T, name string, speed float64) (*Model, *drill.Session, *analyze.Snapshot, Config) {
	t.Helper()
	sc, err := drill.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := drill.NewSession(sc, drill.Options{Speed: speed, Seed: 42, TempDir: t.TempDir(), NoIngest: true, FindingsByCaller: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sess.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := sess.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var targets []netip.Prefix
	for _, a := range sess.Generator.Attackers() {
		targets = append(targets, netip.PrefixFrom(a, a.BitLen()))
	}
	snap := fakeSnapshot()
	snap.Newest = time.Time{} // the data clock is the generator's
	snap.Findings = []analyze.Finding{{ID: "d1", Kind: sc.Expect[0], Severity: analyze.SevCritical, Summary: "the drill's attack",
		Targets: targets, First: t0}}
	cfg, _ := testConfig(ModeDrill)
	cfg.Snapshot = func() *analyze.Snapshot { return snap }
	cfg.Now = time.Now
	cfg.Block = BlockEngine(sess.Engine)
	cfg.Drill = SessionDrill(sess)
	cfg.Timeline = sess.Timeline
	m := New(cfg)
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, snapMsg{snap}, blocksMsg{})
	return m, sess, snap, cfg
}

// TestDrillConsoleBlockReachesGenerator: a block confirmed in the dialog
// goes through the session's engine to the generator, which stops the
// attack's traffic; the session's detection, the score screen and the
// timeline (on the data clock) follow.
func TestDrillConsoleBlockReachesGenerator(t *testing.T) {
	m, sess, snap, cfg := drillConsole(t, "accidental-dos", 50)
	gen := sess.Generator
	keys(t, m, "b")
	mustContain(t, m, "[DRILL]", "Rules (DRILL: recorded, the real firewall is not touched)")
	keys(t, m, "enter")
	if l, err := sess.Engine.List(context.Background()); err != nil || len(l) != 1 {
		t.Fatalf("engine holds %d blocks (%v), want the dialog's one", len(l), err)
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
	sess.Observe(snap)
	drive(t, m, snapMsg{cfg.Snapshot()})
	if sess.Detected().IsZero() {
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
	kinds := map[string]int{}
	for _, e := range es {
		kinds[e.Kind]++
	}
	// stamped on the drill's data clock (which ran 50 times faster than
	// the wall clock), not the wall clock
	if last := es[len(es)-1]; !strings.Contains(last.Summary, "over") || last.Time.Before(gen.AttackStart()) || time.Now().After(gen.AttackStart()) {
		t.Fatalf("last entry %+v: want the drill's end on its data clock (attack start %v, wall now %v)", last, gen.AttackStart(), time.Now())
	}
	// the finding once (the console's entry, not the session's too)
	if kinds["finding"] != 1 || kinds["block"] == 0 || kinds["note"] == 0 {
		t.Fatalf("timeline kinds %v", kinds)
	}
}

// TestDrillConsoleUnblockLifts: an undo on the Blocks screen lifts the
// block in the generator too (the session's engine hands the firewall's
// new state over); unblock-all lifts every one.
func TestDrillConsoleUnblockLifts(t *testing.T) {
	m, sess, _, cfg := drillConsole(t, "accidental-dos", 1)
	gen := sess.Generator
	keys(t, m, "b", "enter")
	if len(gen.Blocks()) == 0 {
		t.Fatal("no block reached the generator")
	}
	keys(t, m, "6", "u")
	if got := len(gen.Blocks()); got != 0 {
		t.Fatalf("after the undo the generator has %d blocks, want none", got)
	}
	keys(t, m, "1", "b", "enter")
	// a second block, as a playbook step would apply it
	a := gen.Attackers()[0]
	p, err := cfg.Block.Plan(context.Background(), BlockRequest{Targets: []netip.Prefix{netip.PrefixFrom(a, a.BitLen())},
		Ports: []string{"tcp/25"}, Action: ActionRateLimit, Rate: "1/second", Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Block.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	n := len(gen.Blocks())
	if l, _ := sess.Engine.List(context.Background()); len(l) != 2 || n < 2 {
		t.Fatalf("engine %d blocks, generator %d: want two and their targets", len(l), n)
	}
	drive(t, m, snapMsg{cfg.Snapshot()})
	keys(t, m, "6", "U", "y")
	if l, _ := sess.Engine.List(context.Background()); len(gen.Blocks()) != 0 || len(l) != 0 {
		t.Fatalf("after unblock-all: generator %d, engine %d", len(gen.Blocks()), len(l))
	}
}

// TestDrillConsoleComplaintAndQuit: the relay scenario's complaint shows
// as a banner once it arrived and c reads it; q ends the drill on its
// score rather than leaving at once.
func TestDrillConsoleComplaintAndQuit(t *testing.T) {
	m, sess, _, _ := drillConsole(t, "relay-abused", 100)
	gen := sess.Generator
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

// TestSessionBlocksRate: a playbook's rate-limit reaches the generator as
// its per-source allowance, the dialog's own as a human pace.
func TestSessionBlocksRate(t *testing.T) {
	_, sess, _, cfg := drillConsole(t, "smtp-auth-bruteforce", 1)
	apply := func(r BlockRequest) {
		t.Helper()
		p, err := cfg.Block.Plan(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Block.Apply(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	apply(BlockRequest{Targets: []netip.Prefix{pfx("203.0.113.0/24")}, Ports: []string{"tcp/443"}, Action: ActionRateLimit, Rate: "10/second", TTL: time.Hour})
	apply(BlockRequest{Targets: []netip.Prefix{pfx("198.51.100.1/32")}, Action: ActionRateLimit, TTL: time.Hour})
	got := map[netip.Prefix]drill.Block{}
	for _, b := range sess.Generator.Blocks() {
		got[b.Prefix] = b
	}
	if b := got[pfx("203.0.113.0/24")]; b.PerSecond != 10 || b.Burst < 1 || len(b.Ports) != 1 || b.Ports[0] != "tcp/443" || b.At.IsZero() {
		t.Fatalf("playbook rate-limit: %+v", b)
	}
	if b := got[pfx("198.51.100.1/32")]; b.PerSecond != 10.0/60 || b.Burst != 5 {
		t.Fatalf("dialog rate-limit: %+v", b)
	}
}
