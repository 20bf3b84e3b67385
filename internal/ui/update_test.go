package ui

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/irtui/irtui/internal/analyze"
)

func ansiStrip(s string) string { return ansi.Strip(s) }

func keys(t *testing.T, m *Model, ks ...string) {
	t.Helper()
	for _, k := range ks {
		drive(t, m, press(k))
	}
}

func mustContain(t *testing.T, m *Model, want ...string) {
	t.Helper()
	s := screen(m)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

func mustNotContain(t *testing.T, m *Model, bad ...string) {
	t.Helper()
	s := screen(m)
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Fatalf("screen has %q:\n%s", b, s)
		}
	}
}

func TestSwitchScreens(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	for i := range screenNames {
		keys(t, m, string(rune('1'+i)))
		if m.active != i {
			t.Fatalf("key %d: active %d", i+1, m.active)
		}
		mustContain(t, m, "["+string(rune('1'+i))+" "+screenNames[i]+"]")
	}
	keys(t, m, "tab")
	if m.active != scrOverview {
		t.Fatalf("tab from the last screen went to %d", m.active)
	}
	keys(t, m, "shift+tab")
	if m.active != len(screenNames)-1 {
		t.Fatalf("shift+tab from the first screen went to %d", m.active)
	}
}

func TestModeAlwaysShown(t *testing.T) {
	for _, mode := range []Mode{ModeLive, ModeDrill, ModeDryRun} {
		m, _ := started(t, 80, 24, mode)
		for i := range screenNames {
			keys(t, m, string(rune('1'+i)))
			if !strings.HasPrefix(screen(m), "irtui ["+mode.String()+"]") {
				t.Fatalf("mode %s missing on screen %d:\n%s", mode, i, screen(m))
			}
		}
		keys(t, m, "1", "b")
		mustContain(t, m, "["+mode.String()+"]")
	}
}

func TestAttackersDrillDownAndTrace(t *testing.T) {
	m, f := started(t, 80, 24, ModeLive)
	keys(t, m, "2")
	mustContain(t, m, "AS64500", "DOC-TRANSIT", "RATE↓")
	keys(t, m, "enter")
	mustContain(t, m, "ASes › AS64500", "203.0.113.0/24", "2001:db8:1::/48")
	mustNotContain(t, m, "198.51.100.0/24")
	keys(t, m, "enter")
	mustContain(t, m, "› 203.0.113.0/24", "203.0.113.10", "203.0.113.12")
	mustNotContain(t, m, "198.51.100.7")
	keys(t, m, "enter")
	mustContain(t, m, "Address", "203.0.113.10", "looking up…", "Recent lines")
	f.trace.mu.Lock()
	got := slices.Clone(f.trace.req)
	f.trace.mu.Unlock()
	if len(got) != 1 || got[0] != adr("203.0.113.10") {
		t.Fatalf("entering an address traced %v", got)
	}
	drive(t, m, traceMsg{Addr: adr("203.0.113.10"), ASN: 64500, PTR: "evil\x1b]0;pwned\x07.example", PTRConfirmed: false, Abuse: "abuse@example.net"})
	mustContain(t, m, "evil?]0;pwned?.example", "not confirmed", "abuse@example.net")
	keys(t, m, "esc", "esc", "esc")
	mustContain(t, m, "AS64500", "DOC-TRANSIT")
	if a := m.panes[scrAttackers].(*attackers); a.level != levelAS {
		t.Fatalf("esc three times left level %d", a.level)
	}
	keys(t, m, "esc") // at the top esc does nothing
	if m.active != scrAttackers {
		t.Fatal("esc at the top left the screen")
	}
}

func TestSortKeys(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "2")
	a := m.panes[scrAttackers].(*attackers)
	first := func() string { return a.tables[levelAS].rows[0].key }
	if first() != "AS64500" {
		t.Fatalf("by rate, first is %s", first())
	}
	keys(t, m, "S")
	if first() != "AS unknown" {
		t.Fatalf("reversed, first is %s", first())
	}
	mustContain(t, m, "RATE↑")
	keys(t, m, "s")
	mustContain(t, m, "SHARE↓")
}

func TestFilterTakesTheKeyboard(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "2", "/", "q", "1", "b")
	if m.quit || m.active != scrAttackers || m.mode != modeNormal {
		t.Fatal("global keys acted while typing a filter")
	}
	mustContain(t, m, "/q1b▏")
	for range 3 {
		keys(t, m, "backspace")
	}
	keys(t, m, "D", "O", "C", "enter")
	mustContain(t, m, "DOC-TRANSIT", "/DOC", "1 of 3")
	mustNotContain(t, m, "AS64500")
	keys(t, m, "esc")
	mustContain(t, m, "AS64500", "DOC-TRANSIT")
}

