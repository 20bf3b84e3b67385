package ui

import (
	"context"
	"fmt"
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
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/playbook"
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
		what   string
		n      int
		detail string
		err    error
	}
	reportDone struct {
		label  string
		n      int
		detail string
		err    error
	}
	// complaintMsg brings a drill's abuse complaint once it arrived.
	complaintMsg struct {
		text string
		err  error
	}
	// drillOverMsg says the drill's scenario has been played to its end.
	drillOverMsg struct{}
)

// rootMode is what has the keyboard.
type rootMode int

const (
	modeNormal rootMode = iota
	modeHelp
	modeDialog
	modeConfirm
	modeComplaint // reading a drill's abuse complaint
	modeScore     // the drill is over: its score
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
	// seen holds the IDs of the findings already in the timeline.
	seen map[string]bool
	// drill mode: the score once the drill is over, and whether the
	// complaint is being fetched.
	score      *drill.Score
	fetching   bool
	complaintY int
}

// Result is what the console leaves behind when it ends.
type Result struct {
	// Score is the drill's score; nil outside a drill.
	Score *drill.Score
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
		wall:   cfg.Now,
		tl:     &timelineQueue{tl: cfg.Timeline},
	}
	m := &Model{cfg: cfg, c: c, keys: newGlobalKeys(cfg.Engines), help: help.New(), seen: map[string]bool{}}
	if cfg.NoColor {
		m.help.Styles = help.Styles{}
	} else {
		m.help.Styles = help.DefaultDarkStyles()
	}
	m.panes = [...]pane{newOverview(c), newAttackers(c), newPages(c), newMail(c), newDNS(c), newBlocks(c), newLogPane(c), newPlaybookPane(c)}
	return m
}

func (m *Model) playbook() *playbookPane { return m.panes[scrPlaybook].(*playbookPane) }

// Result returns the drill's score (computed now if the drill was cut
// short) once the program ended.
func (m *Model) Result() Result {
	if m.cfg.Drill != nil && m.score == nil {
		m.finalScore()
	}
	return Result{Score: m.score}
}

// finalScore computes the drill's score with the playbook steps done.
func (m *Model) finalScore() {
	done, skipped := 0, 0
	if r := m.playbook().run; r != nil {
		done, skipped = r.Counts()
	}
	sc := m.cfg.Drill.Score(done, skipped)
	m.score = &sc
}

// Run starts the console on the terminal and returns when the operator
// quits or ctx ends, with the drill's score in a drill.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if os.Getenv("NO_COLOR") != "" {
		cfg.NoColor = true
	}
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if cfg.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	m := New(cfg)
	_, err := tea.NewProgram(m, opts...).Run()
	if err == tea.ErrProgramKilled && ctx.Err() != nil {
		err = nil
	}
	return m.Result(), err
}

