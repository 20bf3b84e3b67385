package ui

import "charm.land/bubbles/v2/key"

// globalKeys work on every screen unless a dialog or a filter prompt has
// the keyboard.
type globalKeys struct {
	Quit, Help, Next, Prev key.Binding
	Screens                [len(screenNames)]key.Binding
	Block, Trace, Report   key.Binding
	Log                    key.Binding
	Complaint              key.Binding // a drill's abuse complaint, once it arrived
}

func newGlobalKeys(e Engines) globalKeys {
	k := globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next screen")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous screen")),
		Block:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "block")),
		Trace:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "trace")),
		Report:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "abuse report")),
		Log:       key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "its log lines")),
		Complaint: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "read the complaint")),
	}
	k.Complaint.SetEnabled(false)
	for i, name := range screenNames {
		n := string(rune('1' + i))
		k.Screens[i] = key.NewBinding(key.WithKeys(n), key.WithHelp(n, name))
	}
	k.Block.SetEnabled(e.Block != nil)
	k.Trace.SetEnabled(e.Trace != nil)
	k.Report.SetEnabled(e.Report != nil)
	return k
}

func (k globalKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Next, k.Block, k.Trace, k.Report, k.Log, k.Complaint, k.Quit}
}

func (k globalKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.Prev, k.Help, k.Quit},
		k.Screens[:],
		{k.Block, k.Trace, k.Report, k.Log, k.Complaint},
	}
}

// navKeys move through a list. Every pane owns a copy so it can disable
// the bindings that do nothing in its current state and keep help true.
type navKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Enter, Back                             key.Binding
	Mark, Filter, Sort, Reverse, Section    key.Binding
}

func newNavKeys() navKeys {
	return navKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Enter:    key.NewBinding(key.WithKeys("enter", "right"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("esc", "left", "backspace"), key.WithHelp("esc", "back")),
		Mark:     key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort column")),
		Reverse:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort")),
		Section:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "next list")),
	}
}

func (k navKeys) moves() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// promptKeys edit a filter prompt.
type promptKeys struct {
	Accept, Cancel, Delete key.Binding
}

func newPromptKeys() promptKeys {
	return promptKeys{
		Accept: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Delete: key.NewBinding(key.WithKeys("backspace"), key.WithHelp("backspace", "delete")),
	}
}

// dialogKeys drive the block dialog and confirmations.
type dialogKeys struct {
	Up, Down, Left, Right key.Binding
	Confirm, Cancel       key.Binding
	ScrollUp, ScrollDown  key.Binding
	Yes, No               key.Binding
}

func newDialogKeys() dialogKeys {
	return dialogKeys{
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous field")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next field")),
		Left:       key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous value")),
		Right:      key.NewBinding(key.WithKeys("right", "l", "space"), key.WithHelp("→/l", "next value")),
		Confirm:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Cancel:     key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "cancel")),
		ScrollUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "scroll rules")),
		ScrollDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "scroll rules")),
		Yes:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:         key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
	}
}

func (k dialogKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Confirm, k.Cancel, k.ScrollDown}
}

func (k dialogKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Left, k.Right}, {k.Confirm, k.Cancel, k.ScrollUp, k.ScrollDown}}
}
