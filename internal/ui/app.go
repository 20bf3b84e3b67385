package ui

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/sanitize"
)

// The smallest terminal the console draws in; below it, it says so.
const (
	MinWidth  = 60
	MinHeight = 16
)

// Messages the root model owns.
type (
	tickMsg   struct{ t time.Time }
	snapMsg   struct{ s *analyze.Snapshot }
	blocksMsg struct {
		list []ActiveBlock
		err  error
	}
	traceMsg    TraceResult
	unblockDone struct {
		what string
		n    int
		err  error
	}
	reportDone struct {
		label string
		n     int
		err   error
	}
)

// rootMode is what has the keyboard.
type rootMode int

const (
	modeNormal rootMode = iota
	modeHelp
	modeDialog
	modeConfirm
)

// Model is the console's root model: a router over the screens.
type Model struct {
	cfg     Config
	c       *common
	keys    globalKeys
	help    help.Model
	panes   [len(screenNames)]pane
	active  int
	mode    rootMode
	dialog  *blockDialog
	confirm *confirm
	status  string
	gen     int
	quit    bool
}

// New builds the console. It takes no snapshot yet: Init asks for the first.
func New(cfg Config) *Model {
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &common{
		st:     newStyles(cfg.NoColor),
		eng:    cfg.Engines,
		mode:   cfg.Mode,
		now:    cfg.Now(),
		traces: map[netip.Addr]TraceResult{},
		prompt: newPromptKeys(),
	}
	m := &Model{cfg: cfg, c: c, keys: newGlobalKeys(cfg.Engines), help: help.New()}
	if cfg.NoColor {
		m.help.Styles = help.Styles{}
	} else {
		m.help.Styles = help.DefaultDarkStyles()
	}
	m.panes = [...]pane{newOverview(c), newAttackers(c), newPages(c), newMail(c), newDNS(c), newBlocks(c), newLogPane(c)}
	return m
}

// Run starts the console on the terminal and returns when the operator
// quits or ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if cfg.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	_, err := tea.NewProgram(New(cfg), opts...).Run()
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		return nil
	}
	return err
}

// Init takes the first snapshot and starts the tick and the trace relay.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.snapshotCmd(), m.tick()}
	if m.cfg.Trace != nil {
		cmds = append(cmds, waitTrace(m.cfg.Trace.Results()))
	}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.cfg.Refresh, func(t time.Time) tea.Msg { return tickMsg{t} })
}

// snapshotCmd takes the snapshot and lists blocks off the UI goroutine.
func (m *Model) snapshotCmd() tea.Cmd {
	snap := m.cfg.Snapshot
	cmds := []tea.Cmd{func() tea.Msg { return snapMsg{snap()} }}
	if b := m.cfg.Block; b != nil {
		cmds = append(cmds, listBlocks(b))
	}
	return tea.Batch(cmds...)
}

func listBlocks(b Blocker) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		l, err := b.List(ctx)
		return blocksMsg{l, err}
	}
}

// waitTrace relays one trace result at a time from the tracer's channel.
func waitTrace(ch <-chan TraceResult) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return nil
		}
		return traceMsg(r)
	}
}

