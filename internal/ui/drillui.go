package ui

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/sanitize"
)

// maxSeenFindings bounds the finding IDs remembered for the timeline.
const maxSeenFindings = 10000

// onSnapshot does what every new snapshot asks for whatever screen is in
// front: the playbook suggestions, new findings into the timeline
// and the current playbook step's live evaluation.
func (m *Model) onSnapshot() tea.Cmd {
	s := m.c.snap
	var cmds []tea.Cmd
	if lib := m.cfg.Playbooks; lib != nil {
		m.c.suggested, _ = suggest(lib, s.Findings)
	}
	for _, f := range s.Findings {
		if !m.seen[f.ID] && len(m.seen) < maxSeenFindings {
			m.seen[f.ID] = true
			detail := f.Kind
			if len(f.Targets) > 0 {
				detail += ": " + prefixList(f.Targets)
			}
			cmds = append(cmds, m.c.record(playbook.EventFinding, f.Summary, detail))
		}
	}
	cmds = append(cmds, m.playbook().onSnapshot())
	return tea.Batch(cmds...)
}

// suggest lists the playbooks the findings suggest, finding by finding
// (the snapshot has them most severe first); of those one finding
// suggests, the playbooks made for that kind first (it leads their
// suggested_by). why says which finding kind suggested each.
func suggest(lib *playbook.Library, fs []analyze.Finding) (out []*playbook.Playbook, why map[string]string) {
	why = map[string]string{}
	fs = slices.Clone(fs)
	// Most severe first; among equals, the finding with more sources to act
	// on (a flood from 133 addresses before 33 relay probers).
	slices.SortStableFunc(fs, func(a, b analyze.Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		return len(b.Targets) - len(a.Targets)
	})
	for _, f := range fs {
		cands := lib.Suggest([]string{f.Kind})
		slices.SortStableFunc(cands, func(a, b *playbook.Playbook) int {
			return slices.Index(a.SuggestedBy, f.Kind) - slices.Index(b.SuggestedBy, f.Kind)
		})
		for _, pb := range cands {
			if _, ok := why[pb.Name]; !ok {
				why[pb.Name] = f.Kind
				out = append(out, pb)
			}
		}
	}
	return out, why
}

// fetchComplaint looks for a drill's abuse complaint until it arrived.
func (m *Model) fetchComplaint() tea.Cmd {
	d := m.cfg.Drill
	if d == nil || m.c.complaint != "" || m.fetching {
		return nil
	}
	m.fetching = true
	return func() tea.Msg {
		text, err := d.Complaint()
		return complaintMsg{text: text, err: err}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return sanitize.Text(s)
}

// maxListed bounds the prefixes written into one timeline entry.
const maxListed = 50

func prefixList(ps []netip.Prefix) string {
	var b strings.Builder
	for i, p := range ps {
		if i == maxListed {
			b.WriteString(" … +" + strconv.Itoa(len(ps)-i))
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (m *Model) complaintView() string {
	st := m.c.st
	w := m.c.width
	lines := wrapText(m.c.complaint, w)
	h := m.bodyHeight() - 2
	top := min(m.complaintY, max(len(lines)-h, 0))
	out := []string{st.Title.Render(fit("Abuse complaint (drill "+m.cfg.Drill.Name()+")", w))}
	out = append(out, lines[top:min(top+h, len(lines))]...)
	for len(out) < h+1 {
		out = append(out, "")
	}
	return strings.Join(out, "\n") + "\n" + st.Dim.Render(fit("↑↓ scroll · esc closes · the mail-relay playbook answers it", w))
}

func (m *Model) scoreView() string {
	st := m.c.st
	w := m.c.width
	var b bytes.Buffer
	m.score.WriteText(&b)
	out := []string{st.Title.Render(fit("The drill is over: its score", w)), ""}
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		out = append(out, fit(l, w))
	}
	out = append(out, "", fit("The score is printed again when irtui exits.", w), st.Title.Render(fit("q or enter quits", w)))
	return strings.Join(out, "\n")
}
