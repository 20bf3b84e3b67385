package ui

import (
	"net/netip"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/sanitize"
)

type logKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Filter, Clear, Pause                    key.Binding
}

// logPane shows the newest raw lines; it can be paused and filtered, and
// other screens jump here filtered to the lines of one row.
type logPane struct {
	c        *common
	keys     logKeys
	mode     tableMode
	text     string         // typed filter, matched against the sanitized line
	scope    []netip.Prefix // jump filter: lines from these sources
	scopeTxt string         // jump filter: lines containing this text
	label    string
	paused   bool
	frozen   []analyze.RecentLine
	matched  []int // indexes of the matching lines, oldest first
	back     int   // lines scrolled back from the newest
	w, h     int
}

func newLogPane(c *common) *logPane {
	nav := newNavKeys()
	p := &logPane{c: c, keys: logKeys{
		Up: nav.Up, Down: nav.Down, PageUp: nav.PageUp, PageDown: nav.PageDown, Top: nav.Top, Bottom: nav.Bottom,
		Filter: nav.Filter,
		Clear:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Pause:  key.NewBinding(key.WithKeys("p", "space"), key.WithHelp("p", "pause/follow")),
	}}
	p.syncKeys()
	return p
}

func (p *logPane) syncKeys() {
	p.keys.Clear.SetEnabled(p.text != "" || len(p.scope) > 0 || p.scopeTxt != "")
	if p.paused {
		p.keys.Pause.SetHelp("p", "follow")
	} else {
		p.keys.Pause.SetHelp("p", "pause")
	}
}

func (p *logPane) Init() tea.Cmd { return nil }

func (p *logPane) SetSize(w, h int) { p.w, p.h = w, h }

func (p *logPane) lines() []analyze.RecentLine {
	if p.paused {
		return p.frozen
	}
	if p.c.snap == nil {
		return nil
	}
	return p.c.snap.Recent
}

func (p *logPane) Refresh() {
	ls := p.lines()
	p.matched = p.matched[:0]
	f := strings.ToLower(p.text)
	for i := range ls {
		if p.matches(&ls[i], f) {
			p.matched = append(p.matched, i)
		}
	}
	p.back = min(p.back, max(len(p.matched)-p.listHeight(), 0))
}

func (p *logPane) matches(l *analyze.RecentLine, f string) bool {
	if len(p.scope) > 0 {
		in := false
		for _, s := range p.scope {
			if l.Src.IsValid() && s.Contains(l.Src) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	if p.scopeTxt != "" && !strings.Contains(l.Line, p.scopeTxt) {
		return false
	}
	return f == "" || strings.Contains(strings.ToLower(sanitize.Text(l.Line)), f)
}

// jump filters the log to one row's lines.
func (p *logPane) jump(s selection) {
	p.scope, p.scopeTxt, p.text = nil, "", ""
	if len(s.targets) > 0 {
		p.scope = s.targets
	} else {
		for _, a := range s.addrs {
			p.scope = append(p.scope, hostPrefix(a))
		}
	}
	if len(p.scope) == 0 {
		p.scopeTxt = s.logText
	}
	p.label = s.label
	p.back = 0
	p.syncKeys()
	p.Refresh()
}

func (p *logPane) Capturing() bool { return p.mode == tableFilter }

func (p *logPane) listHeight() int { return max(p.h-1, 1) }

func (p *logPane) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if p.mode == tableFilter {
		pk := p.c.prompt
		switch {
		case key.Matches(k, pk.Accept):
			p.mode = tableBrowse
		case key.Matches(k, pk.Cancel):
			p.mode, p.text = tableBrowse, ""
		case key.Matches(k, pk.Delete):
			if r := []rune(p.text); len(r) > 0 {
				p.text = string(r[:len(r)-1])
			}
		default:
			if len(p.text) < 200 {
				p.text += k.Text
			}
		}
		p.syncKeys()
		p.Refresh()
		return nil
	}
	lh := p.listHeight()
	switch {
	case key.Matches(k, p.keys.Filter):
		p.mode = tableFilter
	case key.Matches(k, p.keys.Clear):
		p.scope, p.scopeTxt, p.text, p.label = nil, "", "", ""
	case key.Matches(k, p.keys.Pause):
		p.paused = !p.paused
		if p.paused && p.c.snap != nil {
			p.frozen = p.c.snap.Recent
		}
		p.back = 0
	case key.Matches(k, p.keys.Up):
		p.scrollBack(1)
	case key.Matches(k, p.keys.Down):
		p.scrollBack(-1)
	case key.Matches(k, p.keys.PageUp):
		p.scrollBack(lh)
	case key.Matches(k, p.keys.PageDown):
		p.scrollBack(-lh)
	case key.Matches(k, p.keys.Top):
		p.scrollBack(len(p.matched))
	case key.Matches(k, p.keys.Bottom):
		p.back = 0
	default:
		return nil
	}
	p.syncKeys()
	p.Refresh()
	return nil
}

// scrollBack moves through history; scrolling pauses so lines stay put.
func (p *logPane) scrollBack(n int) {
	if !p.paused && n > 0 {
		p.paused = true
		if p.c.snap != nil {
			p.frozen = p.c.snap.Recent
		}
	}
	p.back = min(max(p.back+n, 0), max(len(p.matched)-p.listHeight(), 0))
}

func (p *logPane) Selection() selection { return selection{} }

func (p *logPane) View() string {
	st := p.c.st
	ls := p.lines()
	state := "following"
	if p.paused {
		state = "PAUSED"
	}
	head := "Log: " + state
	if p.label != "" {
		head += "  lines of " + sanitize.Text(p.label)
	} else if p.scopeTxt != "" {
		head += "  lines with " + sanitize.Text(p.scopeTxt)
	}
	if p.mode == tableFilter || p.text != "" {
		head += "  /" + sanitize.Text(p.text)
		if p.mode == tableFilter {
			head += "▏"
		}
	}
	var b strings.Builder
	b.WriteString(st.Title.Render(fit(head, p.w)))
	lh := p.listHeight()
	end := len(p.matched) - p.back
	start := max(end-lh, 0)
	n := 0
	if len(p.matched) == 0 {
		b.WriteString("\n" + st.Dim.Render(fit("no line matches", p.w)))
		n++
	}
	for _, i := range p.matched[start:max(end, start)] {
		l := &ls[i]
		b.WriteString("\n" + fit(l.Time.UTC().Format("15:04:05")+" "+l.Line, p.w))
		n++
	}
	for ; n < lh; n++ {
		b.WriteByte('\n')
	}
	return b.String()
}

func (p *logPane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Pause, p.keys.Filter, p.keys.Clear, p.keys.Up, p.keys.Down}
}

func (p *logPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{p.keys.Up, p.keys.Down, p.keys.PageUp, p.keys.PageDown, p.keys.Top, p.keys.Bottom}, {p.keys.Pause, p.keys.Filter, p.keys.Clear}}
}
