package ui

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
)

// Engine calls get a deadline so a stuck firewall tool cannot hang a command
// goroutine forever.
const engineTimeout = 30 * time.Second

type (
	planMsg struct {
		gen  int
		plan BlockPlan
		err  error
	}
	impactMsg struct {
		gen    int
		impact analyze.Impact
	}
	appliedMsg struct {
		label string
		n     int
		req   BlockRequest
		tag   string // the playbook step that opened the dialog
		err   error
	}
)

// dialogPreset fills the dialog from a playbook's block step.
type dialogPreset struct {
	action Action
	ttl    time.Duration
	rate   string
	tag    string
}

type dialogField int

const (
	fieldScope dialogField = iota
	fieldAction
	fieldTTL
	fieldCount
)

var (
	dialogActions = []Action{ActionDrop, ActionReject, ActionRateLimit}
	dialogTTLs    = []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
)

// blockDialog shows what a block would be, as exact rules text and as its
// impact, before anything is applied.
type blockDialog struct {
	c       *common
	keys    dialogKeys
	sel     selection
	field   dialogField
	scopes  [][]string
	si      int
	ai, ti  int
	ttls    []time.Duration
	rate    string
	tag     string
	gen     int
	plan    *BlockPlan
	planErr string
	impact  *analyze.Impact
	scroll  int
	busy    bool // applying
	w, h    int
}

var scopeChoices = [][]string{nil, {"tcp/80", "tcp/443"}, {"tcp/25", "tcp/465", "tcp/587"}, {"udp/53", "tcp/53"}}

func newBlockDialog(c *common, sel selection, gen int, pre *dialogPreset) *blockDialog {
	d := &blockDialog{c: c, keys: newDialogKeys(), sel: sel, ti: 1, gen: gen, ttls: dialogTTLs}
	if pre != nil {
		d.rate, d.tag = pre.rate, pre.tag
		if i := slices.Index(dialogActions, pre.action); i >= 0 {
			d.ai = i
		}
		if pre.ttl > 0 {
			if !slices.Contains(d.ttls, pre.ttl) {
				d.ttls = append(slices.Clone(d.ttls), pre.ttl)
				slices.Sort(d.ttls)
			}
			d.ti = slices.Index(d.ttls, pre.ttl)
		}
	}
	if len(sel.ports) > 0 {
		d.scopes = append(d.scopes, sel.ports)
	}
	for _, s := range scopeChoices {
		if len(sel.ports) == 0 || strings.Join(s, ",") != strings.Join(sel.ports, ",") {
			d.scopes = append(d.scopes, s)
		}
	}
	return d
}

func (d *blockDialog) request() BlockRequest {
	return BlockRequest{
		Targets: d.sel.targets,
		Ports:   d.scopes[d.si],
		Action:  dialogActions[d.ai],
		TTL:     d.ttls[d.ti],
		Rate:    d.rateFor(dialogActions[d.ai]),
		Reason:  d.sel.label,
	}
}

// rateFor is the playbook step's rate when it rate-limits.
func (d *blockDialog) rateFor(a Action) string {
	if a == ActionRateLimit {
		return d.rate
	}
	return ""
}

// start asks for the plan and the impact.
func (d *blockDialog) start() tea.Cmd {
	cmds := []tea.Cmd{d.replan()}
	if d.c.eng.Impact != nil {
		fn, targets, gen := d.c.eng.Impact, d.sel.targets, d.gen
		cmds = append(cmds, func() tea.Msg { return impactMsg{gen: gen, impact: fn(targets)} })
	}
	return tea.Batch(cmds...)
}

func (d *blockDialog) replan() tea.Cmd {
	d.gen++
	d.plan, d.planErr, d.scroll = nil, "", 0
	b, req, gen := d.c.eng.Block, d.request(), d.gen
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
		defer cancel()
		p, err := b.Plan(ctx, req)
		return planMsg{gen: gen, plan: p, err: err}
	}
}

// update handles a key; done reports that the dialog closed.
func (d *blockDialog) update(k tea.KeyPressMsg) (cmd tea.Cmd, done bool) {
	if d.busy {
		return nil, false
	}
	switch {
	case key.Matches(k, d.keys.Cancel):
		return nil, true
	case key.Matches(k, d.keys.Up):
		d.field = (d.field + fieldCount - 1) % fieldCount
	case key.Matches(k, d.keys.Down):
		d.field = (d.field + 1) % fieldCount
	case key.Matches(k, d.keys.Left):
		return d.change(-1), false
	case key.Matches(k, d.keys.Right):
		return d.change(1), false
	case key.Matches(k, d.keys.ScrollUp):
		d.scroll = max(d.scroll-d.rulesHeight(), 0)
	case key.Matches(k, d.keys.ScrollDown):
		if d.plan != nil {
			n := strings.Count(d.plan.Rules, "\n") + 1
			d.scroll = min(d.scroll+d.rulesHeight(), max(n-d.rulesHeight(), 0))
		}
	case key.Matches(k, d.keys.Confirm):
		if d.plan == nil || d.planHasNothing() {
			return nil, false
		}
		d.busy = true
		b, plan, label, tag := d.c.eng.Block, *d.plan, d.sel.label, d.tag
		n := len(plan.Request.Targets) - len(plan.Refused)
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
			defer cancel()
			err := b.Apply(ctx, plan)
			req := plan.Request
			req.Targets = appliedTargets(plan)
			return appliedMsg{label: label, n: n, req: req, tag: tag, err: err}
		}, false
	}
	return nil, false
}

func (d *blockDialog) planHasNothing() bool {
	return d.plan != nil && len(d.plan.Refused) >= len(d.plan.Request.Targets)
}

