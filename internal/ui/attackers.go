package ui

import (
	"net/netip"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
)

// attackLevel is how deep the attackers screen is: AS → prefix → address →
// one address.
type attackLevel int

const (
	levelAS attackLevel = iota
	levelPrefix
	levelAddr
	levelDetail
)

// attackers drills from autonomous systems down to one address.
type attackers struct {
	c      *common
	keys   navKeys
	level  attackLevel
	tables [3]*table
	asn    uint32
	prefix netip.Prefix
	addr   netip.Addr
	w, h   int
}

func newAttackers(c *common) *attackers {
	a := &attackers{c: c, keys: newNavKeys()}
	a.tables[levelAS] = newTable(c.st, []column{
		{title: "AS", width: 10, sortable: true},
		{title: "NAME", width: 0, sortable: true},
		{title: "CC", width: 2, sortable: true},
		{title: "SRCS", width: 5, right: true, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "RATE", width: 6, right: true, sortable: true},
		{title: "SHARE", width: 6, right: true, sortable: true},
		{title: "TREND", width: 7, sortable: true},
	}, 5, "no sources seen yet")
	a.tables[levelPrefix] = newTable(c.st, []column{
		{title: "PREFIX", width: 0, sortable: true},
		{title: "SRCS", width: 5, right: true, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "RATE", width: 6, right: true, sortable: true},
		{title: "SHARE", width: 6, right: true, sortable: true},
		{title: "TREND", width: 7, sortable: true},
	}, 3, "no prefix of this AS in the window")
	a.tables[levelAddr] = newTable(c.st, []column{
		{title: "ADDRESS", width: 20, sortable: true},
		{title: "PTR", width: 0, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "RATE", width: 6, right: true, sortable: true},
		{title: "SHARE", width: 6, right: true, sortable: true},
		{title: "TREND", width: 7, sortable: true},
	}, 3, "no address of this prefix in the window")
	a.syncKeys()
	return a
}

func (a *attackers) syncKeys() {
	a.keys.Back.SetEnabled(a.level > levelAS)
	a.keys.Enter.SetEnabled(a.level < levelDetail)
	list := a.level < levelDetail
	for _, b := range []*key.Binding{&a.keys.Up, &a.keys.Down, &a.keys.PageUp, &a.keys.PageDown, &a.keys.Top, &a.keys.Bottom, &a.keys.Mark, &a.keys.Filter, &a.keys.Sort, &a.keys.Reverse} {
		b.SetEnabled(list)
	}
	a.keys.Section.SetEnabled(false)
}

func (a *attackers) Init() tea.Cmd { return nil }

func (a *attackers) SetSize(w, h int) {
	a.w, a.h = w, h
	for _, t := range a.tables {
		t.setSize(w, h-1)
	}
}

func (a *attackers) Capturing() bool {
	return a.level < levelDetail && a.tables[a.level].capturing()
}

func groupCells(g analyze.Group) (cells []string, sort []float64) {
	return []string{strconv.Itoa(g.Sources), humanInt(g.Events), rate(g.Rate), pct(g.Share), trend(g.Rate, g.Baseline)},
		[]float64{float64(g.Sources), float64(g.Events), g.Rate, g.Share, ratio(g.Rate, g.Baseline)}
}

func ratio(r, base float64) float64 {
	if base <= 0 {
		return r * 1e6
	}
	return r / base
}

