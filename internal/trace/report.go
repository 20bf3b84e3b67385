package trace

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
)

// AbuseRow is one attacking address in an abuse report.
type AbuseRow struct {
	IP       netip.Addr
	ASN      uint32 // 0 when unknown
	ASName   string
	Prefix   netip.Prefix
	First    time.Time
	Last     time.Time
	Events   int64
	Evidence []string // raw log lines (attacker-controlled; sanitized and masked on output)
}

// ContactSource gives the abuse addresses known for an address or its AS.
// It must not block; Tracer.AbuseContacts answers from its cache.
type ContactSource interface {
	AbuseContacts(asn uint32, ip netip.Addr) []string
}

// ContactsFunc adapts a function to ContactSource.
type ContactsFunc func(asn uint32, ip netip.Addr) []string

// AbuseContacts calls f.
func (f ContactsFunc) AbuseContacts(asn uint32, ip netip.Addr) []string { return f(asn, ip) }

// AbuseOptions shape an abuse report.
type AbuseOptions struct {
	Format      string        // "text" (default), "markdown" or "csv"
	Mask        []string      // the operator's host names and addresses, replaced by "[masked]"
	Contacts    ContactSource // nil: no contacts listed
	MaxEvidence int           // evidence lines per address (default 3)
	Title       string        // first line (default "Abuse report")
	Generated   time.Time     // stated in the header when set
}

const (
	maxEvidenceRunes = 300
	masked           = "[masked]"
)

// Report formats.
const (
	ReportText     = "text"
	ReportMarkdown = "markdown"
	ReportCSV      = "csv"
)

// AbuseContacts answers from the cache: the contacts found for ip. It
// never blocks, so a report can be written while lookups continue.
func (t *Tracer) AbuseContacts(_ uint32, ip netip.Addr) []string {
	if e, ok := t.cache.abuseOf(ip.Unmap()); ok {
		return e.Contacts
	}
	return nil
}

type reportAS struct {
	asn      uint32
	name     string
	contacts []string
	rows     []AbuseRow
	events   int64
}

// WriteAbuseReport writes the report network operators ask for: one
// section per AS with its abuse contacts, then its attacking addresses
// sorted by IP, each with first and last seen (UTC), the event count and a
// few evidence lines. Sections are ordered by AS number, unknown AS last.
// Every piece of text from a log or a lookup is sanitized, and the
// operator's own names and addresses (opts.Mask) are replaced.
func WriteAbuseReport(w io.Writer, rows []AbuseRow, opts AbuseOptions) error {
	if opts.MaxEvidence <= 0 {
		opts.MaxEvidence = 3
	}
	if opts.Title == "" {
		opts.Title = "Abuse report"
	}
	m := newMasker(opts.Mask)
	groups := groupRows(rows, opts.Contacts, m)
	bw := bufio.NewWriter(w)
	var err error
	switch opts.Format {
	case "", ReportText:
		writeReportText(bw, groups, opts, m)
	case ReportMarkdown:
		writeReportMarkdown(bw, groups, opts, m)
	case ReportCSV:
		err = writeReportCSV(bw, groups, opts, m)
	default:
		return fmt.Errorf("unknown report format %q (want text, markdown or csv)", sanitize.Text(opts.Format))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func groupRows(rows []AbuseRow, src ContactSource, m masker) []*reportAS {
	sorted := slices.Clone(rows)
	for i := range sorted {
		sorted[i].IP = sorted[i].IP.Unmap()
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.ASN != b.ASN {
			if a.ASN == 0 || b.ASN == 0 {
				return b.ASN == 0 // unknown AS last
			}
			return a.ASN < b.ASN
		}
		return a.IP.Less(b.IP)
	})
	var groups []*reportAS
	for _, r := range sorted {
		if len(groups) == 0 || groups[len(groups)-1].asn != r.ASN {
			groups = append(groups, &reportAS{asn: r.ASN})
		}
		g := groups[len(groups)-1]
		if g.name == "" && r.ASName != "" {
			g.name = m.apply(sanitize.Truncate(r.ASName, maxASNameRunes))
		}
		g.rows = append(g.rows, r)
		g.events += r.Events
		if src != nil {
			for _, c := range src.AbuseContacts(r.ASN, r.IP) {
				c = strings.ToLower(c)
				if plausibleEmail(c) && !containsString(g.contacts, c) {
					g.contacts = append(g.contacts, c)
				}
			}
		}
	}
	for _, g := range groups {
		sort.Strings(g.contacts)
	}
	return groups
}

func (g *reportAS) label() string {
	if g.asn == 0 {
		return "AS unknown"
	}
	s := "AS" + strconv.FormatUint(uint64(g.asn), 10)
	if g.name != "" {
		s += " " + g.name
	}
	return s
}

func (g *reportAS) contactLine() string {
	if len(g.contacts) == 0 {
		return "none found (look up the network's abuse contact in its registry)"
	}
	return strings.Join(g.contacts, ", ")
}

func utc(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return "unknown"
	}
	return p.String()
}

func evidenceLines(r AbuseRow, n int, m masker) []string {
	var out []string
	for _, e := range r.Evidence {
		if len(out) == n {
			break
		}
		out = append(out, m.apply(sanitize.Truncate(e, maxEvidenceRunes)))
	}
	return out
}

