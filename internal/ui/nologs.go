package ui

import (
	"context"
	"os"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/irtui/irtui/internal/sanitize"
)

// NoLogsChoice is what the operator picked on the no-logs screen.
type NoLogsChoice int

// The choices.
const (
	NoLogsQuit NoLogsChoice = iota
	NoLogsDemo
)

type noLogsKeys struct {
	Demo, Quit key.Binding
}

// NoLogs is the screen shown when no log was named and none was found: it
// says where irtui looked, how to point it at logs, and offers the demo.
type NoLogs struct {
	tried  []string
	keys   noLogsKeys
	help   help.Model
	st     *Styles
	w, h   int
	choice NoLogsChoice
}

// NewNoLogs builds the screen for the paths that were tried.
func NewNoLogs(tried []string, noColor bool) *NoLogs {
	n := &NoLogs{tried: tried, st: newStyles(noColor), help: help.New(), keys: noLogsKeys{
		Demo: key.NewBinding(key.WithKeys("d", "enter"), key.WithHelp("d", "start the demo drill")),
		Quit: key.NewBinding(key.WithKeys("q", "esc", "ctrl+c"), key.WithHelp("q", "quit")),
	}}
	if noColor {
		n.help.Styles = help.Styles{}
	}
	return n
}

// Init does nothing: the screen is static.
func (n *NoLogs) Init() tea.Cmd { return nil }

// Update handles the two keys and the size.
func (n *NoLogs) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		n.w, n.h = msg.Width, msg.Height
		n.help.SetWidth(msg.Width)
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, n.keys.Demo):
			n.choice = NoLogsDemo
			return n, tea.Quit
		case key.Matches(msg, n.keys.Quit):
			n.choice = NoLogsQuit
			return n, tea.Quit
		}
	}
	return n, nil
}

// Choice is what was picked once the program ended.
func (n *NoLogs) Choice() NoLogsChoice { return n.choice }

// View draws the explanation.
func (n *NoLogs) View() tea.View {
	v := tea.NewView(n.render())
	v.AltScreen = true
	return v
}

func (n *NoLogs) render() string {
	if n.w == 0 {
		return ""
	}
	if n.w < 40 || n.h < 12 {
		return tooSmall(n.w, n.h)
	}
	var lines []string
	lines = append(lines, n.st.Title.Render("irtui: no log to watch"), "",
		"No log file was named and none was found at the usual places:")
	room := n.h - 14
	for i, p := range n.tried {
		if i == room-1 && len(n.tried) > room {
			lines = append(lines, "  … and "+strconv.Itoa(len(n.tried)-i)+" more")
			break
		}
		lines = append(lines, "  ✗ "+sanitize.Text(p))
	}
	lines = append(lines, "",
		n.st.Title.Render("Point irtui at your logs:"),
		"  irtui /var/log/nginx/access.log /var/log/mail.log",
		"  sudo irtui          (the logs may be readable by root or group adm only)",
		"  irtui watch -       (read standard input, e.g. from journalctl -f)",
		"",
		n.st.Title.Render("Or try it now with no set-up:"),
		"  irtui --demo        (a drill: generated attack, blocks only simulated)",
		"")
	for i := range lines {
		lines[i] = clip(lines[i], n.w)
	}
	return strings.Join(lines, "\n") + "\n" + clip(n.help.ShortHelpView([]key.Binding{n.keys.Demo, n.keys.Quit}), n.w)
}

// RunNoLogs shows the no-logs screen and returns the operator's choice.
func RunNoLogs(ctx context.Context, tried []string) (NoLogsChoice, error) {
	noColor := os.Getenv("NO_COLOR") != ""
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if noColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	n := NewNoLogs(tried, noColor)
	if _, err := tea.NewProgram(n, opts...).Run(); err != nil {
		return NoLogsQuit, err
	}
	return n.choice, nil
}