func (a *attackers) Refresh() {
	s := a.c.snap
	if s == nil {
		return
	}
	switch a.level {
	case levelAS:
		rows := make([]row, 0, len(s.ASes))
		byAS := prefixesByAS(s)
		for _, g := range s.ASes {
			cells, srt := groupCells(g)
			asn, _ := asKey(g.Key)
			if g.ASN != 0 {
				asn = g.ASN
			}
			label := asLabel(asn)
			if g.ASName != "" {
				label += " (" + g.ASName + ")"
			}
			rows = append(rows, row{
				key:     g.Key,
				cells:   append([]string{g.Key, g.ASName, g.Country}, cells...),
				sort:    append([]float64{float64(asn), nan, nan}, srt...),
				targets: asPrefixesFrom(byAS, asn, g.Top),
				label:   label,
			})
		}
		a.tables[levelAS].setRows(rows)
	case levelPrefix:
		var rows []row
		for _, g := range s.Prefixes {
			if g.ASN != a.asn {
				continue
			}
			cells, srt := groupCells(g)
			p := g.Prefix
			if !p.IsValid() {
				p, _ = netip.ParsePrefix(g.Key)
			}
			r := row{key: g.Key, cells: append([]string{g.Key}, cells...), sort: append([]float64{nan}, srt...), label: g.Key}
			if p.IsValid() {
				r.targets = []netip.Prefix{p.Masked()}
			}
			rows = append(rows, r)
		}
		a.tables[levelPrefix].setRows(rows)
	case levelAddr:
		var rows []row
		for _, g := range s.IPs {
			ip, ok := groupAddr(g)
			if !ok || !a.prefix.Contains(ip) {
				continue
			}
			cells, srt := groupCells(g)
			ptr := ""
			if tr, ok := a.c.traces[ip]; ok {
				ptr = tr.PTR
				if ptr != "" && !tr.PTRConfirmed {
					ptr += " (unconfirmed)"
				}
			}
			rows = append(rows, row{
				key:     g.Key,
				cells:   append([]string{ip.String(), ptr}, cells[1:]...),
				sort:    append([]float64{nan, nan}, srt[1:]...),
				targets: []netip.Prefix{hostPrefix(ip)},
				addrs:   []netip.Addr{ip},
				label:   ip.String(),
			})
		}
		a.tables[levelAddr].setRows(rows)
	}
}

func (a *attackers) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	if a.level < levelDetail && a.tables[a.level].update(k, a.keys, a.c.prompt) {
		return nil
	}
	if key.Matches(k, a.c.prompt.Cancel) && a.level < levelDetail && a.tables[a.level].clearFilter() {
		return nil
	}
	switch {
	case key.Matches(k, a.keys.Enter):
		return a.open()
	case key.Matches(k, a.keys.Back):
		if a.level > levelAS {
			a.level--
			a.syncKeys()
			a.Refresh()
		}
	}
	return nil
}

// open goes one level deeper; entering one address asks for its trace.
func (a *attackers) open() tea.Cmd {
	if a.level >= levelDetail {
		return nil
	}
	r := a.tables[a.level].selected()
	if r == nil {
		return nil
	}
	switch a.level {
	case levelAS:
		asn, _ := asKey(r.key)
		if g := groupFor(a.c.snap.ASes, r.key); g != nil && g.ASN != 0 {
			asn = g.ASN
		}
		a.asn = asn
		a.tables[levelPrefix].filter = ""
	case levelPrefix:
		if len(r.targets) == 0 {
			return nil
		}
		a.prefix = r.targets[0]
		a.tables[levelAddr].filter = ""
	case levelAddr:
		a.addr = r.addrs[0]
	}
	a.level++
	a.syncKeys()
	a.Refresh()
	if a.level == levelDetail {
		if _, ok := a.c.traces[a.addr]; !ok && a.c.eng.Trace != nil {
			return traceCmd(a.c.eng.Trace, []netip.Addr{a.addr})
		}
	}
	return nil
}

func (a *attackers) Selection() selection {
	switch a.level {
	case levelDetail:
		return selection{label: a.addr.String(), targets: []netip.Prefix{hostPrefix(a.addr)}, addrs: []netip.Addr{a.addr}}
	case levelAS:
		return selectionOf(a.tables[a.level].chosen(), "ASes")
	case levelPrefix:
		return selectionOf(a.tables[a.level].chosen(), "prefixes")
	}
	s := selectionOf(a.tables[a.level].chosen(), "addresses")
	return s
}

