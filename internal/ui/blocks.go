package ui

import (
	"net/netip"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// unblockMsg asks the root to undo one block; unblockAllMsg asks it to
// confirm and undo every block.
type (
	unblockMsg struct {
		id, target string
		targets    []netip.Prefix
	}
	unblockAllMsg struct{}
)

type blocksKeys struct {
	navKeys
	Undo, UndoAll key.Binding
}

// blocksPane lists the blocks in force with their countdown and counters.
type blocksPane struct {
	c    *common
	keys blocksKeys
	t    *table
	w, h int
}

func newBlocks(c *common) *blocksPane {
	p := &blocksPane{c: c, keys: blocksKeys{
		navKeys: newNavKeys(),
		Undo:    key.NewBinding(key.WithKeys("u", "x", "delete"), key.WithHelp("u", "undo block")),
		UndoAll: key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "unblock all")),
	}}
	p.t = newTable(c.st, []column{
		{title: "TARGET", width: 0, sortable: true},
		{title: "PORTS", width: 11, sortable: true},
		{title: "ACTION", width: 9, sortable: true},
		{title: "TTL", width: 6, right: true, sortable: true},
		{title: "PACKETS", width: 7, right: true, sortable: true},
		{title: "BYTES", width: 6, right: true, sortable: true},
		{title: "REASON", width: 12},
	}, 3, "no active block")
	p.t.desc = false
	p.t.noMarks = true
	p.keys.Enter.SetEnabled(false)
	p.keys.Back.SetEnabled(false)
	p.keys.Mark.SetEnabled(false)
	p.keys.Section.SetEnabled(false)
	p.syncKeys()
	return p
}

func (p *blocksPane) syncKeys() {
	has := len(p.c.blocks) > 0 && p.c.eng.Block != nil
	p.keys.Undo.SetEnabled(has)
	p.keys.UndoAll.SetEnabled(has)
}

func (p *blocksPane) Init() tea.Cmd { return nil }

func (p *blocksPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.t.setSize(w, h-1)
}

func (p *blocksPane) Refresh() {
	rows := make([]row, 0, len(p.c.blocks))
	for _, b := range p.c.blocks {
		ttl, left := "never", 1e18
		if !b.Expires.IsZero() {
			d := b.Expires.Sub(p.c.now)
			ttl, left = duration(d), d.Seconds()
		}
		ports := b.Ports
		if ports == "" {
			ports = "all"
		}
		rows = append(rows, row{
			key:     b.ID,
			cells:   []string{b.Target, ports, b.Action, ttl, humanInt(int64(b.Packets)), bytesHuman(int64(b.Bytes)), b.Reason},
			sort:    nums(nan, nan, nan, left, float64(b.Packets), float64(b.Bytes), nan),
			label:   b.Target,
			targets: b.Targets,
		})
	}
	p.t.setRows(rows)
	p.syncKeys()
}

func (p *blocksPane) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if p.t.update(k, p.keys.navKeys, p.c.prompt) {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Undo):
		if r := p.t.selected(); r != nil {
			id, target, ts := r.key, r.label, r.targets
			return func() tea.Msg { return unblockMsg{id: id, target: target, targets: ts} }
		}
	case key.Matches(k, p.keys.UndoAll):
		return func() tea.Msg { return unblockAllMsg{} }
	case key.Matches(k, p.c.prompt.Cancel):
		p.t.clearFilter()
	}
	return nil
}

func (p *blocksPane) Capturing() bool { return p.t.capturing() }

// Selection is empty: blocking a block makes no sense, and its log lines
// are those of its target, which the other screens already jump to.
func (p *blocksPane) Selection() selection { return selection{} }

func (p *blocksPane) View() string {
	title := "Active blocks: " + strconv.Itoa(len(p.c.blocks))
	if p.c.eng.Block == nil {
		title += "  (no block engine)"
	}
	return p.c.st.Title.Render(fit(title, p.w)) + "\n" + p.t.view()
}

func (p *blocksPane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Undo, p.keys.UndoAll}
}

func (p *blocksPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{p.keys.moves(), {p.keys.Undo, p.keys.UndoAll, p.keys.Filter, p.keys.Sort}}
}
