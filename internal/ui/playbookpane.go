package ui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/sanitize"
)

// Messages of the Playbook screen. Results of slow work carry the tag of
// the step they were started for, so a late answer for a step the operator
// already skipped is dropped.
type (
	runsMsg struct {
		runs []*playbook.Run
		err  error
	}
	runSavedMsg struct{ err error }
	// stepBlockMsg asks the root to open the block dialog for a block step.
	stepBlockMsg struct {
		sel    selection
		preset dialogPreset
	}
	stepReportMsg struct {
		tag, where string
		n          int
		err        error
	}
	commandSavedMsg struct {
		tag, path string
		err       error
	}
	// playFindingMsg opens the Playbook screen for one finding.
	playFindingMsg struct{ f analyze.Finding }
)

type pbKeys struct {
	nav                                    navKeys
	Start, Do, Skip, All, Copy, Back, Stop key.Binding
	Edit                                   key.Binding
}

func newPBKeys() pbKeys {
	nav := newNavKeys()
	nav.Mark.SetHelp("space", "pick/unpick")
	nav.Sort.SetEnabled(false) // s skips a step here
	nav.Reverse.SetEnabled(false)
	nav.Filter.SetEnabled(false)
	nav.Enter.SetEnabled(false)
	nav.Back.SetEnabled(false)
	nav.Section.SetEnabled(false)
	return pbKeys{
		nav:   nav,
		Start: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start playbook")),
		Do:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done")),
		Skip:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip step")),
		All:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "pick all/none")),
		Copy:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "save to a file")),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Stop:  key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop this run")),
		Edit:  key.NewBinding(key.WithKeys("enter", "e"), key.WithHelp("enter", "write the note")),
	}
}

// maxNote bounds a note typed into the timeline.
const maxNote = 1000

// playbookPane suggests the playbooks that match the active findings and
// walks the operator through one, a step at a time. It owns the run: every
// finished step is saved (so a restart resumes it) and written to the
// timeline.
type playbookPane struct {
	c    *common
	keys pbKeys
	list *table
	// forFinding narrows the suggestions to one finding picked on the
	// Overview; nil means every active finding.
	forFinding *analyze.Finding

	run     *playbook.Run
	pb      *playbook.Playbook
	resumed bool

	// state of the current step
	choices  []playbook.Choice
	choose   *table
	eval     string // check and verify: the live result in words
	evalOK   bool
	note     []rune
	editing  bool
	saved    string // command: where y saved the text
	text     string // explain, command: the step's text with its values, rendered once
	commands string // command: the commands with their values, quoted for a shell
	busy     bool   // a block or report of this step is in flight
	stepErr  string // the last failure of this step, shown until it is retried
	stepTag  string
	w, h     int
	stepsTop int // first step line shown
}

func newPlaybookPane(c *common) *playbookPane {
	p := &playbookPane{c: c, keys: newPBKeys()}
	p.list = newTable(c.st, []column{
		{title: "#", width: 2, right: true, sortable: true},
		{title: "PLAYBOOK", width: 18},
		{title: "TITLE", width: 0},
		{title: "SUGGESTED BY", width: 20},
	}, 0, "no playbook loaded")
	p.list.desc = false
	p.list.noMarks = true
	p.choose = newTable(c.st, []column{
		{title: "CHOICE", width: 0},
		{title: "TARGETS", width: 7, right: true},
		{title: "EVENTS", width: 6, right: true},
		{title: "SHARE", width: 6, right: true},
	}, 1, "nothing to choose from in the current data (s skips)")
	p.choose.desc = false
	p.syncKeys()
	return p
}

func (p *playbookPane) Init() tea.Cmd {
	store := p.c.eng.Runs
	if store == nil || p.c.eng.Playbooks == nil {
		return nil
	}
	s := *store
	return func() tea.Msg {
		runs, err := s.Active()
		return runsMsg{runs: runs, err: err}
	}
}

// resume takes the newest unfinished run whose playbook still exists and
// says so; it does nothing when a run was already started.
func (p *playbookPane) resume(runs []*playbook.Run) string {
	if p.run != nil || p.c.eng.Playbooks == nil {
		return ""
	}
	for _, r := range runs {
		pb, ok := p.c.eng.Playbooks.Get(r.Playbook)
		if !ok || len(r.Steps) != len(pb.Steps) || r.Current >= len(pb.Steps) {
			continue
		}
		p.run, p.pb, p.resumed = r, pb, true
		p.enterStep()
		p.syncRunning()
		return "resumed playbook " + pb.Name + " at step " + strconv.Itoa(r.Current+1) + "/" + strconv.Itoa(len(pb.Steps)) +
			" (saved run " + sanitize.Text(r.ID) + ") · press 8"
	}
	return ""
}

