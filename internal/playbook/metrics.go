package playbook

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/irtui/irtui/internal/analyze"
)

// Context is what check, choose and verify steps read: the live snapshot,
// the finding the playbook was started for, what an earlier choose step
// picked, and values measured outside the analyzer (the self-audit).
type Context struct {
	Snapshot *analyze.Snapshot
	Finding  *analyze.Finding
	Chosen   []netip.Prefix
	// Values holds externally measured metrics by name, e.g. "syn_recv"
	// from the self-audit, "open_relay" (1 or 0), "open_resolver".
	Values map[string]float64
}

// metric computes one value and says in words what it measured.
type metric func(c *Context, a MetricArgs) (float64, string)

var metrics = map[string]metric{
	"top_ases_share":    topASesShare,
	"top_pages_share":   topPagesShare,
	"total_rate_ratio":  totalRateRatio,
	"page_rate_ratio":   pageRateRatio,
	"finding_active":    findingActive,
	"chosen_rate":       chosenRate,
	"chosen_share":      chosenShare,
	"mail_action_rate":  mailActionRate,
	"mail_action_ratio": mailActionRatio,
	"dns_denied_rate":   dnsDeniedRate,
	"dns_qtype_rate":    dnsQtypeRate,
	"external":          external,
}

// MetricNames lists the metrics check and verify steps may use.
func MetricNames() []string {
	out := make([]string, 0, len(metrics))
	for k := range metrics {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Evaluate computes a check or verify step's metric and compares it.
func Evaluate(s *Step, c *Context) (ok bool, value float64, text string) {
	m, found := metrics[s.Metric]
	if !found || c == nil || c.Snapshot == nil {
		return false, 0, "no live data yet"
	}
	value, what := m(c, s.Args)
	switch s.Op {
	case "<":
		ok = value < s.Value
	case "<=":
		ok = value <= s.Value
	case ">":
		ok = value > s.Value
	case ">=":
		ok = value >= s.Value
	}
	verdict := "no"
	if ok {
		verdict = "yes"
	}
	return ok, value, fmt.Sprintf("%s = %s (%s %s): %s", what, num(value), s.Op, num(s.Value), verdict)
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

func topN(a MetricArgs) int {
	if a.N <= 0 {
		return 3
	}
	return a.N
}

// findingPage is the page a page-flood finding is about: its first
// evidence label that names a page group, else the busiest page.
func findingPage(c *Context, a MetricArgs) *analyze.Group {
	want := a.Page
	if want == "" && c.Finding != nil {
		for _, e := range c.Finding.Evidence {
			for i := range c.Snapshot.Pages {
				if c.Snapshot.Pages[i].Key == e.Label {
					return &c.Snapshot.Pages[i]
				}
			}
		}
	}
	for i := range c.Snapshot.Pages {
		if want == "" || c.Snapshot.Pages[i].Key == want {
			return &c.Snapshot.Pages[i]
		}
	}
	return nil
}

func topASesShare(c *Context, a MetricArgs) (float64, string) {
	n := topN(a)
	if a.Page != "" || (c.Finding != nil && c.Finding.Kind == "page_flood") {
		if p := findingPage(c, a); p != nil && p.Events > 0 {
			var sum int64
			for i, m := range p.Top {
				if i == n {
					break
				}
				sum += m.Events
			}
			return float64(sum) / float64(p.Events), fmt.Sprintf("share of %s from its top %d ASes", p.Key, n)
		}
	}
	var share float64
	for i, g := range c.Snapshot.ASes {
		if i == n {
			break
		}
		share += g.Share
	}
	return share, fmt.Sprintf("share of traffic from the top %d ASes", n)
}

func topPagesShare(c *Context, a MetricArgs) (float64, string) {
	n := topN(a)
	var total, sum int64
	for i, g := range c.Snapshot.Pages {
		total += g.Events
		if i < n {
			sum += g.Events
		}
	}
	if total == 0 {
		return 0, fmt.Sprintf("share of requests on the top %d pages", n)
	}
	return float64(sum) / float64(total), fmt.Sprintf("share of requests on the top %d pages", n)
}

func ratio(g analyze.Group) float64 {
	if g.Baseline <= 0 {
		if g.Rate > 0 {
			return g.Rate
		}
		return 0
	}
	return g.Rate / g.Baseline
}

func totalRateRatio(c *Context, a MetricArgs) (float64, string) {
	return ratio(c.Snapshot.Total), "total rate against its baseline"
}

func pageRateRatio(c *Context, a MetricArgs) (float64, string) {
	p := findingPage(c, a)
	if p == nil {
		return 0, "page rate against its baseline"
	}
	return ratio(*p), fmt.Sprintf("rate of %s against its baseline", p.Key)
}

func findingActive(c *Context, a MetricArgs) (float64, string) {
	kind := a.Kind
	if kind == "" && c.Finding != nil {
		kind = c.Finding.Kind
	}
	for _, f := range c.Snapshot.Findings {
		if f.Kind == kind {
			return 1, fmt.Sprintf("finding %s active", kind)
		}
	}
	return 0, fmt.Sprintf("finding %s active", kind)
}

func covered(chosen []netip.Prefix, key string) bool {
	addr, err := netip.ParseAddr(key)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range chosen {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func chosenRate(c *Context, a MetricArgs) (float64, string) {
	var rate float64
	for _, g := range c.Snapshot.IPs {
		if covered(c.Chosen, g.Key) {
			rate += g.Rate
		}
	}
	return rate, fmt.Sprintf("events/s from the %d chosen targets", len(c.Chosen))
}

func chosenShare(c *Context, a MetricArgs) (float64, string) {
	var share float64
	for _, g := range c.Snapshot.IPs {
		if covered(c.Chosen, g.Key) {
			share += g.Share
		}
	}
	return share, fmt.Sprintf("share of traffic from the %d chosen targets", len(c.Chosen))
}

func mailGroup(c *Context, action string) (analyze.Group, bool) {
	var sum analyze.Group
	found := false
	for _, g := range c.Snapshot.MailActions {
		if g.Key == action || strings.HasPrefix(g.Key, action+"/") {
			sum.Rate += g.Rate
			sum.Baseline += g.Baseline
			sum.Events += g.Events
			found = true
		}
	}
	return sum, found
}

func mailActionRate(c *Context, a MetricArgs) (float64, string) {
	g, _ := mailGroup(c, a.Kind)
	return g.Rate, fmt.Sprintf("mail %s per second", a.Kind)
}

func mailActionRatio(c *Context, a MetricArgs) (float64, string) {
	g, _ := mailGroup(c, a.Kind)
	return ratio(g), fmt.Sprintf("mail %s rate against its baseline", a.Kind)
}

func dnsDeniedRate(c *Context, a MetricArgs) (float64, string) {
	var rate float64
	for _, g := range c.Snapshot.DNSDenied {
		rate += g.Rate
	}
	return rate, "denied DNS queries per second"
}

func dnsQtypeRate(c *Context, a MetricArgs) (float64, string) {
	for _, g := range c.Snapshot.DNSTypes {
		if strings.EqualFold(g.Key, a.Kind) {
			return g.Rate, fmt.Sprintf("DNS %s queries per second", a.Kind)
		}
	}
	return 0, fmt.Sprintf("DNS %s queries per second", a.Kind)
}

func external(c *Context, a MetricArgs) (float64, string) {
	v, ok := c.Values[a.Kind]
	if !ok {
		return 0, fmt.Sprintf("%s (not measured)", a.Kind)
	}
	return v, a.Kind
}