func (d *blockDialog) change(step int) tea.Cmd {
	switch d.field {
	case fieldScope:
		d.si = (d.si + len(d.scopes) + step) % len(d.scopes)
	case fieldAction:
		d.ai = (d.ai + len(dialogActions) + step) % len(dialogActions)
	case fieldTTL:
		d.ti = (d.ti + len(d.ttls) + step) % len(d.ttls)
	}
	return d.replan()
}

func (d *blockDialog) onPlan(m planMsg) {
	if m.gen != d.gen {
		return // a later choice replaced this plan
	}
	if m.err != nil {
		d.planErr = m.err.Error()
		return
	}
	d.plan = &m.plan
}

func (d *blockDialog) onImpact(m impactMsg) {
	d.impact = &m.impact
}

func (d *blockDialog) setSize(w, h int) { d.w, d.h = w, h }

// rulesHeight is what is left for the rules text.
func (d *blockDialog) rulesHeight() int { return max(d.h-13, 1) }

func scopeName(ports []string) string {
	if len(ports) == 0 {
		return "all ports"
	}
	return strings.Join(ports, ",")
}

func (d *blockDialog) view() string {
	st := d.c.st
	w := d.w
	var lines []string
	lines = append(lines, st.Title.Render(fit("Block "+d.sel.label, w)))
	var ts []string
	for _, t := range d.sel.targets {
		ts = append(ts, t.String())
	}
	lines = append(lines, fit("Targets ("+strconv.Itoa(len(ts))+"): "+strings.Join(ts, " "), w))
	field := func(f dialogField, name, value string) string {
		cur := "  "
		if d.field == f {
			cur = "> "
		}
		s := cur + fit(name, 7) + " ‹ " + value + " ›"
		if d.field == f {
			return st.Cursor.Render(fit(s, min(w, 40)))
		}
		return fit(s, min(w, 40))
	}
	lines = append(lines,
		field(fieldScope, "Scope", scopeName(d.scopes[d.si])),
		field(fieldAction, "Action", strings.TrimSpace(string(dialogActions[d.ai])+" "+d.rateFor(dialogActions[d.ai]))),
		field(fieldTTL, "TTL", duration(d.ttls[d.ti])))
	switch {
	case d.c.eng.Impact == nil:
		lines = append(lines, fit("Impact: not available", w))
	case d.impact == nil:
		lines = append(lines, fit("Impact: computing…", w))
	default:
		im := d.impact
		lines = append(lines,
			clip("Impact: covers "+pct(im.AttackCovered)+" of the attack ("+humanInt(im.AttackEvents)+" events)", w),
			clip("        cuts "+pct(im.BaselineCut)+" of the legitimate baseline ("+humanInt(im.BaselineEvents)+" events)", w))
		if im.BaselineCut > 0.01 {
			lines = append(lines, st.Warn.Render(fit("WARNING: this also cuts real users; narrow the scope or rate-limit", w)))
		}
	}
	if d.plan != nil && len(d.plan.Refused) > 0 {
		var rs []string
		for _, r := range d.plan.Refused {
			rs = append(rs, r.Target.String()+" ("+r.Reason+")")
		}
		lines = append(lines, st.Warn.Render("REFUSED: ")+fit(strings.Join(rs, "; "), max(w-9, 1)))
	}
	head := "Rules that will be applied:"
	if d.c.mode != ModeLive {
		head = "Rules (" + d.c.mode.String() + ": recorded, the real firewall is not touched):"
	}
	lines = append(lines, st.Title.Render(fit(head, w)))
	rh := d.h - len(lines) - 1
	switch {
	case d.planErr != "":
		lines = append(lines, st.Err.Render("cannot plan: ")+fit(d.planErr, max(w-13, 1)))
	case d.plan == nil:
		lines = append(lines, fit("planning…", w))
	default:
		rules := strings.Split(strings.TrimRight(d.plan.Rules, "\n"), "\n")
		end := min(d.scroll+rh, len(rules))
		for _, r := range rules[min(d.scroll, len(rules)):end] {
			lines = append(lines, "  "+fit(r, w-2))
		}
		if end < len(rules) {
			lines[len(lines)-1] = "  " + fit("… "+strconv.Itoa(len(rules)-end)+" more lines (pgdn)", w-2)
		}
	}
	for len(lines) < d.h-1 {
		lines = append(lines, "")
	}
	foot := "enter apply · esc cancel · ↑↓ field · ←→ change"
	switch {
	case d.busy:
		foot = "applying…"
	case d.planHasNothing():
		foot = "every target was refused · esc cancel"
	}
	lines = append(lines[:d.h-1], st.Title.Render(fit(foot, w)))
	return strings.Join(lines, "\n")
}

// appliedTargets are the plan's targets less those the guard refused.
func appliedTargets(p BlockPlan) []netip.Prefix {
	if len(p.Refused) == 0 {
		return p.Request.Targets
	}
	bad := map[netip.Prefix]bool{}
	for _, r := range p.Refused {
		bad[r.Target] = true
	}
	var out []netip.Prefix
	for _, t := range p.Request.Targets {
		if !bad[t] {
			out = append(out, t)
		}
	}
	return out
}

// confirm is a yes/no question with the command to run on yes.
type confirm struct {
	question string
	yes      func() tea.Cmd
}

func traceCmd(tr Tracer, addrs []netip.Addr) tea.Cmd {
	addrs = append([]netip.Addr(nil), addrs...)
	return func() tea.Msg {
		for _, a := range addrs {
			tr.Request(a)
		}
		return nil
	}
}