func (p *playbookPane) active() bool { return p.run != nil && !p.run.Finished }

func (p *playbookPane) step() *playbook.Step {
	if p.run == nil {
		return nil
	}
	return p.run.Step(p.pb)
}

func (p *playbookPane) syncKeys() {
	k := &p.keys
	st := p.step()
	inList := p.run == nil
	finished := p.run != nil && p.run.Finished
	k.Start.SetEnabled(inList && len(p.list.rows) > 0)
	k.Back.SetEnabled((inList && p.forFinding != nil) || finished || (st != nil && st.Kind == playbook.KindNote && p.editing))
	k.Stop.SetEnabled(st != nil)
	k.Skip.SetEnabled(st != nil && !p.busy && !p.editing)
	choosing := st != nil && st.Kind == playbook.KindChoose
	k.All.SetEnabled(choosing && len(p.choices) > 0)
	k.nav.Mark.SetEnabled(choosing && len(p.choices) > 0)
	k.Copy.SetEnabled(st != nil && st.Kind == playbook.KindCommand)
	k.Edit.SetEnabled(st != nil && st.Kind == playbook.KindNote && !p.editing)
	list := inList || choosing
	for _, b := range []*key.Binding{&k.nav.Up, &k.nav.Down, &k.nav.PageUp, &k.nav.PageDown, &k.nav.Top, &k.nav.Bottom} {
		b.SetEnabled(list)
	}
	k.Do.SetEnabled(st != nil && !p.busy || finished)
	switch {
	case finished:
		k.Do.SetHelp("enter", "back to the playbooks")
	case st == nil:
	case st.Kind == playbook.KindExplain:
		k.Do.SetHelp("enter", "done reading")
	case st.Kind == playbook.KindCheck:
		k.Do.SetHelp("enter", "record the result")
	case st.Kind == playbook.KindChoose:
		k.Do.SetHelp("enter", "confirm the picks")
	case st.Kind == playbook.KindBlock:
		k.Do.SetHelp("enter", "open the block dialog")
	case st.Kind == playbook.KindCommand:
		k.Do.SetHelp("enter", "done")
	case st.Kind == playbook.KindVerify:
		k.Do.SetEnabled(false) // it completes by itself, or times out
	case st.Kind == playbook.KindReport:
		k.Do.SetHelp("enter", "write the report")
	case st.Kind == playbook.KindNote:
		k.Do.SetHelp("enter", "save the note")
		k.Do.SetEnabled(p.editing)
		k.Stop.SetEnabled(!p.editing)
	}
}

func (p *playbookPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.list.setSize(w, max(h-5, 3))
	p.relayout()
}

// relayout sizes the choices under the step's header line and scrolls the
// list of steps to the current one.
func (p *playbookPane) relayout() {
	p.choose.setSize(p.w, max(p.bodyHeight()-1, 2))
	if p.run == nil {
		p.stepsTop = 0
		return
	}
	n := p.stepLines()
	if p.run.Current < p.stepsTop {
		p.stepsTop = p.run.Current
	}
	if p.run.Current >= p.stepsTop+n {
		p.stepsTop = p.run.Current - n + 1
	}
	p.stepsTop = max(min(p.stepsTop, len(p.pb.Steps)-n), 0)
}

// stepLines is how many lines the list of steps takes while running.
func (p *playbookPane) stepLines() int {
	if p.pb == nil {
		return 0
	}
	return min(len(p.pb.Steps), max(3, p.h/3))
}

// bodyHeight is what the current step gets under the title, the steps and
// the step's own title line.
func (p *playbookPane) bodyHeight() int { return max(p.h-p.stepLines()-2, 3) }

// Refresh rebuilds the list of playbooks from the suggestions.
func (p *playbookPane) Refresh() {
	p.refreshList()
	p.syncKeys()
}

