package crowdsec

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/sanitize"
)

// FindingKind is the Kind of findings that come from CrowdSec's agents.
const FindingKind = "crowdsec"

// maxFleetAlerts bounds one poll of the LAPI's alerts.
const maxFleetAlerts = 1000

// FleetAlerts returns the alerts CrowdSec's own agents raised in the last
// since (newest first, at most 1000): what the fleet already detected.
// irtui's own decisions and the community blocklist are left out.
func (c *Client) FleetAlerts(ctx context.Context, since time.Duration) ([]Alert, error) {
	q := url.Values{"limit": {strconv.Itoa(maxFleetAlerts)}}
	if since > 0 {
		q.Set("since", strconv.FormatInt(int64(since/time.Second), 10)+"s")
	}
	all, err := c.Alerts(ctx, q)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if fromIrtuiOrCommunity(a) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func fromIrtuiOrCommunity(a Alert) bool {
	if strings.Contains(strings.ToLower(a.Source.Scope), "blocklist") || a.Source.Scope == "irtui" {
		return true
	}
	if len(a.Decisions) == 0 {
		return false
	}
	for _, d := range a.Decisions {
		switch d.Origin {
		case Origin, "CAPI", "lists":
		default:
			return false
		}
	}
	return true
}

// Findings turns CrowdSec alerts into findings for the console, one per
// scenario and source, newest activity first. A finding whose source still
// has a ban in force is high; one with no decision (a scenario that only
// alerts, or simulation) is medium. Every string is sanitized here: alert
// messages and scenarios may carry attacker-chosen text.
func Findings(alerts []Alert, now time.Time) []analyze.Finding {
	type key struct{ scenario, source string }
	byKey := map[key]*analyze.Finding{}
	var order []key
	for _, a := range alerts {
		if fromIrtuiOrCommunity(a) {
			continue
		}
		scen := sanitize.Truncate(a.Scenario, 120)
		src := sanitize.Truncate(a.Source.Value, 80)
		k := key{scen, a.Source.Scope + "\x00" + a.Source.Value}
		f := byKey[k]
		start := parseTime(a.StartAt)
		stop := parseTime(a.StopAt)
		if stop.IsZero() {
			stop = start
		}
		if f == nil {
			f = &analyze.Finding{ID: "crowdsec-" + shortHash(k.scenario+"\x00"+k.source), Kind: FindingKind, Severity: analyze.SevMedium,
				First: start, Last: stop}
			byKey[k] = f
			order = append(order, k)
			if p, ok := alertTarget(a.Source); ok {
				f.Targets = []netip.Prefix{p}
			}
			f.Evidence = []analyze.Evidence{{Label: "alerts", Count: 0}, {Label: "events", Count: 0}}
			f.Summary = fmt.Sprintf("CrowdSec %s: %s %s", scen, strings.ToLower(sanitize.Truncate(a.Source.Scope, 20)), src)
			if a.MachineID != "" {
				f.Summary += " (seen by " + sanitize.Truncate(a.MachineID, 40) + ")"
			}
		}
		f.Evidence[0].Count++
		f.Evidence[1].Count += int64(a.EventsCount)
		if !start.IsZero() && (f.First.IsZero() || start.Before(f.First)) {
			f.First = start
		}
		if stop.After(f.Last) {
			f.Last = stop
		}
		for _, d := range a.Decisions {
			if left, ok := d.Left(); ok && left > 0 && d.Type == "ban" && !d.Simulated {
				f.Severity = analyze.SevHigh
			}
		}
		if len(f.Samples) < 3 && a.Message != "" {
			f.Samples = append(f.Samples, sanitize.Truncate(a.Message, 300))
		}
	}
	out := make([]analyze.Finding, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return out[i].Last.After(out[j].Last)
	})
	return out
}

func alertTarget(s AlertSource) (netip.Prefix, bool) {
	for _, v := range []string{s.IP, s.Range, s.Value} {
		if v == "" {
			continue
		}
		if p, err := block.ParseTarget(v); err == nil {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// parseTime reads the LAPI's times: RFC 3339, or Go's time.String form
// ("2006-01-02 15:04:05.999999999 +0000 UTC") that 1.4 uses for start_at.
func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if i := strings.Index(s, " m="); i >= 0 {
		s = s[:i]
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// shortHash is a stable short ID (FNV-1a) so a finding keeps its ID while
// CrowdSec keeps raising the same scenario for the same source.
func shortHash(s string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(h&0xffffffffff, 36)
}
