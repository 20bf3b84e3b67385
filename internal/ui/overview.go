package ui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/sanitize"
)

// overview shows the health of what is read and the active findings.
type overview struct {
	c        *common
	keys     navKeys
	findings *table
	w, h     int
	srcRows  int
}

func newOverview(c *common) *overview {
	o := &overview{c: c, keys: newNavKeys()}
	o.findings = newTable(c.st, []column{
		{title: "SEV", width: 4, sortable: true},
		{title: "KIND", width: 20, sortable: true},
		{title: "SUMMARY", width: 0},
		{title: "TARGETS", width: 7, right: true, sortable: true},
		{title: "SINCE", width: 5, right: true},
	}, 0, "no findings: nothing looks like an attack right now")
	o.keys.Enter.SetHelp("enter", "playbooks for it")
	o.keys.Back.SetEnabled(false)
	o.keys.Section.SetEnabled(false)
	return o
}

func (o *overview) Init() tea.Cmd { return nil }

func (o *overview) SetSize(w, h int) {
	o.w, o.h = w, h
	// sources take up to a third of the screen; findings get the rest
	o.srcRows = max(1, min(len(o.sources()), (h-8)/3))
	o.findings.setSize(w, h-o.srcRows-6)
}

func (o *overview) sources() []analyze.SourceHealth {
	if o.c.snap == nil {
		return nil
	}
	return o.c.snap.Sources
}

func (o *overview) Refresh() {
	if n := max(1, min(len(o.sources()), (o.h-8)/3)); n != o.srcRows {
		o.SetSize(o.w, o.h)
	}
	s := o.c.snap
	if s == nil {
		o.findings.setRows(nil)
		return
	}
	rows := make([]row, 0, len(s.Findings))
	for _, f := range s.Findings {
		since := ""
		if !f.First.IsZero() {
			since = f.First.UTC().Format("15:04")
		}
		rows = append(rows, row{
			key:     f.ID,
			cells:   []string{sevWord(f.Severity), f.Kind, f.Summary, strconv.Itoa(len(f.Targets)), since},
			sort:    nums(float64(f.Severity), nan, nan, float64(len(f.Targets)), nan),
			targets: f.Targets,
			ports:   f.Ports,
			label:   f.Kind + ": " + f.Summary,
		})
	}
	o.findings.setRows(rows)
}

func (o *overview) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if o.findings.update(k, o.keys, o.c.prompt) {
			return nil
		}
		if key.Matches(k, o.keys.Enter) {
			r := o.findings.selected()
			if r == nil || o.c.snap == nil {
				return nil
			}
			for _, f := range o.c.snap.Findings {
				if f.ID == r.key {
					return func() tea.Msg { return playFindingMsg{f: f} }
				}
			}
			return nil
		}
		if key.Matches(k, o.c.prompt.Cancel) {
			o.findings.clearFilter()
		}
	}
	return nil
}

func (o *overview) Capturing() bool { return o.findings.capturing() }

func (o *overview) Selection() selection {
	return selectionOf(o.findings.chosen(), "findings")
}