func (p *playbookPane) refreshList() {
	lib := p.c.eng.Playbooks
	if lib == nil {
		p.list.setRows(nil)
		return
	}
	order, why := suggest(lib, p.findings())
	for _, pb := range lib.All() {
		if _, ok := why[pb.Name]; !ok {
			order = append(order, pb)
		}
	}
	rows := make([]row, 0, len(order))
	for i, pb := range order {
		rows = append(rows, row{
			key:   pb.Name,
			cells: []string{strconv.Itoa(i + 1), pb.Name, pb.Title, why[pb.Name]},
			sort:  nums(float64(i), nan, nan, nan),
			label: pb.Summary,
		})
	}
	p.list.setRows(rows)
}

// findings are the findings suggestions are made for.
func (p *playbookPane) findings() []analyze.Finding {
	if p.forFinding != nil {
		return []analyze.Finding{*p.forFinding}
	}
	if p.c.snap == nil {
		return nil
	}
	return p.c.snap.Findings
}

// openFor narrows the list to one finding.
func (p *playbookPane) openFor(f analyze.Finding) {
	p.forFinding = &f
	p.refreshList()
	p.syncKeys()
}

func (p *playbookPane) Capturing() bool {
	st := p.step()
	return st != nil && st.Kind == playbook.KindNote && p.editing
}

// Selection is what the run has chosen, so b, t and r act on it too.
func (p *playbookPane) Selection() selection {
	if p.run == nil {
		return selection{}
	}
	var ts []netip.Prefix
	if st := p.step(); st != nil && st.Kind == playbook.KindChoose {
		ts = p.picked()
	} else {
		ts = p.run.ChosenPrefixes()
	}
	s := selection{label: "playbook " + p.pb.Name + " targets", targets: dedupePrefixes(ts)}
	for _, t := range s.targets {
		if t.IsSingleIP() {
			s.addrs = append(s.addrs, t.Addr())
		}
	}
	return s
}

// env gives playbook.ContextFor the console's data.
type paneEnv struct{ c *common }

func (e paneEnv) Snapshot() *analyze.Snapshot { return e.c.snap }
func (e paneEnv) Now() time.Time              { return e.c.clock() }
func (e paneEnv) Values() map[string]float64 {
	if e.c.eng.Drill != nil {
		return e.c.eng.Drill.Values()
	}
	if e.c.eng.Audit != nil {
		return e.c.eng.Audit()
	}
	return nil
}
func (e paneEnv) Block(context.Context, playbook.BlockRequest) (string, error) {
	return "", errors.New("the console applies blocks through its dialog")
}
func (e paneEnv) Report(context.Context, []netip.Prefix, string) (string, error) {
	return "", errors.New("the console writes reports through its engine")
}

func (p *playbookPane) context() *playbook.Context {
	return playbook.ContextFor(p.run, paneEnv{p.c})
}

// start begins pb for the finding picked on the Overview, or the first
// active finding that suggests it.
func (p *playbookPane) start(pb *playbook.Playbook) tea.Cmd {
	var f *analyze.Finding
	if p.forFinding != nil && slices.Contains(pb.SuggestedBy, p.forFinding.Kind) {
		f = p.forFinding
	} else if p.c.snap != nil {
		for i := range p.c.snap.Findings {
			if slices.Contains(pb.SuggestedBy, p.c.snap.Findings[i].Kind) {
				ff := p.c.snap.Findings[i]
				f = &ff
				break
			}
		}
	}
	p.run, p.pb, p.resumed = playbook.NewRun(pb, f, p.c.clock()), pb, false
	p.stepsTop = 0
	detail := "no finding"
	if f != nil {
		detail = f.Kind + ": " + f.Summary
	}
	cmd := p.c.record(playbook.EventPlaybook, fmt.Sprintf("playbook %q started", pb.Title), detail)
	p.enterStep()
	p.syncRunning()
	return tea.Batch(cmd, p.save())
}

