package ui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/irtui/irtui/internal/analyze"
)

// checkFrame asserts the frame is exactly w×h cells: every line fits and
// the line count never changes, so a resize or new data never scrolls.
func checkFrame(t *testing.T, m *Model, w, h int, what string) {
	t.Helper()
	s := m.render()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Fatalf("%s at %dx%d: %d lines:\n%s", what, w, h, len(lines), ansi.Strip(s))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Fatalf("%s at %dx%d: line %d is %d wide: %q", what, w, h, i, lw, ansi.Strip(l))
		}
	}
}

func TestLayoutSizes(t *testing.T) {
	sizes := [][2]int{{60, 16}, {80, 24}, {81, 25}, {100, 30}, {120, 40}, {200, 60}, {300, 100}}
	flows := [][]string{{"1"}, {"2"}, {"2", "enter"}, {"2", "enter", "enter"}, {"2", "enter", "enter", "enter"},
		{"3"}, {"3", "enter"}, {"3", "v"}, {"4"}, {"4", "v"}, {"5"}, {"5", "v", "v", "v"}, {"6"}, {"7"}, {"1", "b"}, {"?"}, {"2", "/", "x"}}
	for _, sz := range sizes {
		for _, f := range flows {
			m, _ := started(t, sz[0], sz[1], ModeDryRun)
			keys(t, m, f...)
			checkFrame(t, m, sz[0], sz[1], fmt.Sprint(f))
		}
	}
}

func TestResizeAnyTime(t *testing.T) {
	m, _ := started(t, 80, 24, ModeLive)
	keys(t, m, "2", "enter", "b")
	for _, sz := range [][2]int{{120, 40}, {40, 10}, {60, 16}, {80, 24}, {61, 17}} {
		drive(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		if sz[0] < MinWidth || sz[1] < MinHeight {
			if !strings.Contains(screen(m), "Terminal too small") {
				t.Fatalf("no too-small screen at %v", sz)
			}
			continue
		}
		checkFrame(t, m, sz[0], sz[1], "dialog after resize")
	}
	keys(t, m, "esc", "7")
	for _, sz := range [][2]int{{200, 50}, {60, 16}} {
		drive(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		checkFrame(t, m, sz[0], sz[1], "log after resize")
	}
}

func TestMinimumIsEnforced(t *testing.T) {
	for _, sz := range [][2]int{{MinWidth - 1, MinHeight}, {MinWidth, MinHeight - 1}, {20, 5}} {
		m, _ := started(t, sz[0], sz[1], ModeLive)
		if !strings.Contains(screen(m), "Terminal too small") {
			t.Fatalf("%v: %s", sz, screen(m))
		}
	}
	m, _ := started(t, MinWidth, MinHeight, ModeLive)
	if strings.Contains(screen(m), "too small") {
		t.Fatal("the minimum size itself is refused")
	}
}

// FuzzFit: whatever an attacker puts in a field, the cell is exactly w
// wide and carries no control byte.
func FuzzFit(f *testing.F) {
	for _, s := range []string{evilUA, "\x1b[2J", "日本語テキスト", "e\u0301", "\u202eabc", "\xff\xfe", "a\tb\r\nc", "🙂🙂🙂"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, w int) {
		w = w%200 + 1
		if w < 1 {
			w = -w + 1
		}
		for _, out := range []string{fit(s, w), fitRight(s, w), fitTail(s, w)} {
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 from %q", s)
			}
			for _, r := range out {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Fatalf("control %U in %q from %q", r, out, s)
				}
			}
			if got := ansi.StringWidth(out); got > w || (got < w && w > 1) {
				t.Fatalf("width %d, want %d: %q from %q", got, w, out, s)
			}
		}
	})
}

func bigSnapshot(n int) *analyze.Snapshot {
	s := fakeSnapshot()
	for i := range n {
		a := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		s.IPs = append(s.IPs, analyze.Group{Key: a.String(), Prefix: netip.PrefixFrom(a, 32), Events: int64(i), Rate: float64(i % 1000)})
		s.ASes = append(s.ASes, analyze.Group{Key: fmt.Sprintf("AS%d", 65000+i), ASN: uint32(65000 + i), Events: int64(i), Rate: float64(i % 1000)})
	}
	return s
}

// BenchmarkView measures one frame of the attackers screen: its cost must
// not grow with the number of rows (only visible rows are drawn).
func BenchmarkView(b *testing.B) {
	for _, n := range []int{100, 10000, 100000} {
		b.Run(fmt.Sprint(n, "rows"), func(b *testing.B) {
			m, _ := started(b, 80, 24, ModeLive)
			drive(b, m, snapMsg{bigSnapshot(n)})
			keys := []tea.KeyPressMsg{press("2")}
			for _, k := range keys {
				drive(b, m, k)
			}
			b.ResetTimer()
			for b.Loop() {
				m.panes[scrAttackers].(*attackers).tables[levelAS].dirty = true
				_ = m.View()
			}
		})
	}
}

// BenchmarkRefresh measures rebuilding the rows from a new snapshot (once
// per tick), which does grow with the rows the analyzer keeps.
func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n, "rows"), func(b *testing.B) {
			m, _ := started(b, 80, 24, ModeLive)
			drive(b, m, press("2"))
			s := bigSnapshot(n)
			b.ResetTimer()
			for b.Loop() {
				m.c.snap = s
				m.panes[scrAttackers].Refresh()
			}
		})
	}
}

func TestNoLogsChoice(t *testing.T) {
	for k, want := range map[string]NoLogsChoice{"d": NoLogsDemo, "enter": NoLogsDemo, "q": NoLogsQuit, "esc": NoLogsQuit} {
		n := NewNoLogs([]string{"/var/log/nginx/access.log"}, true)
		n.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		_, cmd := n.Update(press(k))
		if cmd == nil || n.Choice() != want {
			t.Fatalf("%s: choice %v", k, n.Choice())
		}
	}
}