func totals(groups []*reportAS) (addrs int, events int64) {
	for _, g := range groups {
		addrs += len(g.rows)
		events += g.events
	}
	return
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

func writeReportText(w *bufio.Writer, groups []*reportAS, opts AbuseOptions, m masker) {
	addrs, events := totals(groups)
	fmt.Fprintln(w, m.apply(sanitize.Text(opts.Title)))
	if !opts.Generated.IsZero() {
		fmt.Fprintf(w, "Generated %s UTC. ", utc(opts.Generated))
	}
	fmt.Fprintln(w, "All times are UTC.")
	fmt.Fprintf(w, "%s, %s, %s.\n", plural(int64(len(groups)), "network", "networks"),
		plural(int64(addrs), "address", "addresses"), plural(events, "event", "events"))
	ipW, pfxW := len("IP"), len("Prefix")
	for _, g := range groups {
		for _, r := range g.rows {
			ipW = max(ipW, len(r.IP.String()))
			pfxW = max(pfxW, len(prefixText(r.Prefix)))
		}
	}
	for _, g := range groups {
		fmt.Fprintf(w, "\n== %s ==\n", g.label())
		fmt.Fprintf(w, "Abuse contacts: %s\n", g.contactLine())
		fmt.Fprintf(w, "%s, %s\n\n", plural(int64(len(g.rows)), "address", "addresses"), plural(g.events, "event", "events"))
		fmt.Fprintf(w, "  %-*s  %-*s  %-19s  %-19s  %s\n", ipW, "IP", pfxW, "Prefix", "First seen (UTC)", "Last seen (UTC)", "Events")
		for _, r := range g.rows {
			fmt.Fprintf(w, "  %-*s  %-*s  %-19s  %-19s  %d\n", ipW, r.IP, pfxW, prefixText(r.Prefix), utc(r.First), utc(r.Last), r.Events)
			for _, e := range evidenceLines(r, opts.MaxEvidence, m) {
				fmt.Fprintf(w, "      > %s\n", e)
			}
		}
	}
}

// mdEscape keeps attacker text from becoming Markdown structure (links,
// emphasis, HTML, table cells).
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]<>#|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func writeReportMarkdown(w *bufio.Writer, groups []*reportAS, opts AbuseOptions, m masker) {
	addrs, events := totals(groups)
	fmt.Fprintf(w, "# %s\n\n", mdEscape(m.apply(sanitize.Text(opts.Title))))
	if !opts.Generated.IsZero() {
		fmt.Fprintf(w, "Generated %s UTC. ", utc(opts.Generated))
	}
	fmt.Fprintf(w, "All times are UTC. %s, %s, %s.\n", plural(int64(len(groups)), "network", "networks"),
		plural(int64(addrs), "address", "addresses"), plural(events, "event", "events"))
	for _, g := range groups {
		fmt.Fprintf(w, "\n## %s\n\n", mdEscape(g.label()))
		contacts := g.contactLine()
		if len(g.contacts) > 0 {
			quoted := make([]string, len(g.contacts))
			for i, c := range g.contacts {
				quoted[i] = "`" + c + "`"
			}
			contacts = strings.Join(quoted, ", ")
		}
		fmt.Fprintf(w, "Abuse contacts: %s\n\n", contacts)
		fmt.Fprintf(w, "%s, %s.\n\n", plural(int64(len(g.rows)), "address", "addresses"), plural(g.events, "event", "events"))
		fmt.Fprintln(w, "| IP | Prefix | First seen (UTC) | Last seen (UTC) | Events |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | ---: |")
		var ev []string
		for _, r := range g.rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %d |\n", r.IP, prefixText(r.Prefix), utc(r.First), utc(r.Last), r.Events)
			for _, e := range evidenceLines(r, opts.MaxEvidence, m) {
				ev = append(ev, r.IP.String()+": "+e)
			}
		}
		if len(ev) > 0 {
			// An indented code block: nothing inside is rendered as markup.
			fmt.Fprintln(w, "\nEvidence:")
			fmt.Fprintln(w)
			for _, e := range ev {
				fmt.Fprintf(w, "    %s\n", e)
			}
		}
	}
}

// csvCell defuses spreadsheet formulas in attacker text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeReportCSV(w *bufio.Writer, groups []*reportAS, opts AbuseOptions, m masker) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"asn", "as_name", "abuse_contacts", "ip", "prefix", "first_seen_utc", "last_seen_utc", "events", "evidence"}); err != nil {
		return err
	}
	iso := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, g := range groups {
		asn := ""
		if g.asn != 0 {
			asn = strconv.FormatUint(uint64(g.asn), 10)
		}
		prefix := func(p netip.Prefix) string {
			if p.IsValid() {
				return p.String()
			}
			return ""
		}
		for _, r := range g.rows {
			rec := []string{asn, csvCell(g.name), strings.Join(g.contacts, " "), r.IP.String(), prefix(r.Prefix),
				iso(r.First), iso(r.Last), strconv.FormatInt(r.Events, 10),
				csvCell(strings.Join(evidenceLines(r, opts.MaxEvidence, m), " | "))}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// masker replaces the operator's names and addresses, longest first so a
// host name is masked whole before its domain, ignoring case.
type masker struct{ terms []string }

func newMasker(terms []string) masker {
	var m masker
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if t != "" {
			m.terms = append(m.terms, t)
		}
	}
	sort.Slice(m.terms, func(i, j int) bool { return len(m.terms[i]) > len(m.terms[j]) })
	return m
}

func (m masker) apply(s string) string {
	for _, t := range m.terms {
		s = replaceFold(s, t, masked)
	}
	return s
}

func replaceFold(s, old, repl string) string {
	if len(old) == 0 || len(s) < len(old) {
		return s
	}
	var b strings.Builder
	i, last := 0, 0
	for i+len(old) <= len(s) {
		if strings.EqualFold(s[i:i+len(old)], old) {
			b.WriteString(s[last:i])
			b.WriteString(repl)
			i += len(old)
			last = i
			continue
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