// enterStep prepares the current step.
func (p *playbookPane) enterStep() {
	p.choices, p.eval, p.evalOK, p.note, p.editing, p.saved, p.busy, p.stepErr = nil, "", false, nil, false, "", false, ""
	p.text, p.commands = "", ""
	p.choose.setRows(nil)
	clear(p.choose.marks)
	p.relayout()
	st := p.step()
	if st == nil {
		p.stepTag = ""
		p.syncKeys()
		return
	}
	p.stepTag = p.run.ID + "/" + strconv.Itoa(p.run.Current) + "/" + st.ID
	switch st.Kind {
	case playbook.KindExplain:
		p.text = playbook.Render(st.Text, playbook.Vars(p.context(), p.run.Chosen), false)
	case playbook.KindCommand:
		vars := playbook.Vars(p.context(), p.run.Chosen)
		p.text = playbook.Render(st.Text, vars, false)
		p.commands = playbook.Render(strings.Join(st.Commands, "\n"), vars, true)
	case playbook.KindChoose:
		p.computeChoices()
	case playbook.KindCheck:
		p.evaluate()
	case playbook.KindVerify:
		if p.run.VerifySince.IsZero() {
			p.run.VerifySince = p.c.clock()
		}
		p.evaluate()
	case playbook.KindNote:
		// not editing yet: s still skips, enter starts writing
		p.note = []rune(playbook.Render(st.Text, playbook.Vars(p.context(), p.run.Chosen), false))
	}
	p.syncKeys()
}

func (p *playbookPane) evaluate() {
	ok, _, text := playbook.Evaluate(p.step(), p.context())
	p.evalOK, p.eval = ok, text
}

func (p *playbookPane) computeChoices() {
	p.choices = playbook.Choices(p.step(), p.context())
	rows := make([]row, 0, len(p.choices))
	clear(p.choose.marks)
	for i, ch := range p.choices {
		k := strconv.Itoa(i)
		events, share := "", ""
		if ch.Events > 0 || ch.Share > 0 {
			events, share = humanInt(ch.Events), pct(ch.Share)
		}
		rows = append(rows, row{key: k, cells: []string{ch.Label, strconv.Itoa(len(ch.Targets)), events, share},
			sort: nums(nan, float64(i), nan, nan)})
		if ch.Picked {
			p.choose.marks[k] = true
		}
	}
	p.choose.setRows(rows)
}

// picked are the targets of the marked choices.
func (p *playbookPane) picked() []netip.Prefix {
	cs := slices.Clone(p.choices)
	for i := range cs {
		cs[i].Picked = p.choose.marks[strconv.Itoa(i)]
	}
	return playbook.PickedTargets(cs)
}

// onSnapshot re-evaluates the current step on new data: checks show the
// live value, verify completes when it holds and fails at its timeout.
func (p *playbookPane) onSnapshot() tea.Cmd {
	st := p.step()
	if st == nil {
		return nil
	}
	switch st.Kind {
	case playbook.KindCheck:
		p.evaluate()
	case playbook.KindChoose:
		if len(p.choices) == 0 {
			p.computeChoices()
			p.syncKeys()
		}
	case playbook.KindVerify:
		p.evaluate()
		if p.evalOK {
			return p.finish(playbook.StatusDone, p.eval)
		}
		if p.c.clock().Sub(p.run.VerifySince) >= st.Timeout {
			return p.finish(playbook.StatusFailed, p.eval+" — timed out after "+duration(st.Timeout))
		}
	}
	return nil
}

// finish records the current step, moves on, saves the run and writes
// the timeline.
func (p *playbookPane) finish(status, result string) tea.Cmd {
	st := p.step()
	if st == nil {
		return nil
	}
	p.run.Finish(status, result, p.c.clock())
	cmds := []tea.Cmd{p.c.record(playbook.EventStep, fmt.Sprintf("%s %s: %s", st.ID, status, st.Title), result)}
	if p.run.Finished {
		done, skipped := p.run.Counts()
		cmds = append(cmds, p.c.record(playbook.EventPlaybook,
			fmt.Sprintf("playbook %q finished: %d steps done, %d skipped", p.pb.Title, done, skipped), ""))
	}
	p.enterStep()
	p.syncRunning()
	cmds = append(cmds, p.save())
	return tea.Batch(cmds...)
}

// save writes a copy of the run, off the UI goroutine.
func (p *playbookPane) save() tea.Cmd {
	store := p.c.eng.Runs
	if store == nil || p.run == nil {
		return nil
	}
	r := *p.run
	r.Steps, r.Chosen = slices.Clone(r.Steps), slices.Clone(r.Chosen)
	s := *store
	return func() tea.Msg { return runSavedMsg{err: s.Save(&r)} }
}

// syncRunning tells the other screens what is in progress.
func (p *playbookPane) syncRunning() {
	switch {
	case p.run == nil:
		p.c.running = ""
	case p.run.Finished:
		p.c.running = ""
	default:
		p.c.running = "playbook " + p.pb.Name + " at step " + strconv.Itoa(p.run.Current+1) + "/" + strconv.Itoa(len(p.pb.Steps))
	}
}