func (o *overview) View() string {
	st := o.c.st
	s := o.c.snap
	var b strings.Builder
	b.WriteString(st.Title.Render("Sources") + "\n")
	srcs := o.sources()
	nameW := max(o.w-2-16-1-8-1-9-1-5-1, 10)
	b.WriteString(st.ColHead.Render("  "+fit("SOURCE", nameW)+" "+fit("LINES/S", 16)+" "+fitRight("RATE", 8)+" "+fitRight("MALFORMED", 9)+" "+fitRight("LAG", 5)) + "\n")
	lines := make([]string, 0, o.srcRows)
	if len(srcs) == 0 {
		lines = append(lines, "  "+st.Dim.Render(fit("no source yet", o.w-2)))
	}
	for i := 0; i < len(srcs) && len(lines) < o.srcRows; i++ {
		sh := srcs[i]
		if len(lines) == o.srcRows-1 && len(srcs) > o.srcRows {
			lines = append(lines, "  "+fit("… "+strconv.Itoa(len(srcs)-i)+" more sources", o.w-2))
			break
		}
		name := sh.Name
		if sh.Host != "" {
			name = sh.Host + ":" + name
		}
		if sh.Err != "" {
			lines = append(lines, "  "+fitTail(name, nameW)+" "+clip(st.Err.Render("error: ")+fit(sh.Err, max(o.w-nameW-10, 1)), o.w-nameW-3))
			continue
		}
		lines = append(lines, "  "+fitTail(name, nameW)+" "+sparkline(sh.Trend, 16)+" "+fitRight(rate(sh.Rate), 8)+" "+
			fitRight(humanInt(sh.Malformed), 9)+" "+fitRight(lag(sh.Lag), 5))
	}
	for len(lines) < o.srcRows {
		lines = append(lines, "")
	}
	b.WriteString(strings.Join(lines, "\n") + "\n")
	// totals: the one line that says whether this is an attack
	if s != nil {
		parsed := "–"
		if s.Lines > 0 {
			parsed = pct(float64(s.Parsed) / float64(s.Lines))
		}
		// no running line count here: it would change every second and
		// cost bytes on a slow link without telling anything the rate does not
		line := "Total " + rate(s.Total.Rate) + "  baseline " + rate(s.Total.Baseline) + " " + trend(s.Total.Rate, s.Total.Baseline) +
			"   parsed " + parsed + "  malformed " + humanInt(s.Malformed)
		b.WriteString(clip(line, o.w) + "\n")
	} else {
		b.WriteString(st.Dim.Render("waiting for the first snapshot…") + "\n")
	}
	b.WriteString(clip(o.findingCounts(), o.w) + "\n")
	b.WriteString(clip(o.hint(), o.w) + "\n")
	b.WriteString(st.Title.Render("Findings") + "\n")
	b.WriteString(o.findings.view())
	return b.String()
}

// hint says what to do next: read a drill's complaint, go on with the
// playbook in progress, or start the one the findings suggest. It changes
// only when one of those does, so it costs nothing on a slow link.
func (o *overview) hint() string {
	var parts []string
	if o.c.complaint != "" {
		parts = append(parts, o.c.st.Warn.Render("An abuse complaint arrived")+" — press c to read it")
	}
	switch sg := o.c.suggested; {
	case o.c.running != "":
		parts = append(parts, "press 8: "+o.c.running)
	case len(sg) > 0:
		more := ""
		if len(sg) > 1 {
			more = " (+" + strconv.Itoa(len(sg)-1) + " more)"
		}
		parts = append(parts, "press 8: suggested playbook "+sg[0].Name+" — "+sanitize.Text(sg[0].Title)+more)
	case o.c.eng.Playbooks != nil:
		parts = append(parts, o.c.st.Dim.Render("press 8 for the playbooks"))
	}
	return strings.Join(parts, " · ")
}

// findingCounts is "Findings: 1 CRIT, 2 HIGH · Blocks active: 3".
func (o *overview) findingCounts() string {
	var n [analyze.SevCritical + 1]int
	if o.c.snap != nil {
		for _, f := range o.c.snap.Findings {
			if f.Severity >= 0 && int(f.Severity) < len(n) {
				n[f.Severity]++
			}
		}
	}
	var parts []string
	for sev := analyze.SevCritical; sev >= analyze.SevInfo; sev-- {
		if n[sev] > 0 {
			parts = append(parts, o.c.st.Sev[sev].Render(strconv.Itoa(n[sev])+" "+strings.TrimSpace(sevWord(sev))))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	return "Active: " + strings.Join(parts, ", ") + "   Blocks active: " + strconv.Itoa(len(o.c.blocks)) + "   Mode: " + o.c.mode.String()
}

func (o *overview) ShortHelp() []key.Binding {
	return []key.Binding{o.keys.Up, o.keys.Down, o.keys.Enter, o.keys.Filter, o.keys.Sort}
}

func (o *overview) FullHelp() [][]key.Binding {
	return [][]key.Binding{o.keys.moves(), {o.keys.Enter, o.keys.Mark, o.keys.Filter, o.keys.Sort, o.keys.Reverse}}
}