// Init takes the first snapshot and starts the tick and the trace relay.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.snapshotCmd(), m.tick()}
	if m.cfg.Trace != nil {
		cmds = append(cmds, waitTrace(m.cfg.Trace.Results()))
	}
	if d := m.cfg.Drill; d != nil {
		done := d.Done()
		cmds = append(cmds, func() tea.Msg { <-done; return drillOverMsg{} })
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
		return m, tea.Batch(m.snapshotCmd(), m.tick(), m.fetchComplaint())
	case snapMsg:
		if msg.s == nil {
			return m, nil
		}
		m.c.snap = msg.s
		cmd := m.onSnapshot()
		m.panes[m.active].Refresh()
		return m, cmd
	case timelineDone:
		if msg.err != nil {
			m.status = "error: the timeline was not written: " + sanitize.Text(msg.err.Error())
		}
		return m, m.c.tl.done()
	case complaintMsg:
		m.fetching = false
		if msg.err != nil || msg.text == "" || m.c.complaint != "" {
			return m, nil
		}
		m.c.complaint = msg.text
		m.keys.Complaint.SetEnabled(true)
		m.status = "An abuse complaint arrived — press c to read it"
		m.panes[m.active].Refresh()
		return m, m.c.record(playbook.EventNote, "an abuse complaint arrived", firstLine(msg.text))
	case drillOverMsg:
		if m.score == nil {
			m.finalScore()
			sc := m.score
			m.mode = modeScore
			if m.dialog != nil && !m.dialog.busy {
				m.dialog = nil // the drill is over: nothing left to block
			}
			return m, m.c.record(playbook.EventNote, fmt.Sprintf("drill %q over: %.0f %% of the attack stopped, %.2f %% of legitimate traffic cut",
				sc.Scenario, sc.AttackStopped*100, sc.Collateral*100), "")
		}
		return m, nil
	case runsMsg:
		if msg.err != nil {
			m.status = "error: cannot read saved playbook runs: " + sanitize.Text(msg.err.Error())
		} else if s := m.playbook().resume(msg.runs); s != "" {
			m.status = s
			m.panes[m.active].Refresh()
		}
		return m, nil
	case runSavedMsg:
		if msg.err != nil {
			m.status = "error: the playbook run was not saved: " + sanitize.Text(msg.err.Error())
		}
		return m, nil
	case stepBlockMsg:
		return m, m.openBlockWith(msg.sel, &msg.preset)
	case stepReportMsg:
		if msg.err != nil {
			m.status = "error: not added to the abuse report: " + sanitize.Text(msg.err.Error())
		}
		return m, m.playbook().onReport(msg)
	case commandSavedMsg:
		if s := m.playbook().onCommandSaved(msg); s != "" {
			m.status = s
		}
		return m, nil
	case playFindingMsg:
		pp := m.playbook()
		if pp.active() {
			m.switchTo(scrPlaybook)
			m.status = "a playbook is in progress: finish it, or stop it with x, before starting another"
			return m, nil
		}
		pp.openFor(msg.f)
		m.switchTo(scrPlaybook)
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
		m.dialog = nil
		if m.mode == modeDialog {
			m.mode = modeNormal
		}
		if msg.err != nil {
			m.status = "error: block not applied: " + sanitize.Text(msg.err.Error())
			return m, listBlocks(m.cfg.Block)
		}
		what := strconv.Itoa(msg.n) + " target(s) of " + sanitize.Text(msg.label)
		m.status = "blocked " + what + " (undo on screen 6)"
		r := msg.req
		result := "blocked " + strconv.Itoa(msg.n) + " target(s): " + strings.TrimSpace(string(r.Action)+" "+r.Rate) + " on " + scopeName(r.Ports) + " for " + duration(r.TTL)
		cmds := []tea.Cmd{listBlocks(m.cfg.Block), m.c.record(playbook.EventBlock, "blocked "+what+": "+strings.TrimSpace(string(r.Action)+" "+r.Rate)+
			" on "+scopeName(r.Ports)+" for "+duration(r.TTL), prefixList(r.Targets))}
		if msg.tag != "" {
			cmds = append(cmds, m.playbook().onBlockApplied(msg.tag, result))
		}
		return m, tea.Batch(cmds...)
	case unblockMsg:
		return m, m.unblock(msg)
	case unblockAllMsg:
		m.askUnblockAll()
		return m, nil
	case unblockDone:
		if msg.err != nil {
			m.status = "error: unblock " + msg.what + " failed: " + sanitize.Text(msg.err.Error())
			return m, listBlocks(m.cfg.Block)
		}
		m.status = "unblocked " + msg.what
		return m, tea.Batch(listBlocks(m.cfg.Block), m.c.record(playbook.EventUnblock, "unblocked "+msg.what, msg.detail))
	case reportDone:
		if msg.err != nil {
			m.status = "error: not added to the abuse report: " + sanitize.Text(msg.err.Error())
			return m, nil
		}
		m.status = "added " + strconv.Itoa(msg.n) + " target(s) of " + sanitize.Text(msg.label) + " to the abuse report"
		return m, m.c.record(playbook.EventReport, m.status, msg.detail)
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
	case modeComplaint:
		switch k.String() {
		case "down", "j", "pgdown", "space":
			m.complaintY++
		case "up", "k", "pgup":
			m.complaintY = max(m.complaintY-1, 0)
		case "esc", "c", "q", "enter":
			m.mode = modeNormal
		}
		return nil
	case modeScore:
		if key.Matches(k, m.keys.Quit) || k.String() == "enter" || k.String() == "esc" {
			m.quit = true
			return tea.Quit
		}
		return nil
	}
	p := m.panes[m.active]
	if p.Capturing() {
		return p.Update(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.cfg.Drill != nil {
			// a drill ends on its score, which is printed again after exit
			m.finalScore()
			m.mode = modeScore
			return m.c.record(playbook.EventNote, "drill ended by the operator", "")
		}
		m.quit = true
		return tea.Quit
	case key.Matches(k, m.keys.Complaint):
		m.mode, m.complaintY = modeComplaint, 0
		return nil
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

func (m *Model) openBlock(s selection) tea.Cmd { return m.openBlockWith(s, nil) }

func (m *Model) openBlockWith(s selection, pre *dialogPreset) tea.Cmd {
	if len(s.targets) == 0 {
		m.status = "nothing to block here: open a row (enter) down to ASes, prefixes or addresses"
		return nil
	}
	if m.cfg.Block == nil {
		m.status = "no block engine"
		return nil
	}
	m.gen++
	m.dialog = newBlockDialog(m.c, s, m.gen*1000, pre)
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
		return reportDone{label: label, n: len(targets), detail: prefixList(targets), err: r.Add(ctx, targets, label)}
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
		err := b.Unblock(ctx, u.id)
		return unblockDone{what: u.target, n: 1, detail: prefixList(u.targets), err: err}
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
	case modeComplaint:
		body = m.complaintView()
	case modeScore:
		body = m.scoreView()
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
	case modeComplaint, modeScore:
		bindings = nil
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
	line := "data up to " + s.Newest.UTC().Format("2006-01-02 15:04") + " UTC"
	if s.Newest.IsZero() {
		line = "no event yet"
	}
	if m.c.running != "" {
		line = m.c.running + " · " + line
	}
	return line
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