func (p *playbookPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return p.onKey(msg)
	case tea.PasteMsg:
		if p.Capturing() {
			p.typeText(msg.Content)
		}
	}
	return nil
}

func (p *playbookPane) typeText(s string) {
	for _, r := range sanitize.Text(s) {
		if len(p.note) >= maxNote {
			break
		}
		p.note = append(p.note, r)
	}
}

func (p *playbookPane) onKey(k tea.KeyPressMsg) tea.Cmd {
	if p.run == nil {
		return p.listKey(k)
	}
	if p.run.Finished {
		if key.Matches(k, p.keys.Do) || key.Matches(k, p.keys.Back) {
			p.run, p.pb, p.resumed = nil, nil, false
			p.enterStep()
			p.Refresh()
		}
		return nil
	}
	st := p.step()
	if st.Kind == playbook.KindNote && p.editing {
		return p.noteKey(k)
	}
	switch {
	case key.Matches(k, p.keys.Skip):
		return p.finish(playbook.StatusSkipped, "skipped by the operator")
	case key.Matches(k, p.keys.Stop):
		return p.stop()
	case key.Matches(k, p.keys.Edit):
		p.editing = true
		p.syncKeys()
		return nil
	}
	if st.Kind == playbook.KindChoose {
		if key.Matches(k, p.keys.All) {
			all := len(p.choose.marks) < len(p.choices)
			clear(p.choose.marks)
			if all {
				for i := range p.choices {
					p.choose.marks[strconv.Itoa(i)] = true
				}
			}
			p.choose.dirty = true
			return nil
		}
		if p.choose.update(k, p.keys.nav, p.c.prompt) {
			return nil
		}
	}
	if key.Matches(k, p.keys.Copy) {
		return p.saveCommand()
	}
	if key.Matches(k, p.keys.Do) {
		return p.do(st)
	}
	return nil
}

func (p *playbookPane) listKey(k tea.KeyPressMsg) tea.Cmd {
	if p.list.update(k, p.keys.nav, p.c.prompt) {
		return nil
	}
	switch {
	case key.Matches(k, p.keys.Start):
		r := p.list.selected()
		if r == nil || p.c.eng.Playbooks == nil {
			return nil
		}
		pb, ok := p.c.eng.Playbooks.Get(r.key)
		if !ok {
			return nil
		}
		return p.start(pb)
	case key.Matches(k, p.keys.Back):
		p.forFinding = nil
		p.Refresh()
	}
	return nil
}

func (p *playbookPane) noteKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "enter":
		text := strings.TrimSpace(string(p.note))
		if text == "" {
			return nil
		}
		cmd := p.c.record(playbook.EventNote, text, "")
		return tea.Batch(cmd, p.finish(playbook.StatusDone, text))
	case "esc":
		p.editing = false
		p.syncKeys()
	case "backspace":
		if len(p.note) > 0 {
			p.note = p.note[:len(p.note)-1]
		}
	case "ctrl+u":
		p.note = p.note[:0]
	default:
		if k.Text != "" {
			p.typeText(k.Text)
		}
	}
	return nil
}

// stop ends the run where it stands: the steps left stay pending.
func (p *playbookPane) stop() tea.Cmd {
	n := p.run.Current
	p.run.Finished = true
	p.syncRunning()
	cmd := p.c.record(playbook.EventPlaybook, fmt.Sprintf("playbook %q stopped by the operator at step %d of %d", p.pb.Title, n+1, len(p.pb.Steps)), "")
	p.enterStep()
	return tea.Batch(cmd, p.save())
}

// do is Enter on the current step.
func (p *playbookPane) do(st *playbook.Step) tea.Cmd {
	switch st.Kind {
	case playbook.KindExplain:
		return p.finish(playbook.StatusDone, "read")
	case playbook.KindCheck:
		p.evaluate()
		result := p.eval
		if !p.evalOK {
			result += " — continuing"
		}
		return p.finish(playbook.StatusDone, result)
	case playbook.KindChoose:
		ts := p.picked()
		if len(ts) == 0 {
			p.stepErr = "nothing picked: space picks a row, s skips the step"
			return nil
		}
		p.run.SetChosen(ts)
		return p.finish(playbook.StatusDone, "chose "+strconv.Itoa(len(ts))+" targets")
	case playbook.KindBlock:
		return p.openBlock(st)
	case playbook.KindCommand:
		result := "shown"
		if p.saved != "" {
			result += "; saved to " + p.saved
		}
		return p.finish(playbook.StatusDone, result)
	case playbook.KindReport:
		return p.writeReport()
	}
	return nil
}

