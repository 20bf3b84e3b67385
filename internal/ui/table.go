package ui

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// column is one column of a table. width 0 makes it the flexible column
// that takes what the fixed ones leave.
type column struct {
	title    string
	width    int
	right    bool
	sortable bool
}

// row is one line of a table. sort holds a numeric sort value per column
// (NaN sorts by the cell text).
type row struct {
	key     string
	cells   []string
	sort    []float64
	targets []netip.Prefix
	addrs   []netip.Addr
	ports   []string
	logText string // for the log jump when the row is not about addresses
	label   string
}

// tableMode is what the keyboard does in a table.
type tableMode int

const (
	tableBrowse tableMode = iota
	tableFilter           // typing into the filter prompt
)

// table is a virtualised list: it sorts and filters every row but renders
// only the visible ones, and caches what it rendered until something
// changes.
type table struct {
	st      *Styles
	cols    []column
	all     []row
	rows    []row
	cursor  int
	offset  int
	w, h    int
	widths  []int
	sortCol int
	desc    bool
	mode    tableMode
	filter  string
	marks   map[string]bool
	empty   string
	cache   string
	dirty   bool
	noMarks bool
}

func newTable(st *Styles, cols []column, sortCol int, empty string) *table {
	return &table{st: st, cols: cols, sortCol: sortCol, desc: true, marks: map[string]bool{}, empty: empty, dirty: true}
}

// setRows replaces the rows, keeping the cursor on the same key.
func (t *table) setRows(rs []row) {
	var cur string
	if r := t.selected(); r != nil {
		cur = r.key
	}
	t.all = rs
	t.apply(cur)
}

func (t *table) apply(cur string) {
	t.rows = t.rows[:0]
	f := strings.ToLower(t.filter)
	for _, r := range t.all {
		if f == "" || rowMatches(r, f) {
			t.rows = append(t.rows, r)
		}
	}
	c := t.sortCol
	slices.SortStableFunc(t.rows, func(a, b row) int {
		var r int
		if c < len(a.sort) && c < len(b.sort) && !math.IsNaN(a.sort[c]) && !math.IsNaN(b.sort[c]) {
			r = cmp.Compare(a.sort[c], b.sort[c])
		} else if c < len(a.cells) && c < len(b.cells) {
			r = strings.Compare(a.cells[c], b.cells[c])
		}
		if t.desc {
			r = -r
		}
		if r == 0 {
			r = strings.Compare(a.key, b.key)
		}
		return r
	})
	t.cursor = 0
	for i, r := range t.rows {
		if r.key == cur {
			t.cursor = i
			break
		}
	}
	// drop marks of rows that are gone so the selection stays what is seen
	if len(t.marks) > 0 {
		present := make(map[string]bool, len(t.all))
		for _, r := range t.all {
			present[r.key] = true
		}
		for k := range t.marks {
			if !present[k] {
				delete(t.marks, k)
			}
		}
	}
	t.clamp()
	t.dirty = true
}

func rowMatches(r row, f string) bool {
	if strings.Contains(strings.ToLower(r.key), f) {
		return true
	}
	for _, c := range r.cells {
		if strings.Contains(strings.ToLower(c), f) {
			return true
		}
	}
	return false
}

func (t *table) setSize(w, h int) {
	t.w, t.h = w, max(h, 2)
	fixed, flex := 2, -1 // two cells for the cursor and mark gutter
	for i, c := range t.cols {
		if c.width == 0 {
			flex = i
		} else {
			fixed += c.width
		}
		if i > 0 {
			fixed++
		}
	}
	t.widths = make([]int, len(t.cols))
	for i, c := range t.cols {
		t.widths[i] = c.width
	}
	if flex >= 0 {
		t.widths[flex] = max(w-fixed, 4)
	}
	t.clamp()
	t.dirty = true
}

// listHeight is the number of row lines under the column header.
func (t *table) listHeight() int {
	h := t.h - 1
	if t.mode == tableFilter || t.filter != "" {
		h--
	}
	return max(h, 1)
}

func (t *table) clamp() {
	if t.cursor >= len(t.rows) {
		t.cursor = len(t.rows) - 1
	}
	if t.cursor < 0 {
		t.cursor = 0
	}
	lh := t.listHeight()
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+lh {
		t.offset = t.cursor - lh + 1
	}
	if t.offset > max(len(t.rows)-lh, 0) {
		t.offset = max(len(t.rows)-lh, 0)
	}
	if t.offset < 0 {
		t.offset = 0
	}
}

func (t *table) selected() *row {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return nil
	}
	return &t.rows[t.cursor]
}

