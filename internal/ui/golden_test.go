package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

var goldenSizes = []struct {
	name string
	w, h int
}{{"80x24", 80, 24}, {"120x40", 120, 40}}

// TestScreensGolden runs the real program through teatest, switches to each
// screen with its number key and compares the final screen (styles
// stripped) with a golden file at both sizes. It also checks the bytes the
// program wrote: no escape sequence from the attacker-controlled user agent
// or error text reaches the terminal.
func TestScreensGolden(t *testing.T) {
	for _, sz := range goldenSizes {
		for i, name := range screenNames {
			t.Run(strings.ToLower(name)+"_"+sz.name, func(t *testing.T) {
				cfg, _ := testConfig(ModeLive)
				tm := teatest.NewTestModel(t, New(cfg), teatest.WithInitialTermSize(sz.w, sz.h))
				var seen bytes.Buffer
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
					seen.Write(b)
					return bytes.Contains(seen.Bytes(), []byte("page_flood"))
				}, teatest.WithDuration(5*time.Second))
				tm.Send(press(string(rune('1' + i))))
				tm.Send(press("j"))
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
				out := new(bytes.Buffer)
				out.ReadFrom(tm.FinalOutput(t))
				raw := append(seen.Bytes(), out.Bytes()...)
				for _, bad := range []string{"\x1b]0;pwned", "\x1b[2J bot", "\x1b[2J(run"} {
					if bytes.Contains(raw, []byte(bad)) {
						t.Fatalf("terminal output carries %q from outside", bad)
					}
				}
				if m.active != i {
					t.Fatalf("active screen %d, want %d", m.active, i)
				}
				golden.RequireEqual(t, screen(m))
			})
		}
	}
}

// TestViewsGolden covers the states a number key does not reach: a drill
// down to one address, the block dialog, help, the confirmation, the jump
// to the log, and the too-small and no-logs screens.
func TestViewsGolden(t *testing.T) {
	cases := []struct {
		name string
		mode Mode
		keys []string
		msgs []tea.Msg
	}{
		{name: "attackers_prefixes", keys: []string{"2", "enter"}},
		{name: "attackers_address", keys: []string{"2", "enter", "enter", "enter"},
			msgs: []tea.Msg{traceMsg{Addr: adr("203.0.113.10"), ASN: 64500, ASName: "EXAMPLE-NET", Country: "NL", Prefix: pfx("203.0.113.0/24"),
				PTR: "bot-10.example.net\x1b[2J", PTRConfirmed: true, Abuse: "abuse@example.net"}}},
		{name: "pages_by_as", keys: []string{"3", "enter"}},
		{name: "clusters", keys: []string{"3", "v"}},
		{name: "mail_clients", keys: []string{"4", "v"}},
		{name: "dns_denied", keys: []string{"5", "v", "v", "v"}},
		{name: "block_dialog", keys: []string{"b"}},
		{name: "block_dialog_dryrun", mode: ModeDryRun, keys: []string{"2", "space", "space", "b", "down", "right"}},
		{name: "blocks_confirm", keys: []string{"b", "enter", "6", "U"}},
		{name: "help_attackers", keys: []string{"2", "?"}},
		{name: "log_jump", keys: []string{"2", "j", "l"}},
		{name: "filter", keys: []string{"2", "/", "d", "o", "c"}},
	}
	for _, sz := range goldenSizes {
		for _, c := range cases {
			t.Run(c.name+"_"+sz.name, func(t *testing.T) {
				m, _ := started(t, sz.w, sz.h, c.mode)
				for _, k := range c.keys {
					drive(t, m, press(k))
				}
				drive(t, m, c.msgs...)
				golden.RequireEqual(t, screen(m))
			})
		}
	}
}

func TestTooSmallGolden(t *testing.T) {
	m, _ := started(t, 50, 12, ModeLive)
	golden.RequireEqual(t, screen(m))
}

func TestNoLogsGolden(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(sz.name, func(t *testing.T) {
			n := NewNoLogs([]string{"/var/log/nginx/access.log", "/var/log/apache2/access.log", "/var/log/mail.log"}, true)
			n.Update(tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
			golden.RequireEqual(t, stripView(n.View()))
		})
	}
}

func stripView(v tea.View) string { return ansiStrip(v.Content) }