// blockPorts are the step's ports, or the finding's.
func (p *playbookPane) blockPorts(st *playbook.Step) []string {
	if len(st.Ports) > 0 {
		return st.Ports
	}
	if c := p.context(); c.Finding != nil {
		return c.Finding.Ports
	}
	return nil
}

func (p *playbookPane) openBlock(st *playbook.Step) tea.Cmd {
	ts := p.run.ChosenPrefixes()
	if len(ts) == 0 {
		p.stepErr = "no targets chosen by an earlier step: s skips this one"
		return nil
	}
	if p.c.eng.Block == nil {
		p.stepErr = "no block engine: s skips this step"
		return nil
	}
	sel := selection{label: p.pb.Name + "/" + st.ID, targets: ts, ports: p.blockPorts(st)}
	pre := dialogPreset{action: Action(st.Action), ttl: st.TTL, rate: st.Rate, tag: p.stepTag}
	return func() tea.Msg { return stepBlockMsg{sel: sel, preset: pre} }
}

// onBlockApplied records the block step once the dialog applied it.
func (p *playbookPane) onBlockApplied(tag, result string) tea.Cmd {
	if tag != p.stepTag || p.step() == nil {
		return nil
	}
	return p.finish(playbook.StatusDone, result)
}

func (p *playbookPane) writeReport() tea.Cmd {
	ts := p.run.ChosenPrefixes()
	if len(ts) == 0 {
		p.stepErr = "no targets chosen by an earlier step: s skips this one"
		return nil
	}
	r := p.c.eng.Report
	if r == nil {
		p.stepErr = "no abuse report engine: s skips this step"
		return nil
	}
	p.busy, p.stepErr = true, ""
	p.syncKeys()
	tag, reason := p.stepTag, "playbook "+p.pb.Name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		err := r.Add(ctx, ts, reason)
		where := ""
		if rp, ok := r.(ReportPath); ok {
			where = rp.ReportPath()
		}
		return stepReportMsg{tag: tag, n: len(ts), where: where, err: err}
	}
}

func (p *playbookPane) onReport(m stepReportMsg) tea.Cmd {
	if m.tag != p.stepTag || p.step() == nil {
		return nil
	}
	p.busy = false
	if m.err != nil {
		p.stepErr = "the report was not written: " + sanitize.Text(m.err.Error()) + " (enter retries, s skips)"
		p.syncKeys()
		return nil
	}
	result := "added " + strconv.Itoa(m.n) + " targets to the abuse report"
	if m.where != "" {
		result += ": " + m.where
	}
	return tea.Batch(p.c.record(playbook.EventReport, result, strings.Join(p.run.Chosen, " ")), p.finish(playbook.StatusDone, result))
}

// saveCommand writes the commands to a file the operator can copy from
// or run, in the state dir.
func (p *playbookPane) saveCommand() tea.Cmd {
	st := p.step()
	dir := p.c.eng.StateDir
	if dir == "" {
		p.stepErr = "no state directory to save into: copy the lines with the mouse"
		return nil
	}
	text := "# " + sanitize.Text(p.pb.Title) + " — " + sanitize.Text(st.Title) + "\n" + p.commands + "\n"
	path := filepath.Join(dir, "commands", safeName(p.run.ID)+"-"+safeName(st.ID)+".sh")
	tag := p.stepTag
	return func() tea.Msg {
		err := os.MkdirAll(filepath.Dir(path), 0o700)
		if err == nil {
			err = os.WriteFile(path, []byte(text), 0o600)
		}
		return commandSavedMsg{tag: tag, path: path, err: err}
	}
}

// safeName keeps a file name to letters, digits, dots and dashes.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func (p *playbookPane) onCommandSaved(m commandSavedMsg) string {
	if m.tag != p.stepTag {
		return ""
	}
	if m.err != nil {
		p.stepErr = "not saved: " + sanitize.Text(m.err.Error())
		return "error: the commands were not saved: " + sanitize.Text(m.err.Error())
	}
	p.saved = m.path
	return "saved the commands to " + m.path
}

// View draws the list of playbooks, or the run.
func (p *playbookPane) View() string {
	if p.run == nil {
		return p.listView()
	}
	return p.runView()
}