// chosen is the marked rows, or the row under the cursor when none is marked.
func (t *table) chosen() []row {
	var out []row
	for _, r := range t.rows {
		if t.marks[r.key] {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		if r := t.selected(); r != nil {
			out = append(out, *r)
		}
	}
	return out
}

func (t *table) capturing() bool { return t.mode == tableFilter }

// update handles the keys a table understands and reports whether it used
// the message.
func (t *table) update(msg tea.KeyPressMsg, k navKeys, p promptKeys) bool {
	if t.mode == tableFilter {
		switch {
		case key.Matches(msg, p.Accept):
			t.mode = tableBrowse
		case key.Matches(msg, p.Cancel):
			t.mode = tableBrowse
			t.filter = ""
		case key.Matches(msg, p.Delete):
			if r := []rune(t.filter); len(r) > 0 {
				t.filter = string(r[:len(r)-1])
			}
		default:
			if msg.Text == "" || len(t.filter) > 200 {
				return true
			}
			t.filter += msg.Text
		}
		cur := ""
		if r := t.selected(); r != nil {
			cur = r.key
		}
		t.apply(cur)
		return true
	}
	lh := t.listHeight()
	switch {
	case key.Matches(msg, k.Up):
		t.cursor--
	case key.Matches(msg, k.Down):
		t.cursor++
	case key.Matches(msg, k.PageUp):
		t.cursor -= lh
	case key.Matches(msg, k.PageDown):
		t.cursor += lh
	case key.Matches(msg, k.Top):
		t.cursor = 0
	case key.Matches(msg, k.Bottom):
		t.cursor = len(t.rows) - 1
	case key.Matches(msg, k.Mark) && !t.noMarks:
		if r := t.selected(); r != nil {
			if t.marks[r.key] {
				delete(t.marks, r.key)
			} else {
				t.marks[r.key] = true
			}
			t.cursor++
		}
	case key.Matches(msg, k.Filter):
		t.mode = tableFilter
		t.clamp()
	case key.Matches(msg, k.Sort):
		t.nextSort()
	case key.Matches(msg, k.Reverse):
		t.desc = !t.desc
		t.apply(t.curKey())
	default:
		return false
	}
	t.clamp()
	t.dirty = true
	return true
}

// clearFilter drops a kept filter; it reports whether there was one, so Esc
// first clears the filter and only then goes back.
func (t *table) clearFilter() bool {
	if t.filter == "" && len(t.marks) == 0 {
		return false
	}
	t.filter = ""
	clear(t.marks)
	t.apply(t.curKey())
	return true
}

func (t *table) curKey() string {
	if r := t.selected(); r != nil {
		return r.key
	}
	return ""
}

func (t *table) nextSort() {
	for i := 1; i <= len(t.cols); i++ {
		c := (t.sortCol + i) % len(t.cols)
		if t.cols[c].sortable {
			t.sortCol = c
			t.desc = true
			break
		}
	}
	t.apply(t.curKey())
}

func (t *table) view() string {
	if !t.dirty && t.cache != "" {
		return t.cache
	}
	var b strings.Builder
	// header: the sort column carries an arrow, so sorting reads without colour
	b.WriteString("  ")
	for i, c := range t.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		title := c.title
		if i == t.sortCol && c.sortable {
			arrow := "↑"
			if t.desc {
				arrow = "↓"
			}
			if r := []rune(title); len(r) >= t.widths[i] && t.widths[i] > 1 {
				title = string(r[:t.widths[i]-1])
			}
			title += arrow
		}
		if c.right {
			b.WriteString(t.st.ColHead.Render(fitRight(title, t.widths[i])))
		} else {
			b.WriteString(t.st.ColHead.Render(fit(title, t.widths[i])))
		}
	}
	lh := t.listHeight()
	lines := 1
	if len(t.rows) == 0 {
		b.WriteString("\n  " + t.st.Dim.Render(fit(t.empty, t.w-2)))
		lines++
	}
	end := min(t.offset+lh, len(t.rows))
	var line strings.Builder
	for i := t.offset; i < end; i++ {
		r := &t.rows[i]
		line.Reset()
		if i == t.cursor {
			line.WriteByte('>')
		} else {
			line.WriteByte(' ')
		}
		if t.marks[r.key] {
			line.WriteByte('*')
		} else {
			line.WriteByte(' ')
		}
		for j := range t.cols {
			if j > 0 {
				line.WriteByte(' ')
			}
			cell := ""
			if j < len(r.cells) {
				cell = r.cells[j]
			}
			if t.cols[j].right {
				line.WriteString(fitRight(cell, t.widths[j]))
			} else {
				line.WriteString(fit(cell, t.widths[j]))
			}
		}
		b.WriteByte('\n')
		if i == t.cursor {
			b.WriteString(t.st.Cursor.Render(line.String()))
		} else {
			b.WriteString(line.String())
		}
		lines++
	}
	for ; lines < lh+1; lines++ {
		b.WriteByte('\n')
	}
	if t.mode == tableFilter || t.filter != "" {
		prompt := "/" + t.filter
		if t.mode == tableFilter {
			prompt += "▏"
		}
		info := " " + humanInt(int64(len(t.rows))) + " of " + humanInt(int64(len(t.all)))
		b.WriteString("\n" + fit(prompt, max(t.w-len(info), 1)) + info)
	}
	t.cache = b.String()
	t.dirty = false
	return t.cache
}
