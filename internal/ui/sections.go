package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
)

// section is one list of a sectioned screen (Mail has actions, clients and
// senders; DNS has names, types, clients and denied queries).
type section struct {
	name  string
	what  string // plural noun for a selection of several rows
	t     *table
	build func(s *analyze.Snapshot) []row
	// open, when set, lets Enter show a sub-list for the selected row.
	open func(r row) *section
}

// sectioned is a screen made of sections switched with v, each optionally
// opening one level deeper with Enter.
type sectioned struct {
	c        *common
	keys     navKeys
	sections []*section
	cur      int
	sub      *section // the opened sub-list, if any
	subTitle string
	summary  func(s *analyze.Snapshot, w int) string
	w, h     int
}

func newSectioned(c *common, secs ...*section) *sectioned {
	p := &sectioned{c: c, keys: newNavKeys(), sections: secs}
	p.syncKeys()
	return p
}

func (p *sectioned) active() *section {
	if p.sub != nil {
		return p.sub
	}
	return p.sections[p.cur]
}

func (p *sectioned) syncKeys() {
	p.keys.Section.SetEnabled(len(p.sections) > 1 && p.sub == nil)
	p.keys.Enter.SetEnabled(p.sub == nil && p.sections[p.cur].open != nil)
	p.keys.Back.SetEnabled(p.sub != nil)
}

func (p *sectioned) Init() tea.Cmd { return nil }

func (p *sectioned) bodyHeight() int {
	h := p.h - 1
	if p.summary != nil {
		h--
	}
	return h
}

func (p *sectioned) SetSize(w, h int) {
	p.w, p.h = w, h
	for _, s := range p.sections {
		s.t.setSize(w, p.bodyHeight())
	}
	if p.sub != nil {
		p.sub.t.setSize(w, p.bodyHeight())
	}
}

func (p *sectioned) Refresh() {
	if p.c.snap == nil {
		return
	}
	s := p.active()
	s.t.setRows(s.build(p.c.snap))
}

func (p *sectioned) Capturing() bool { return p.active().t.capturing() }

func (p *sectioned) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if p.active().t.update(k, p.keys, p.c.prompt) {
		return nil
	}
	if key.Matches(k, p.c.prompt.Cancel) && p.active().t.clearFilter() {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Section):
		p.cur = (p.cur + 1) % len(p.sections)
		p.syncKeys()
		p.Refresh()
	case key.Matches(k, p.keys.Enter):
		r := p.active().t.selected()
		if r == nil || p.sections[p.cur].open == nil {
			return nil
		}
		p.sub = p.sections[p.cur].open(*r)
		p.subTitle = r.key
		p.sub.t.setSize(p.w, p.bodyHeight())
		p.syncKeys()
		p.Refresh()
	case key.Matches(k, p.keys.Back):
		if p.sub != nil {
			p.sub = nil
			p.syncKeys()
			p.Refresh()
		}
	}
	return nil
}

func (p *sectioned) Selection() selection {
	s := p.active()
	return selectionOf(s.t.chosen(), s.what)
}

func (p *sectioned) View() string {
	st := p.c.st
	var b strings.Builder
	if p.summary != nil {
		b.WriteString(clip(p.summary(p.c.snap, p.w), p.w) + "\n")
	}
	if p.sub != nil {
		b.WriteString(st.Title.Render(fit(p.sections[p.cur].name+" › "+p.subTitle+" › "+p.sub.name, p.w)) + "\n")
	} else {
		// every section's name is shown; the current one in brackets
		var names []string
		for i, s := range p.sections {
			if i == p.cur {
				names = append(names, st.Title.Render("["+s.name+"]"))
			} else {
				names = append(names, " "+s.name+" ")
			}
		}
		hint := ""
		if len(p.sections) > 1 {
			hint = st.Dim.Render("  (v: next list)")
		}
		b.WriteString(clip(strings.Join(names, " ")+hint, p.w) + "\n")
	}
	b.WriteString(p.active().t.view())
	return b.String()
}

func (p *sectioned) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Section, p.keys.Enter, p.keys.Back, p.keys.Filter, p.keys.Sort}
}

func (p *sectioned) FullHelp() [][]key.Binding {
	return [][]key.Binding{p.keys.moves(), {p.keys.Section, p.keys.Enter, p.keys.Back, p.keys.Mark}, {p.keys.Filter, p.keys.Sort, p.keys.Reverse}}
}
