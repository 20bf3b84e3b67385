package ui

import (
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/playbook"
)

// screenNames are the screens in the order of their number keys.
var screenNames = [...]string{"Overview", "Attackers", "Pages", "Mail", "DNS", "Blocks", "Log", "Playbook"}

const (
	scrOverview = iota
	scrAttackers
	scrPages
	scrMail
	scrDNS
	scrBlocks
	scrLog
	scrPlaybook
)

// common is what every pane shares: size, styles, the engines and the
// latest data. The root model owns it; panes only read it.
type common struct {
	width, height int
	st            *Styles
	eng           Engines
	mode          Mode
	snap          *analyze.Snapshot
	now           time.Time
	traces        map[netip.Addr]TraceResult
	blocks        []ActiveBlock
	prompt        promptKeys
	wall          func() time.Time // the wall clock (Config.Now)
	tl            *timelineQueue
	// suggested are the playbooks the active findings suggest, rebuilt on
	// every snapshot; running says which playbook is in progress.
	suggested []*playbook.Playbook
	running   string
	complaint string // the drill's abuse complaint, once it arrived
}

// clock is the time events are stamped with: the drill's data clock in a
// drill, the wall clock otherwise.
func (c *common) clock() time.Time {
	if c.eng.Drill != nil {
		return c.eng.Drill.Clock(c.wall())
	}
	return c.wall()
}

// record queues a timeline entry stamped now.
func (c *common) record(kind, summary, detail string) tea.Cmd {
	return c.tl.add(tlEntry{at: c.clock(), kind: kind, summary: summary, detail: detail})
}

// maxTraces bounds the trace cache the console keeps.
const maxTraces = 4096

// pane is the contract every screen implements (see STYLE.md, habit 2).
// Update returns only a command: the root owns the model tree.
type pane interface {
	help.KeyMap
	Init() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetSize(w, h int)
	// Refresh rebuilds the pane's rows after new data arrived.
	Refresh()
	// Capturing reports whether the pane is reading text (a filter prompt),
	// so single-letter global keys go to it.
	Capturing() bool
	// Selection is what b, t, r and l act on.
	Selection() selection
}

// selection is the group or finding the operator points at.
type selection struct {
	label   string
	targets []netip.Prefix
	addrs   []netip.Addr
	ports   []string
	logText string
}

func (s selection) empty() bool {
	return len(s.targets) == 0 && len(s.addrs) == 0 && s.logText == ""
}

// selectionOf joins the chosen rows of a table.
func selectionOf(rows []row, what string) selection {
	var s selection
	for _, r := range rows {
		s.targets = append(s.targets, r.targets...)
		s.addrs = append(s.addrs, r.addrs...)
		s.ports = appendUnique(s.ports, r.ports...)
		if s.logText == "" {
			s.logText = r.logText
		}
	}
	s.targets = dedupePrefixes(s.targets)
	switch len(rows) {
	case 0:
	case 1:
		s.label = rows[0].label
		if s.label == "" {
			s.label = rows[0].key
		}
	default:
		s.label = strconv.Itoa(len(rows)) + " " + what
		s.logText = ""
	}
	return s
}

func appendUnique(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// dedupePrefixes drops repeated prefixes and those inside another one.
func dedupePrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	out := ps[:0]
	for _, p := range ps {
		inside := false
		for _, q := range out {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, p)
		}
	}
	return out
}

func hostPrefix(a netip.Addr) netip.Prefix {
	p, _ := a.Prefix(a.BitLen())
	return p
}

// asKey parses "AS64500"; "AS unknown" gives 0.
func asKey(s string) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "AS"), 10, 32)
	return uint32(n), err == nil
}

// asPrefixes is every prefix of the snapshot announced by asn, plus the
// AS group's own top members, with nested ones dropped.
func asPrefixes(s *analyze.Snapshot, asn uint32, top []analyze.Member) []netip.Prefix {
	if s == nil {
		return nil
	}
	return asPrefixesFrom(prefixesByAS(s), asn, top)
}

// prefixesByAS indexes the snapshot's prefixes once per refresh, so a
// screen of many ASes is not quadratic.
func prefixesByAS(s *analyze.Snapshot) map[uint32][]netip.Prefix {
	m := make(map[uint32][]netip.Prefix)
	for _, g := range s.Prefixes {
		if g.Prefix.IsValid() {
			m[g.ASN] = append(m[g.ASN], g.Prefix)
		}
	}
	return m
}

func asPrefixesFrom(byAS map[uint32][]netip.Prefix, asn uint32, top []analyze.Member) []netip.Prefix {
	out := append([]netip.Prefix(nil), byAS[asn]...)
	for _, m := range top {
		if p, err := netip.ParsePrefix(m.Key); err == nil {
			out = append(out, p.Masked())
		}
	}
	return dedupePrefixes(out)
}

func groupFor(gs []analyze.Group, key string) *analyze.Group {
	for i := range gs {
		if gs[i].Key == key {
			return &gs[i]
		}
	}
	return nil
}

func asName(s *analyze.Snapshot, asn uint32) (name, country string) {
	if s == nil {
		return "", ""
	}
	for _, g := range s.ASes {
		if g.ASN == asn {
			return g.ASName, g.Country
		}
	}
	return "", ""
}

func asLabel(asn uint32) string {
	if asn == 0 {
		return "AS unknown"
	}
	return "AS" + strconv.FormatUint(uint64(asn), 10)
}

// groupAddr is the address of an IP group.
func groupAddr(g analyze.Group) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(g.Key); err == nil {
		return a, true
	}
	if g.Prefix.IsValid() && g.Prefix.IsSingleIP() {
		return g.Prefix.Addr(), true
	}
	return netip.Addr{}, false
}

func nums(v ...float64) []float64 { return v }

var nan = math.NaN()