// Update routes: keys (dialogs, then global, then the screen), sizes, then
// domain messages to their owner, the rest to the screen in front.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.WindowSizeMsg:
		m.c.width, m.c.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tickMsg:
		m.c.now = m.cfg.Now()
		return m, tea.Batch(m.snapshotCmd(), m.tick())
	case snapMsg:
		if msg.s != nil {
			m.c.snap = msg.s
			m.panes[m.active].Refresh()
		}
		return m, nil
	case blocksMsg:
		if msg.err != nil {
			m.status = "error: cannot list blocks: " + sanitize.Text(msg.err.Error())
		} else {
			m.c.blocks = msg.list
		}
		m.panes[scrBlocks].Refresh()
		return m, nil
	case traceMsg:
		if len(m.c.traces) >= maxTraces {
			clear(m.c.traces)
		}
		m.c.traces[msg.Addr] = TraceResult(msg)
		if m.active == scrAttackers {
			m.panes[scrAttackers].Refresh()
		}
		return m, waitTrace(m.cfg.Trace.Results())
	case planMsg:
		if m.dialog != nil {
			m.dialog.onPlan(msg)
		}
		return m, nil
	case impactMsg:
		if m.dialog != nil && msg.gen <= m.dialog.gen {
			m.dialog.onImpact(msg)
		}
		return m, nil
	case appliedMsg:
		m.dialog, m.mode = nil, modeNormal
		if msg.err != nil {
			m.status = "error: block not applied: " + sanitize.Text(msg.err.Error())
		} else {
			m.status = "blocked " + strconv.Itoa(msg.n) + " target(s) of " + sanitize.Text(msg.label) + " (undo on screen 6)"
		}
		return m, listBlocks(m.cfg.Block)
	case unblockMsg:
		return m, m.unblock(msg)
	case unblockAllMsg:
		m.askUnblockAll()
		return m, nil
	case unblockDone:
		if msg.err != nil {
			m.status = "error: unblock " + msg.what + " failed: " + sanitize.Text(msg.err.Error())
		} else {
			m.status = "unblocked " + msg.what
		}
		return m, listBlocks(m.cfg.Block)
	case reportDone:
		if msg.err != nil {
			m.status = "error: not added to the abuse report: " + sanitize.Text(msg.err.Error())
		} else {
			m.status = "added " + strconv.Itoa(msg.n) + " target(s) of " + sanitize.Text(msg.label) + " to the abuse report"
		}
		return m, nil
	}
	return m, m.panes[m.active].Update(msg)
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		m.quit = true
		return tea.Quit
	}
	switch m.mode {
	case modeDialog:
		cmd, done := m.dialog.update(k)
		if done {
			m.dialog, m.mode = nil, modeNormal
			m.status = "block cancelled"
		}
		return cmd
	case modeConfirm:
		d := newDialogKeys()
		switch {
		case key.Matches(k, d.Yes):
			yes := m.confirm.yes
			m.confirm, m.mode = nil, modeNormal
			return yes()
		case key.Matches(k, d.No):
			m.confirm, m.mode = nil, modeNormal
			m.status = "cancelled"
		}
		return nil
	case modeHelp:
		if key.Matches(k, m.keys.Help) || k.String() == "esc" || key.Matches(k, m.keys.Quit) {
			m.mode = modeNormal
		}
		return nil
	}
	p := m.panes[m.active]
	if p.Capturing() {
		return p.Update(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		m.quit = true
		return tea.Quit
	case key.Matches(k, m.keys.Help):
		m.mode = modeHelp
		return nil
	case key.Matches(k, m.keys.Next):
		m.switchTo((m.active + 1) % len(m.panes))
		return nil
	case key.Matches(k, m.keys.Prev):
		m.switchTo((m.active + len(m.panes) - 1) % len(m.panes))
		return nil
	case key.Matches(k, m.keys.Block):
		return m.openBlock(p.Selection())
	case key.Matches(k, m.keys.Trace):
		return m.trace(p.Selection())
	case key.Matches(k, m.keys.Report):
		return m.report(p.Selection())
	case key.Matches(k, m.keys.Log) && m.active != scrLog:
		s := p.Selection()
		if s.empty() {
			m.status = "nothing selected: pick a row first"
			return nil
		}
		m.panes[scrLog].(*logPane).jump(s)
		m.switchTo(scrLog)
		return nil
	}
	for i, b := range m.keys.Screens {
		if key.Matches(k, b) {
			m.switchTo(i)
			return nil
		}
	}
	return p.Update(k)
}

func (m *Model) switchTo(i int) {
	m.active = i
	m.status = ""
	m.panes[i].Refresh()
}

func (m *Model) openBlock(s selection) tea.Cmd {
	if len(s.targets) == 0 {
		m.status = "nothing to block here: open a row (enter) down to ASes, prefixes or addresses"
		return nil
	}
	m.gen++
	m.dialog = newBlockDialog(m.c, s, m.gen*1000)
	m.dialog.setSize(m.c.width, m.bodyHeight())
	m.mode = modeDialog
	return m.dialog.start()
}

// maxTraceBatch bounds how many addresses one key press traces.
const maxTraceBatch = 64

func (m *Model) trace(s selection) tea.Cmd {
	addrs := s.addrs
	if len(addrs) == 0 {
		for _, t := range s.targets {
			addrs = append(addrs, t.Addr())
		}
	}
	if len(addrs) == 0 {
		m.status = "nothing to trace here"
		return nil
	}
	if len(addrs) > maxTraceBatch {
		addrs = addrs[:maxTraceBatch]
	}
	m.status = "tracing " + strconv.Itoa(len(addrs)) + " address(es) of " + sanitize.Text(s.label) + "…"
	return traceCmd(m.cfg.Trace, addrs)
}

func (m *Model) report(s selection) tea.Cmd {
	if len(s.targets) == 0 {
		m.status = "nothing to report here"
		return nil
	}
	r, targets, label := m.cfg.Report, s.targets, s.label
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		return reportDone{label: label, n: len(targets), err: r.Add(ctx, targets, label)}
	}
}

func (m *Model) unblock(u unblockMsg) tea.Cmd {
	b := m.cfg.Block
	if b == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		return unblockDone{what: u.target, n: 1, err: b.Unblock(ctx, u.id)}
	}
}

func (m *Model) askUnblockAll() {
	b := m.cfg.Block
	if b == nil || len(m.c.blocks) == 0 {
		return
	}
	m.mode = modeConfirm
	m.confirm = &confirm{
		question: "Remove all " + strconv.Itoa(len(m.c.blocks)) + " active blocks? (y/n)",
		yes: func() tea.Cmd {
			return func() tea.Msg {
				ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
				defer cancel()
				n, err := b.UnblockAll(ctx)
				return unblockDone{what: "all (" + strconv.Itoa(n) + " blocks)", n: n, err: err}
			}
		},
	}
}