func TestMarksAndBlockDialog(t *testing.T) {
	m, f := started(t, 100, 30, ModeLive)
	keys(t, m, "2", "space", "space", "b")
	if m.mode != modeDialog {
		t.Fatal("b did not open the dialog")
	}
	d := m.dialog
	want := []netip.Prefix{pfx("198.51.100.0/24"), pfx("203.0.113.0/24"), pfx("2001:db8:1::/48")}
	if !slices.Equal(d.sel.targets, want) {
		t.Fatalf("targets %v, want %v", d.sel.targets, want)
	}
	mustContain(t, m, "Block 2 ASes", "covers 92% of the attack", "cuts 0.4% of the legitimate baseline",
		"add element inet irtui block4 { 203.0.113.0/24 timeout 1h0m0s }", "# all ports action drop")
	keys(t, m, "down", "right") // action: reject
	mustContain(t, m, "# all ports action reject")
	keys(t, m, "down", "right", "right") // TTL: 24h
	mustContain(t, m, "timeout 24h0m0s")
	keys(t, m, "enter")
	if m.mode != modeNormal {
		t.Fatal("the dialog stayed open after applying")
	}
	mustContain(t, m, "blocked 3 target(s) of 2 ASes")
	if len(f.block.blocks) != 3 {
		t.Fatalf("%d blocks applied", len(f.block.blocks))
	}
	keys(t, m, "6")
	mustContain(t, m, "Active blocks: 3", "198.51.100.0/24", "reject", "24h00m", "1.2k")
}

func TestBlockRefusalAndCancel(t *testing.T) {
	m, f := started(t, 80, 24, ModeLive)
	keys(t, m, "2", "j", "enter", "enter", "b")
	mustContain(t, m, "REFUSED: 198.51.100.7/32 (your SSH client)", "every target was refused")
	keys(t, m, "enter")
	if m.mode != modeDialog || len(f.block.blocks) != 0 {
		t.Fatal("a fully refused plan was applied")
	}
	keys(t, m, "esc")
	if m.mode != modeNormal {
		t.Fatal("esc did not cancel")
	}
	mustContain(t, m, "block cancelled")
}

func TestBlockFromFindingKeepsPorts(t *testing.T) {
	m, _ := started(t, 80, 24, ModeDryRun)
	keys(t, m, "b")
	mustContain(t, m, "Scope   ‹ tcp/80,tcp/443 ›", "DRY-RUN: recorded, the real firewall is not touched")
}

func TestStalePlanDropped(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "b")
	gen := m.dialog.gen
	drive(t, m, planMsg{gen: gen - 1, plan: BlockPlan{Rules: "STALE"}})
	mustNotContain(t, m, "STALE")
}

func TestApplyErrorIsSanitized(t *testing.T) {
	m, f := started(t, 80, 24, ModeLive)
	f.block.fail = true
	keys(t, m, "b", "enter")
	mustContain(t, m, "error: block not applied: nft: ?[2Jboom")
}

func TestUnblockOneAndAll(t *testing.T) {
	m, f := started(t, 80, 24, ModeLive)
	keys(t, m, "b", "enter", "6")
	mustContain(t, m, "Active blocks: 2")
	keys(t, m, "u")
	mustContain(t, m, "Active blocks: 1", "unblocked")
	keys(t, m, "1", "j", "b", "enter", "6", "U")
	mustContain(t, m, "Remove all 2 active blocks? (y/n)")
	keys(t, m, "n")
	if len(f.block.blocks) != 2 {
		t.Fatal("n removed blocks")
	}
	keys(t, m, "U", "y")
	mustContain(t, m, "Active blocks: 0", "unblocked all (2 blocks)")
}

func TestTraceAndReport(t *testing.T) {
	m, f := started(t, 80, 24, ModeLive)
	keys(t, m, "4", "v", "t")
	mustContain(t, m, "tracing 1 address(es) of 203.0.113.77")
	keys(t, m, "r")
	mustContain(t, m, "added 1 target(s) of 203.0.113.77 to the abuse report")
	if !slices.Equal(f.report.added, []netip.Prefix{pfx("203.0.113.77/32")}) {
		t.Fatalf("report got %v", f.report.added)
	}
	keys(t, m, "v", "v", "b") // actions have nothing to block
	mustContain(t, m, "nothing to block here")
}

