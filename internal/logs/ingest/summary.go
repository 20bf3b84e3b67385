package ingest

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/sanitize"
)

// FileSummary counts the lines of one file.
type FileSummary struct {
	Name      string
	Format    string // detected or forced; "" when unknown
	Lines     int64
	Events    int64
	Malformed int64
	Truncated int64
}

// ActionKey names an action within its kind: mail/reject, http/auth_fail.
type ActionKey struct {
	Kind   string
	Action string
}

// Summary is what `irtui parse --summary` prints: counts per file, format,
// kind, action and malformed reason.
type Summary struct {
	Files   []*FileSummary // in the order given
	Formats map[string]int64
	Kinds   map[string]int64
	Actions map[ActionKey]int64
	Reasons map[string]int64

	byName map[string]*FileSummary
}

func newSummary() *Summary {
	return &Summary{Formats: map[string]int64{}, Kinds: map[string]int64{}, Actions: map[ActionKey]int64{},
		Reasons: map[string]int64{}, byName: map[string]*FileSummary{}}
}

func (s *Summary) file(name string) *FileSummary {
	f := s.byName[name]
	if f == nil {
		f = &FileSummary{Name: name}
		s.byName[name] = f
		s.Files = append(s.Files, f)
	}
	return f
}

// incr adds one to m[k], copying k the first time so the map never pins a
// read buffer.
func incr[K comparable](m map[K]int64, k K, clone func(K) K) {
	if v, ok := m[k]; ok {
		m[k] = v + 1
		return
	}
	m[clone(k)] = 1
}

func cloneString(s string) string { return strings.Clone(s) }

func cloneAction(k ActionKey) ActionKey {
	return ActionKey{strings.Clone(k.Kind), strings.Clone(k.Action)}
}

// actionOf is the action an event is counted under: the parser's, or what
// a line without one is (an access-log request, a DNS query).
func actionOf(ev *logs.Event) string {
	switch ev.Kind {
	case logs.KindHTTP:
		if ev.HTTP.Action != "" {
			return ev.HTTP.Action
		}
		return "request"
	case logs.KindMail:
		return ev.Mail.Action
	case logs.KindDNS:
		if ev.DNS.Action != "" {
			return ev.DNS.Action
		}
		return "query"
	}
	return ""
}

func (s *Summary) event(ev *logs.Event) {
	incr(s.Formats, ev.Format, cloneString)
	incr(s.Kinds, ev.Kind.String(), cloneString)
	incr(s.Actions, ActionKey{ev.Kind.String(), actionOf(ev)}, cloneAction)
}

func (s *Summary) malformed(reason string) {
	incr(s.Reasons, reason, cloneString)
}

// merge adds o's counts to s.
func (s *Summary) merge(o *Summary) {
	for _, f := range o.Files {
		t := s.file(f.Name)
		if f.Format != "" {
			t.Format = f.Format
		}
		t.Lines += f.Lines
		t.Events += f.Events
		t.Malformed += f.Malformed
		t.Truncated += f.Truncated
	}
	for k, v := range o.Formats {
		s.Formats[k] += v
	}
	for k, v := range o.Kinds {
		s.Kinds[k] += v
	}
	for k, v := range o.Actions {
		s.Actions[k] += v
	}
	for k, v := range o.Reasons {
		s.Reasons[k] += v
	}
}

// Totals returns the counts over all files.
func (s *Summary) Totals() FileSummary {
	var t FileSummary
	for _, f := range s.Files {
		t.Lines += f.Lines
		t.Events += f.Events
		t.Malformed += f.Malformed
		t.Truncated += f.Truncated
	}
	return t
}

// WriteText prints the summary for a person: totals, then one table per
// grouping, largest first. Names come from files and parsers and are
// sanitized.
func (s *Summary) WriteText(w io.Writer) error {
	t := s.Totals()
	pct := 0.0
	if t.Lines > 0 {
		pct = 100 * float64(t.Malformed) / float64(t.Lines)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d lines, %d events, %d malformed (%.2f%%), %d truncated\n", t.Lines, t.Events, t.Malformed, pct, t.Truncated)
	b.WriteString("\nfile\tformat\tlines\tmalformed\n")
	for _, f := range s.Files {
		format := f.Format
		if format == "" {
			format = "(unknown)"
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d\n", sanitize.Text(f.Name), sanitize.Text(format), f.Lines, f.Malformed)
	}
	table := func(title string, rows map[string]int64) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\tlines\n", title)
		keys := make([]string, 0, len(rows))
		for k := range rows {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if rows[keys[i]] != rows[keys[j]] {
				return rows[keys[i]] > rows[keys[j]]
			}
			return keys[i] < keys[j]
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "%s\t%d\n", sanitize.Text(k), rows[k])
		}
	}
	table("format", s.Formats)
	table("kind", s.Kinds)
	actions := map[string]int64{}
	for k, v := range s.Actions {
		actions[k.Kind+"/"+k.Action] = v
	}
	table("action", actions)
	table("malformed reason", s.Reasons)
	return writeAligned(w, b.String())
}

// writeAligned lines up tab-separated columns, numbers to the right.
func writeAligned(w io.Writer, text string) error {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	// Align each block (separated by blank lines) on its own.
	var out strings.Builder
	start := 0
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && lines[i] != "" {
			continue
		}
		block := lines[start:i]
		var widths []int
		numeric := map[int]bool{}
		for r, l := range block {
			for c, cell := range strings.Split(l, "\t") {
				if c >= len(widths) {
					widths = append(widths, 0)
					numeric[c] = true
				}
				widths[c] = max(widths[c], len(cell))
				if r > 0 && strings.Trim(cell, "0123456789") != "" {
					numeric[c] = false
				}
			}
		}
		for _, l := range block {
			cells := strings.Split(l, "\t")
			if len(cells) == 1 {
				out.WriteString(l)
				out.WriteByte('\n')
				continue
			}
			var row strings.Builder
			for c, cell := range cells {
				if c > 0 {
					row.WriteString("  ")
				}
				pad := strings.Repeat(" ", widths[c]-len(cell))
				if numeric[c] {
					row.WriteString(pad + cell)
				} else {
					row.WriteString(cell + pad)
				}
			}
			out.WriteString(strings.TrimRight(row.String(), " "))
			out.WriteByte('\n')
		}
		if i < len(lines) {
			out.WriteByte('\n')
		}
		start = i + 1
	}
	_, err := io.WriteString(w, out.String())
	return err
}