func (p *playbookPane) listView() string {
	st := p.c.st
	var b strings.Builder
	title := "Playbooks — those the active findings suggest first"
	if p.c.eng.Playbooks == nil {
		title = "Playbooks: none loaded"
	}
	if p.forFinding != nil {
		title = "Playbooks for " + p.forFinding.Kind + ": " + p.forFinding.Summary + " (esc: all findings)"
	}
	b.WriteString(st.Title.Render(fit(title, p.w)) + "\n")
	b.WriteString(p.list.view() + "\n")
	// the summary of the playbook under the cursor
	summary := ""
	if r := p.list.selected(); r != nil {
		summary = r.label
	}
	lines := wrapText(summary, p.w)
	for i := 0; i < 3; i++ {
		if i < len(lines) {
			b.WriteString("\n" + st.Dim.Render(lines[i]))
		} else {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// wrapText sanitizes each line of s and wraps it to w cells.
func wrapText(s string, w int) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = sanitize.Text(l)
		if l == "" {
			out = append(out, "")
			continue
		}
		out = append(out, strings.Split(ansi.Wordwrap(l, max(w, 10), ""), "\n")...)
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

func statusWord(s string) string {
	switch s {
	case playbook.StatusDone:
		return "done"
	case playbook.StatusSkipped:
		return "skipped"
	case playbook.StatusFailed:
		return "FAILED"
	}
	return "pending"
}

func (p *playbookPane) runView() string {
	st := p.c.st
	w := p.w
	var lines []string
	title := "Playbook " + p.pb.Name + ": " + p.pb.Title
	if p.run.FindingKind != "" {
		title += " · for " + p.run.FindingKind
	}
	if p.resumed {
		title += " · resumed"
	}
	lines = append(lines, st.Title.Render(fit(title, w)))
	// the steps, scrolled (by relayout) so the current one is visible
	n := p.stepLines()
	idW := 4
	for _, s := range p.pb.Steps {
		idW = max(idW, min(len(s.ID)+4, 20))
	}
	for i := p.stepsTop; i < min(p.stepsTop+n, len(p.pb.Steps)); i++ {
		s := p.pb.Steps[i]
		ss := p.run.Steps[i]
		word, text := statusWord(ss.Status), ss.Result
		cur := "  "
		if i == p.run.Current && !p.run.Finished {
			word, cur = "now", "▶ "
		}
		if text == "" {
			text = s.Title
		}
		line := cur + fit(word, 7) + " " + fit(strconv.Itoa(i+1)+" "+s.ID, idW) + " " + fit(text, max(w-idW-11, 1))
		if i == p.run.Current && !p.run.Finished {
			line = st.Cursor.Render(line)
		}
		lines = append(lines, line)
	}
	step := p.step()
	if step == nil {
		done, skipped := p.run.Counts()
		failed := 0
		for _, s := range p.run.Steps {
			if s.Status == playbook.StatusFailed {
				failed++
			}
		}
		lines = append(lines, st.Title.Render(fit("Finished", w)),
			fit(fmt.Sprintf("%d done, %d skipped, %d failed, %d not reached. Every step is in the timeline.", done, skipped, failed, len(p.run.Steps)-done-skipped-failed), w),
			"", fit("enter: back to the playbooks", w))
		return strings.Join(lines, "\n")
	}
	head := "Step " + strconv.Itoa(p.run.Current+1) + " of " + strconv.Itoa(len(p.pb.Steps)) + " · " + step.Kind + " · " + step.Title
	lines = append(lines, st.Title.Render(fit(head, w)))
	lines = append(lines, p.stepView(step, p.bodyHeight())...)
	return strings.Join(lines, "\n")
}

// stepView draws the current step in h lines at most.
func (p *playbookPane) stepView(step *playbook.Step, h int) []string {
	st := p.c.st
	w := p.w
	var out []string
	text := func(s string) {
		out = append(out, wrapText(s, w)...)
	}
	switch step.Kind {
	case playbook.KindExplain:
		text(p.text)
	case playbook.KindCheck:
		verdict := "→ does not hold (enter records it anyway)"
		if p.evalOK {
			verdict = "→ holds"
		}
		out = append(out, fit("Live: "+p.eval, w), fit(verdict, w), st.Dim.Render(fit("re-evaluated on every snapshot", w)))
	case playbook.KindChoose:
		out = append(out, fit(fmt.Sprintf("Picked %d of %d (* marks a pick; pre-picked from the finding)", len(p.choose.marks), len(p.choices)), w))
		out = append(out, strings.Split(p.choose.view(), "\n")...)
	case playbook.KindBlock:
		ts := p.run.ChosenPrefixes()
		action := step.Action
		if step.Action == string(ActionRateLimit) && step.Rate != "" {
			action += " " + step.Rate + " per source"
		}
		ttl := "default"
		if step.TTL > 0 {
			ttl = duration(step.TTL)
		}
		out = append(out, fit("Action "+action+" · ports "+scopeName(p.blockPorts(step))+" · for "+ttl, w))
		var names []string
		for _, t := range ts {
			names = append(names, t.String())
		}
		if len(ts) == 0 {
			out = append(out, fit("No targets chosen yet.", w))
		} else {
			out = append(out, fit("Targets ("+strconv.Itoa(len(ts))+"): "+strings.Join(names, " "), w))
		}
		out = append(out, "", fit("enter opens the block dialog: the exact rules and their impact, before anything is applied.", w))
	case playbook.KindCommand:
		if p.text != "" {
			text(p.text)
		} else {
			out = append(out, fit("Run these yourself; irtui never changes that configuration:", w))
		}
		out = append(out, "")
		cut := false
		// plain lines, nothing before or after them: a mouse selection
		// copies exactly the command
		for _, l := range strings.Split(p.commands, "\n") {
			if ansi.StringWidth(l) > w {
				cut = true
			}
			out = append(out, clip(l, w))
		}
		out = append(out, "")
		switch {
		case p.saved != "":
			out = append(out, fit("saved to "+p.saved, w))
		case cut:
			out = append(out, fit("a line is cut here: y saves the full text to a file", w))
		default:
			out = append(out, st.Dim.Render(fit("y saves them to a file", w)))
		}
	case playbook.KindVerify:
		left := p.run.VerifySince.Add(step.Timeout).Sub(p.c.clock())
		out = append(out, fit("Live: "+p.eval, w),
			fit("Waiting for it to hold: "+coarseLeft(left)+" left, then it is recorded as failed.", w),
			st.Dim.Render(fit("completes by itself when it holds · s skips", w)))
	case playbook.KindReport:
		n := len(p.run.ChosenPrefixes())
		out = append(out, fit("Adds the "+strconv.Itoa(n)+" chosen targets to the abuse report, grouped by AS with sample lines.", w))
		if rp, ok := p.c.eng.Report.(ReportPath); ok {
			out = append(out, fit("File: "+rp.ReportPath(), w))
		}
		if p.busy {
			out = append(out, "", fit("writing…", w))
		}
	case playbook.KindNote:
		out = append(out, fit("A note for the incident timeline:", w))
		cursor := ""
		if p.editing {
			cursor = "▏"
		}
		out = append(out, wrapText("> "+string(p.note)+cursor, w)...)
		if p.editing {
			out = append(out, st.Dim.Render(fit("enter saves it · esc stops editing · ctrl+u clears", w)))
		} else {
			out = append(out, st.Dim.Render(fit("enter writes it (the text above is a start) · s skips", w)))
		}
	}
	if p.stepErr != "" {
		// first, so a long list under it cannot push it out of sight
		out = append([]string{st.Warn.Render(fit(p.stepErr, w))}, out...)
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}

// coarseLeft rounds a countdown so it changes rarely: minutes above one,
// ten seconds below, which keeps the bytes written on a slow link down.
func coarseLeft(d time.Duration) string {
	switch {
	case d <= 0:
		return "no time"
	case d >= time.Minute:
		return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + "m"
	}
	return strconv.Itoa(int((d+10*time.Second-1)/(10*time.Second))*10) + "s"
}

func (p *playbookPane) ShortHelp() []key.Binding {
	k := p.keys
	if p.run == nil {
		return []key.Binding{k.nav.Up, k.nav.Down, k.Start, k.Back}
	}
	return []key.Binding{k.Do, k.nav.Mark, k.All, k.Copy, k.Edit, k.Skip, k.Back}
}

func (p *playbookPane) FullHelp() [][]key.Binding {
	k := p.keys
	return [][]key.Binding{k.nav.moves(), {k.Start, k.Do, k.Skip, k.Stop, k.Back}, {k.nav.Mark, k.All, k.Copy, k.Edit}}
}
