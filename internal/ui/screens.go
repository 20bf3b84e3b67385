package ui

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/irtui/irtui/internal/analyze"
)

// The Pages, Mail and DNS screens are sectioned lists over the snapshot's
// groupings; this file says which columns each shows.

func newPages(c *common) *sectioned {
	pages := &section{name: "pages", what: "pages", build: pageRows}
	pages.t = newTable(c.st, []column{
		{title: "VHOST+PATH", width: 0, sortable: true},
		{title: "RATE", width: 6, right: true, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "BYTES", width: 6, right: true, sortable: true},
		{title: "SRCS", width: 5, right: true, sortable: true},
		{title: "TREND", width: 7, sortable: true},
	}, 1, "no web requests in the window")
	pages.open = func(r row) *section {
		page := r.key
		s := &section{name: "who hits it, by AS", what: "ASes", build: func(s *analyze.Snapshot) []row {
			g := groupFor(s.Pages, page)
			if g == nil {
				return nil
			}
			return memberASRows(s, g.Top, g.Events, pathOf(page))
		}}
		s.t = newTable(c.st, asMemberCols, 2, "no AS recorded for this page")
		return s
	}
	clusters := &section{name: "behaviour clusters", what: "clusters", build: clusterRows}
	clusters.t = newTable(c.st, []column{
		{title: "CLUSTER", width: 8, sortable: true},
		{title: "SRCS", width: 5, right: true, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "USER AGENT", width: 0, sortable: true},
		{title: "PAGES", width: 22},
	}, 2, "no behaviour cluster yet")
	clusters.open = func(r row) *section {
		id := r.key
		s := &section{name: "its sources, by AS", what: "ASes", build: func(s *analyze.Snapshot) []row {
			for _, cl := range s.Clusters {
				if cl.ID == id {
					return memberASRows(s, cl.ASes, cl.Events, "")
				}
			}
			return nil
		}}
		s.t = newTable(c.st, asMemberCols, 2, "no AS recorded for this cluster")
		return s
	}
	p := newSectioned(c, pages, clusters)
	return p
}

var asMemberCols = []column{
	{title: "AS", width: 10, sortable: true},
	{title: "NAME", width: 0, sortable: true},
	{title: "EVENTS", width: 6, right: true, sortable: true},
	{title: "SHARE", width: 6, right: true, sortable: true},
	{title: "PREFIXES", width: 8, right: true, sortable: true},
}

// memberASRows lists the ASes of a page or cluster, each blockable by its
// prefixes.
func memberASRows(s *analyze.Snapshot, members []analyze.Member, total int64, logText string) []row {
	rows := make([]row, 0, len(members))
	for _, m := range members {
		asn, _ := asKey(m.Key)
		name, _ := asName(s, asn)
		var top []analyze.Member
		if g := groupFor(s.ASes, m.Key); g != nil {
			top = g.Top
		}
		ps := asPrefixes(s, asn, top)
		share := 0.0
		if total > 0 {
			share = float64(m.Events) / float64(total)
		}
		label := asLabel(asn)
		if name != "" {
			label += " (" + name + ")"
		}
		rows = append(rows, row{
			key:     m.Key,
			cells:   []string{m.Key, name, humanInt(m.Events), pct(share), strconv.Itoa(len(ps))},
			sort:    nums(float64(asn), nan, float64(m.Events), share, float64(len(ps))),
			targets: ps,
			logText: logText,
			label:   label,
		})
	}
	return rows
}

// pathOf is the path part of "vhost/path", the text a raw line carries.
func pathOf(page string) string {
	if i := strings.IndexByte(page, '/'); i >= 0 {
		return page[i:]
	}
	return page
}

func pageRows(s *analyze.Snapshot) []row {
	rows := make([]row, 0, len(s.Pages))
	for _, g := range s.Pages {
		rows = append(rows, row{
			key:     g.Key,
			cells:   []string{g.Key, rate(g.Rate), humanInt(g.Events), bytesHuman(g.Bytes), strconv.Itoa(g.Sources), trend(g.Rate, g.Baseline)},
			sort:    nums(nan, g.Rate, float64(g.Events), float64(g.Bytes), float64(g.Sources), ratio(g.Rate, g.Baseline)),
			logText: pathOf(g.Key),
		})
	}
	return rows
}

func clusterRows(s *analyze.Snapshot) []row {
	rows := make([]row, 0, len(s.Clusters))
	for _, cl := range s.Clusters {
		ts := make([]netip.Prefix, 0, len(cl.Sources))
		for _, a := range cl.Sources {
			ts = append(ts, hostPrefix(a))
		}
		rows = append(rows, row{
			key:     cl.ID,
			cells:   []string{cl.ID, strconv.Itoa(cl.Size), humanInt(cl.Events), cl.UA, strings.Join(cl.Pages, " ")},
			sort:    nums(nan, float64(cl.Size), float64(cl.Events), nan, nan),
			targets: ts,
			addrs:   cl.Sources,
			label:   "cluster " + cl.ID,
		})
	}
	return rows
}