func TestLogJumpPauseFilter(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "2", "j", "l") // AS64501 → its prefix 198.51.100.0/24
	if m.active != scrLog {
		t.Fatal("l did not jump to the log")
	}
	mustContain(t, m, "lines of AS64501", "198.51.100.7 - -")
	mustNotContain(t, m, "203.0.113.10 - -")
	keys(t, m, "esc")
	mustContain(t, m, "203.0.113.10 - -")
	keys(t, m, "p")
	mustContain(t, m, "PAUSED")
	// a new snapshot does not move a paused log
	s2 := fakeSnapshot()
	s2.Recent = []analyze.RecentLine{{Time: t0, Src: adr("192.0.2.1"), Line: "NEWLINE"}}
	drive(t, m, snapMsg{s2})
	mustNotContain(t, m, "NEWLINE")
	keys(t, m, "p")
	mustContain(t, m, "NEWLINE", "following")
	keys(t, m, "/", "z", "z", "z", "enter")
	mustContain(t, m, "no line matches")
}

func TestPagesEnterGroupsByAS(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "3", "enter")
	mustContain(t, m, "pages › shop.example/img/hero.jpg › who hits it, by AS", "AS64500", "67%", "AS64501", "33%")
	keys(t, m, "b")
	if m.mode != modeDialog || !slices.Contains(m.dialog.sel.targets, pfx("203.0.113.0/24")) {
		t.Fatal("blocking an AS of a page did not target its prefixes")
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m, _ := started(t, 80, 24, ModeLive)
		_, cmd := m.Update(press(k))
		if cmd == nil || !m.quit {
			t.Fatalf("%s did not quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s returned no quit", k)
		}
	}
}

func TestHelpIsBuiltFromEnabledKeys(t *testing.T) {
	m, _ := started(t, 120, 40, ModeLive)
	keys(t, m, "?")
	mustContain(t, m, "Keys: everywhere, then on Overview", "block", "trace", "abuse report", "filter")
	mustNotContain(t, m, "next list") // no sections on the overview
	keys(t, m, "esc", "2", "?")
	mustNotContain(t, m, "back") // at the AS level there is nothing to go back to
	keys(t, m, "esc", "enter", "?")
	mustContain(t, m, "back")

	cfg, _ := testConfig(ModeLive)
	cfg.Block, cfg.Trace, cfg.Report = nil, nil, nil
	m2 := New(cfg)
	drive(t, m2, tea.WindowSizeMsg{Width: 120, Height: 40}, snapMsg{cfg.Snapshot()})
	keys(t, m2, "?")
	mustNotContain(t, m2, "b block", "trace", "abuse report")
	keys(t, m2, "esc", "b", "t", "r")
	if m2.mode != modeNormal {
		t.Fatal("b opened a dialog with no block engine")
	}
}

// sgrOnly matches a rendered screen whose escape sequences are all SGR.
var escSeq = regexp.MustCompile("\x1b\\[[0-9;:]*[A-Za-z]")

func TestNoEscapeFromOutsideAndNoColour(t *testing.T) {
	m, _ := started(t, 120, 40, ModeLive)
	for _, ks := range [][]string{{"1"}, {"2"}, {"3", "v"}, {"7"}, {"2", "enter", "enter", "enter"}} {
		keys(t, m, ks...)
		raw := m.render()
		rest := escSeq.ReplaceAllStringFunc(raw, func(seq string) string {
			if !strings.HasSuffix(seq, "m") {
				t.Fatalf("non-SGR sequence %q on screen", seq)
			}
			for _, p := range strings.FieldsFunc(seq[2:len(seq)-1], func(r rune) bool { return r == ';' || r == ':' }) {
				if len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') || len(p) == 3 && p[0] == '1' && p[1] == '0' {
					t.Fatalf("NO_COLOR screen carries colour %q", seq)
				}
			}
			return ""
		})
		if strings.ContainsAny(rest, "\x1b\x07\r") {
			t.Fatalf("a control byte from outside reached the screen: %q", rest)
		}
	}
	mustContain(t, m, "?]0;pwned?")
}

func TestSeverityReadsWithoutColour(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	mustContain(t, m, "CRIT page_flood", "HIGH smtp_auth", "MED  dns_open", "1 CRIT, 1 HIGH, 1 MED", "▲ ×8.3")
}

func TestViewVirtualised(t *testing.T) {
	cfg, _ := testConfig(ModeLive)
	s := fakeSnapshot()
	for i := range 100000 {
		s.IPs = append(s.IPs, analyze.Group{Key: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String(), Events: int64(i), Rate: float64(i)})
		s.ASes = append(s.ASes, analyze.Group{Key: "AS" + strings.Repeat("9", 1+i%5) + string(rune('0'+i%10)), Events: int64(i), Rate: float64(i)})
	}
	cfg.Snapshot = func() *analyze.Snapshot { return s }
	m := New(cfg)
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24}, snapMsg{s})
	keys(t, m, "2")
	if n := strings.Count(screen(m), "\n"); n != 23 {
		t.Fatalf("%d lines", n+1)
	}
}