func (a *attackers) crumbs() string {
	parts := []string{"ASes"}
	if a.level >= levelPrefix {
		name, _ := asName(a.c.snap, a.asn)
		l := asLabel(a.asn)
		if name != "" {
			l += " " + name
		}
		parts = append(parts, l)
	}
	if a.level >= levelAddr {
		parts = append(parts, a.prefix.String())
	}
	if a.level >= levelDetail {
		parts = append(parts, a.addr.String())
	}
	return strings.Join(parts, " › ")
}

func (a *attackers) View() string {
	head := a.c.st.Title.Render(fit(a.crumbs(), a.w))
	if a.level < levelDetail {
		return head + "\n" + a.tables[a.level].view()
	}
	return head + "\n" + a.detail()
}

// detail is one address: what is known of it and its recent lines.
func (a *attackers) detail() string {
	st := a.c.st
	s := a.c.snap
	var lines []string
	add := func(label, value string) {
		lines = append(lines, st.Title.Render(fit(label, 10))+" "+fit(value, max(a.w-11, 1)))
	}
	add("Address", a.addr.String())
	tr, traced := a.c.traces[a.addr]
	var g *analyze.Group
	if s != nil {
		g = groupFor(s.IPs, a.addr.String())
	}
	asn := a.asn
	name, cc := asName(s, asn)
	if traced && tr.ASN != 0 {
		asn, name, cc = tr.ASN, tr.ASName, tr.Country
	}
	as := asLabel(asn)
	if name != "" {
		as += " " + name
	}
	if cc != "" {
		as += " [" + cc + "]"
	}
	add("AS", as)
	if traced && tr.Prefix.IsValid() {
		add("Announced", tr.Prefix.String())
	} else {
		add("Prefix", a.prefix.String())
	}
	switch {
	case !traced && a.c.eng.Trace == nil:
		add("PTR", "no tracer")
	case !traced:
		add("PTR", "looking up…")
	case tr.PTR == "":
		add("PTR", "none")
	case tr.PTRConfirmed:
		add("PTR", tr.PTR+"  ✓ confirmed (resolves back)")
	default:
		add("PTR", tr.PTR+"  ✗ not confirmed (does not resolve back)")
	}
	switch {
	case !traced:
		add("Abuse", "–")
	case tr.Abuse == "":
		add("Abuse", "unknown")
	default:
		add("Abuse", tr.Abuse)
	}
	if traced && tr.Err != "" {
		lines = append(lines, st.Warn.Render("trace: ")+fit(tr.Err, max(a.w-7, 1)))
	}
	if g != nil {
		add("Traffic", humanInt(g.Events)+" events, "+rate(g.Rate)+" "+trend(g.Rate, g.Baseline)+", "+pct(g.Share)+" of all")
		if !g.First.IsZero() {
			add("Seen", g.First.UTC().Format("15:04:05")+" – "+g.Last.UTC().Format("15:04:05")+" UTC")
		}
	} else {
		add("Traffic", "not in the current window")
	}
	lines = append(lines, "", st.Title.Render("Recent lines"))
	room := a.h - 1 - len(lines)
	var recent []string
	if s != nil {
		for i := len(s.Recent) - 1; i >= 0 && len(recent) < room; i-- {
			if s.Recent[i].Src == a.addr {
				recent = append(recent, fit(s.Recent[i].Line, a.w))
			}
		}
	}
	if len(recent) == 0 && room > 0 {
		recent = append(recent, st.Dim.Render("none among the recent lines"))
	}
	for i := len(recent) - 1; i >= 0; i-- {
		lines = append(lines, recent[i])
	}
	return strings.Join(lines, "\n")
}

func (a *attackers) ShortHelp() []key.Binding {
	return []key.Binding{a.keys.Enter, a.keys.Back, a.keys.Mark, a.keys.Filter, a.keys.Sort}
}

func (a *attackers) FullHelp() [][]key.Binding {
	return [][]key.Binding{a.keys.moves(), {a.keys.Enter, a.keys.Back, a.keys.Mark}, {a.keys.Filter, a.keys.Sort, a.keys.Reverse}}
}