// addrRows lists client addresses with their AS.
func addrRows(gs []analyze.Group) []row {
	rows := make([]row, 0, len(gs))
	for _, g := range gs {
		ip, ok := groupAddr(g)
		r := row{
			key:   g.Key,
			cells: []string{g.Key, asLabel(g.ASN) + " " + g.ASName, humanInt(g.Events), rate(g.Rate), pct(g.Share)},
			sort:  nums(nan, float64(g.ASN), float64(g.Events), g.Rate, g.Share),
		}
		if ok {
			r.targets = []netip.Prefix{hostPrefix(ip)}
			r.addrs = []netip.Addr{ip}
		}
		rows = append(rows, r)
	}
	return rows
}

var addrCols = []column{
	{title: "ADDRESS", width: 20, sortable: true},
	{title: "AS", width: 0, sortable: true},
	{title: "EVENTS", width: 6, right: true, sortable: true},
	{title: "RATE", width: 6, right: true, sortable: true},
	{title: "SHARE", width: 6, right: true, sortable: true},
}

// keyRows lists plain keyed groups (actions, senders, names, types).
func keyRows(gs []analyze.Group, logText bool) []row {
	rows := make([]row, 0, len(gs))
	for _, g := range gs {
		r := row{
			key:   g.Key,
			cells: []string{g.Key, rate(g.Rate), rate(g.Baseline), humanInt(g.Events), strconv.Itoa(g.Sources), trend(g.Rate, g.Baseline)},
			sort:  nums(nan, g.Rate, g.Baseline, float64(g.Events), float64(g.Sources), ratio(g.Rate, g.Baseline)),
		}
		if logText {
			r.logText = g.Key
		}
		rows = append(rows, r)
	}
	return rows
}

func keyCols(title string) []column {
	return []column{
		{title: title, width: 0, sortable: true},
		{title: "RATE", width: 6, right: true, sortable: true},
		{title: "BASE", width: 6, right: true, sortable: true},
		{title: "EVENTS", width: 6, right: true, sortable: true},
		{title: "SRCS", width: 5, right: true, sortable: true},
		{title: "TREND", width: 7, sortable: true},
	}
}

func newMail(c *common) *sectioned {
	actions := &section{name: "actions", what: "actions", build: func(s *analyze.Snapshot) []row { return keyRows(s.MailActions, false) }}
	actions.t = newTable(c.st, keyCols("ACTION/REASON"), 1, "no mail events in the window")
	actions.t.noMarks = true
	clients := &section{name: "clients", what: "clients", build: func(s *analyze.Snapshot) []row { return addrRows(s.MailClients) }}
	clients.t = newTable(c.st, addrCols, 3, "no mail client in the window")
	senders := &section{name: "senders", what: "senders", build: func(s *analyze.Snapshot) []row { return keyRows(s.MailSenders, true) }}
	senders.t = newTable(c.st, keyCols("SENDER"), 1, "no sender in the window")
	senders.t.noMarks = true
	p := newSectioned(c, actions, clients, senders)
	p.summary = mailSummary
	return p
}

// mailSummary is the one line a mail incident is judged by.
func mailSummary(s *analyze.Snapshot, w int) string {
	if s == nil {
		return ""
	}
	var sent, sentBase, rejects, relay, auth, bounced, back float64
	for _, g := range s.MailActions {
		action, reason, _ := strings.Cut(g.Key, "/")
		switch action {
		case "sent":
			sent, sentBase = sent+g.Rate, sentBase+g.Baseline
		case "reject":
			rejects += g.Rate
			if strings.Contains(strings.ToLower(reason), "relay") {
				relay += g.Rate
			}
		case "auth_fail":
			auth += g.Rate
		case "bounced":
			bounced += g.Rate
		case "backscatter":
			back += g.Rate
		}
	}
	return "sent " + rate(sent) + " (base " + rate(sentBase) + " " + trend(sent, sentBase) + ")  rejects " + rate(rejects) +
		"  relay " + rate(relay) + "  auth fail " + rate(auth) + "  bounces " + rate(bounced) + "  backscatter " + rate(back)
}

func newDNS(c *common) *sectioned {
	names := &section{name: "names", what: "names", build: func(s *analyze.Snapshot) []row { return keyRows(s.DNSNames, true) }}
	names.t = newTable(c.st, keyCols("QUERY NAME"), 1, "no DNS queries in the window")
	names.t.noMarks = true
	types := &section{name: "types", what: "types", build: func(s *analyze.Snapshot) []row { return keyRows(s.DNSTypes, false) }}
	types.t = newTable(c.st, keyCols("TYPE"), 1, "no DNS queries in the window")
	types.t.noMarks = true
	clients := &section{name: "clients", what: "clients", build: func(s *analyze.Snapshot) []row { return addrRows(s.DNSClients) }}
	clients.t = newTable(c.st, addrCols, 3, "no DNS client in the window")
	denied := &section{name: "denied/refused", what: "clients", build: func(s *analyze.Snapshot) []row { return addrRows(s.DNSDenied) }}
	denied.t = newTable(c.st, addrCols, 3, "no denied or refused query from outside")
	p := newSectioned(c, names, types, clients, denied)
	p.summary = func(s *analyze.Snapshot, w int) string {
		if s == nil {
			return ""
		}
		var q, base, den float64
		for _, g := range s.DNSTypes {
			q, base = q+g.Rate, base+g.Baseline
		}
		for _, g := range s.DNSDenied {
			den += g.Rate
		}
		return "queries " + rate(q) + " (base " + rate(base) + " " + trend(q, base) + ")  denied/refused from outside " + rate(den) +
			"  clients " + strconv.Itoa(len(s.DNSClients))
	}
	return p
}