// layout is a pure function of the size: header, body, two footer lines.
func (m *Model) bodyHeight() int { return max(m.c.height-3, 1) }

func (m *Model) layout() {
	for _, p := range m.panes {
		p.SetSize(m.c.width, m.bodyHeight())
	}
	if m.dialog != nil {
		m.dialog.setSize(m.c.width, m.bodyHeight())
	}
	m.help.SetWidth(m.c.width)
	m.panes[m.active].Refresh()
}

// View draws the screen. It changes nothing.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "irtui"
	return v
}

func (m *Model) render() string {
	w, h := m.c.width, m.c.height
	if w == 0 || h == 0 {
		return ""
	}
	if w < MinWidth || h < MinHeight {
		return tooSmall(w, h)
	}
	var body string
	switch m.mode {
	case modeHelp:
		body = m.helpView()
	case modeDialog:
		body = m.dialog.view()
	default:
		body = m.panes[m.active].View()
	}
	lines := strings.Split(body, "\n")
	bh := m.bodyHeight()
	if len(lines) > bh {
		lines = lines[:bh]
	}
	for len(lines) < bh {
		lines = append(lines, "")
	}
	if m.mode == modeConfirm {
		q := m.c.st.Warn.Render(fit(m.confirm.question, w))
		lines[bh/2] = q
	}
	for i, l := range lines {
		lines[i] = clip(l, w)
	}
	return m.header() + "\n" + strings.Join(lines, "\n") + "\n" + m.footer()
}

func tooSmall(w, h int) string {
	msg := "Terminal too small: " + strconv.Itoa(w) + "x" + strconv.Itoa(h) + ".\nirtui needs at least " +
		strconv.Itoa(MinWidth) + "x" + strconv.Itoa(MinHeight) + ".\nEnlarge the window, or press q to quit."
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, msg)
}

// header: name, the mode (always), and the screens with the current one in
// brackets so it reads without colour.
func (m *Model) header() string {
	st := m.c.st
	w := m.c.width
	mode := st.Mode[m.c.mode].Render("[" + m.c.mode.String() + "]")
	var tabs []string
	full := len("irtui ") + len(m.c.mode.String()) + 3
	for _, n := range screenNames {
		full += len(n) + 3
	}
	short := full+2 > w
	for i, n := range screenNames {
		name := strconv.Itoa(i+1) + " " + n
		if short && i != m.active {
			name = strconv.Itoa(i+1) + n[:min(3, len(n))]
		}
		if i == m.active {
			tabs = append(tabs, st.TabActive.Render("["+name+"]"))
		} else {
			tabs = append(tabs, st.Tab.Render(name))
		}
	}
	return clip("irtui "+mode+" "+strings.Join(tabs, " "), w)
}

func (m *Model) footer() string {
	st := m.c.st
	w := m.c.width
	status := m.status
	if status == "" {
		status = m.dataLine()
	}
	if strings.HasPrefix(status, "error:") {
		status = st.Err.Render("error:") + strings.TrimPrefix(status, "error:")
	}
	var bindings []key.Binding
	switch m.mode {
	case modeDialog:
		bindings = m.dialog.keys.ShortHelp()
	case modeHelp:
		bindings = []key.Binding{m.keys.Help}
	default:
		bindings = append(m.panes[m.active].ShortHelp(), m.keys.ShortHelp()...)
	}
	return clip(status, w) + "\n" + clip(m.help.ShortHelpView(bindings), w)
}

// dataLine is shown when there is no message: the data clock to the minute,
// so it costs one redraw a minute.
func (m *Model) dataLine() string {
	s := m.c.snap
	if s == nil {
		return "waiting for data…"
	}
	if s.Newest.IsZero() {
		return "no event yet"
	}
	return "data up to " + s.Newest.UTC().Format("2006-01-02 15:04") + " UTC"
}

func (m *Model) helpView() string {
	st := m.c.st
	groups := append(m.keys.FullHelp(), m.panes[m.active].FullHelp()...)
	// the columns wrap into several blocks so narrow terminals see every key
	var blocks []string
	var chunk [][]key.Binding
	wide := m.help
	wide.SetWidth(0)
	for _, g := range groups {
		if len(chunk) > 0 && lipgloss.Width(wide.FullHelpView(append(slices.Clip(chunk), g))) > m.c.width {
			blocks = append(blocks, m.help.FullHelpView(chunk))
			chunk = nil
		}
		chunk = append(chunk, g)
	}
	if len(chunk) > 0 {
		blocks = append(blocks, m.help.FullHelpView(chunk))
	}
	return st.Title.Render("Keys: everywhere, then on "+screenNames[m.active]) + "\n\n" +
		strings.Join(blocks, "\n\n") + "\n\n" +
		"Severity: CRIT HIGH MED LOW INFO. ▲/▼: rate above/below its baseline.\n" +
		st.Dim.Render("? or esc closes this help")
}
