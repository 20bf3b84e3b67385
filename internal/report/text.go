package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/irtui/irtui/internal/analyze"
)

// WriteText writes the report for people: a summary, then the AS, address,
// page, status, cluster, mail and DNS tables, then the findings. Every
// string that came from a log is sanitized and cut to a column width.
func WriteText(w io.Writer, s *analyze.Snapshot, m Meta, top int) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	lines := max(m.Lines, s.Lines+m.Skipped)
	p("%d lines: %d parsed, %d malformed, %d skipped", lines, s.Parsed, s.Malformed, s.Skipped+m.Skipped)
	if !s.From.IsZero() {
		p(", from %s to %s", s.From.Format(time.RFC3339), s.To.Format(time.RFC3339))
	}
	p("\n")
	if len(s.Formats) > 0 {
		var fs []string
		for name, n := range s.Formats {
			fs = append(fs, fmt.Sprintf("%s %d", clean(name, 40), n))
		}
		p("formats: %s\n", strings.Join(sortedStrings(fs), ", "))
	}
	for _, f := range m.Files {
		if f.Err != "" {
			p("file %s: %s\n", clean(f.Source, 80), clean(f.Err, 200))
		}
	}
	if s.Total.Events > 0 {
		p("traffic: %d events, %s, %.1f/s in the last %s (baseline %.1f/s)\n",
			s.Total.Events, fmtBytes(s.Total.Bytes), s.Total.Rate, shortWindow(s), s.Total.Baseline)
	}

	table := func(title string, header string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		p("\n%s\n", title)
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, header+"\t")
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
		}
		tw.Flush()
	}
	n := func(v int64) string { return fmt.Sprintf("%d", v) }

	var rows [][]string
	for _, g := range s.ASes[:min(top, len(s.ASes))] {
		rows = append(rows, []string{clean(asLabel(g.ASN, g.ASName), 40), n(int64(g.Sources)), n(g.Events), pct(g.Share), fmtBytes(g.Bytes)})
	}
	table("Autonomous systems", "AS\tsources\tevents\tshare\tbytes", rows)

	rows = nil
	for _, g := range s.IPs[:min(top, len(s.IPs))] {
		p1, _ := analyze.Prefixes(g.Prefix.Addr())
		rows = append(rows, []string{g.Key, p1.String(), clean(asLabel(g.ASN, g.ASName), 30), n(g.Events), pct(g.Share), fmtBytes(g.Bytes),
			g.Last.Format("01-02 15:04:05")})
	}
	table("Top addresses", "address\tprefix\tAS\tevents\tshare\tbytes\tlast", rows)

	rows = nil
	for _, g := range s.Prefixes[:min(top, len(s.Prefixes))] {
		rows = append(rows, []string{g.Key, clean(asLabel(g.ASN, g.ASName), 30), n(int64(g.Sources)), n(g.Events), pct(g.Share)})
	}
	table("Top prefixes", "prefix\tAS\tsources\tevents\tshare", rows)

	rows = nil
	for _, g := range s.Pages[:min(top, len(s.Pages))] {
		vhost := g.Vhost
		if g.Host != "" {
			vhost = g.Host + " " + vhost
		}
		rows = append(rows, []string{clean(vhost, 30), clean(g.Path, 60), n(g.Events), n(int64(g.Sources)), fmtBytes(g.Bytes), fmt.Sprintf("%.1f", g.Rate)})
	}
	table("Pages", "vhost\tpath\tevents\tsources\tbytes\treq/s now", rows)

	rows = nil
	for _, g := range s.Statuses {
		rows = append(rows, []string{g.Key, n(g.Events), pct(g.Share)})
	}
	table("Status classes", "status\tevents\tshare", rows)

	if len(s.Clusters) > 0 {
		p("\nBehaviour clusters (same pages, same user agent)\n")
		for _, c := range s.Clusters[:min(top, len(s.Clusters))] {
			var ases []string
			for _, a := range c.ASes[:min(5, len(c.ASes))] {
				ases = append(ases, fmt.Sprintf("%s (%d)", a.Key, a.Events))
			}
			var pages []string
			for _, pg := range c.Pages {
				pages = append(pages, clean(pg, 60))
			}
			p("  %d sources, %d requests: %s\n    agent %q\n    ASes %s\n", c.Size, c.Events, strings.Join(pages, " "),
				clean(c.UA, 100), strings.Join(ases, ", "))
		}
	}

	rows = nil
	for _, g := range s.MailActions[:min(top, len(s.MailActions))] {
		rows = append(rows, []string{clean(g.Key, 40), n(g.Events), n(int64(g.Sources)), fmt.Sprintf("%.2f", g.Rate), fmt.Sprintf("%.2f", g.Baseline)})
	}
	table("Mail actions", "action\tevents\tsources\tper s now\tbaseline", rows)
	rows = nil
	for _, g := range s.MailClients[:min(top, len(s.MailClients))] {
		rows = append(rows, []string{g.Key, n(g.Events)})
	}
	table("Mail clients", "client\tevents", rows)
	rows = nil
	for _, g := range s.MailSenders[:min(top, len(s.MailSenders))] {
		rows = append(rows, []string{clean(g.Key, 60), n(g.Events), n(int64(g.Sources))})
	}
	table("Mail senders", "sender\tevents\tsources", rows)

	rows = nil
	for _, g := range s.DNSNames[:min(top, len(s.DNSNames))] {
		rows = append(rows, []string{clean(g.Key, 60), n(g.Events), n(int64(g.Sources))})
	}
	table("DNS names", "name\tqueries\tsources", rows)
	rows = nil
	for _, g := range s.DNSTypes[:min(top, len(s.DNSTypes))] {
		rows = append(rows, []string{clean(g.Key, 12), n(g.Events)})
	}
	table("DNS query types", "type\tqueries", rows)
	rows = nil
	for _, g := range s.DNSDenied[:min(top, len(s.DNSDenied))] {
		rows = append(rows, []string{g.Key, n(g.Events)})
	}
	table("DNS denied, from outside", "client\tqueries", rows)

	p("\nFindings\n")
	if len(s.Findings) == 0 {
		p("  none\n")
	}
	for _, f := range s.Findings {
		p("  [%s] %s: %s\n", f.Severity, f.Kind, clean(f.Summary, 200))
		for _, e := range f.Evidence {
			p("      %-48s %d\n", clean(e.Label, 48), e.Count)
		}
		if len(f.Targets) > 0 {
			p("      targets (%s): %s\n", strings.Join(f.Ports, " "), joinTrim(prefixes(f.Targets), 10))
		}
		for _, l := range f.Samples {
			p("      > %s\n", clean(l, 160))
		}
	}
	return bw.Flush()
}

func shortWindow(s *analyze.Snapshot) string {
	if len(s.Windows) == 0 {
		return "window"
	}
	return s.Windows[0].String()
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
