package analyze

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"time"
)

var (
	portsWeb  = []string{"tcp/80", "tcp/443"}
	portsMail = []string{"tcp/25", "tcp/465", "tcp/587"}
	portsDNS  = []string{"udp/53", "tcp/53"}
)

const maxTargets = 1024

// rising reports whether a rate is far enough above its baseline. Before
// there is a shortest window of history the baseline is not trusted, and
// the rate must instead clear factor × the minimum on its own.
func rising(rate, base, factor, minRate float64, warm bool) bool {
	if rate < minRate {
		return false
	}
	if !warm {
		return rate >= factor*minRate
	}
	return rate >= factor*base
}

// severityOf grades how far a rate is above its baseline.
func severityOf(rate, base float64) Severity {
	r := rate / max(base, 0.01)
	switch {
	case r >= 100:
		return SevCritical
	case r >= 20:
		return SevHigh
	case r >= 5:
		return SevMedium
	}
	return SevLow
}

func (a *Analyzer) dur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// detect runs every detector over the merged view.
func (a *Analyzer) detect(v *view, s *Snapshot) []Finding {
	d := &a.cfg.Detect
	c := a.clk
	fineSec := float64(c.fineW) / 1e9
	short := a.dur(a.cfg.Windows[0])
	long := a.dur(a.cfg.Windows[len(a.cfg.Windows)-1])
	if a.cfg.Cumulative {
		long = "input"
	}
	rate := func(x *counts) float64 { return float64(x.short) / c.shortSec }
	base := func(x *counts) float64 { return x.base / fineSec }
	tot := &v.ser[serTotal].counts
	var out []Finding

	// Page floods: a page far above its own baseline, from many sources.
	pf := &d.PageFlood
	for i := range v.pages {
		p := &v.pages[i]
		r, b := rate(&p.counts), base(&p.counts)
		if p.src < pf.MinSources || !rising(r, b, pf.Factor, pf.MinRate, v.warm) {
			continue
		}
		// Login and probe pages under fire are brute force and scanning,
		// which their own detectors report with the right evidence.
		if path := p.key[min(int(p.x.vlen), len(p.key)):]; a.web.isLogin(path) || a.web.isProbe(path) {
			continue
		}
		h := uint32(maphash.String(a.seed, p.key))
		var addrs []*row[netip.Addr, ipX]
		for j := range v.ips {
			ip := &v.ips[j]
			if ip.short < 3 || ip.x.np == diverse || !slices.Contains(ip.x.pages[:ip.x.np], h) {
				continue
			}
			addrs = append(addrs, ip)
		}
		// Many sources means many now: addresses busy on this page and
		// few others, or the active behaviour clusters that include it. A
		// single flooder raising a popular page is a single-source flood.
		now := len(addrs)
		var members []netip.Addr
		for _, cl := range v.clusters {
			// Active clusters of repeat visitors that include the page:
			// one-page, one-visit customers are no botnet.
			if cl.last >= a.newest.Load()-int64(a.cfg.Windows[0]) && slices.Contains(cl.pages, p.key) &&
				cl.size >= a.cfg.Clusters.MinSize && cl.events >= 2*int64(cl.size) {
				now = max(now, cl.size)
				members = append(members, cl.members...)
			}
		}
		if now < pf.MinSources {
			continue
		}
		if p.x.top != nil {
			for _, t := range p.x.top.list() {
				if t.ip.IsValid() && !slices.ContainsFunc(addrs, func(x *row[netip.Addr, ipX]) bool { return x.key == t.ip }) {
					for j := range v.ips {
						if v.ips[j].key == t.ip && v.ips[j].short >= 3 {
							addrs = append(addrs, &v.ips[j])
						}
					}
				}
			}
		}
		seen := map[netip.Addr]bool{}
		for _, r := range addrs {
			seen[r.key] = true
		}
		for _, m := range members {
			if !seen[m] {
				seen[m] = true
				addrs = append(addrs, &row[netip.Addr, ipX]{key: m})
			}
		}
		f := Finding{
			ID:       "page_flood:" + p.key,
			Kind:     "page_flood",
			Severity: severityOf(r, b),
			Summary: fmt.Sprintf("page %s at %.1f req/s, %.0f× its baseline of %.2f req/s, from %d sources",
				p.key, r, r/max(b, 0.01), b, p.src),
			Evidence: []Evidence{
				{"requests in the last " + short, p.short},
				{"baseline requests per " + short, int64(b*c.shortSec + 0.5)},
				{"distinct sources", int64(p.src)},
				{"sources hitting only a few pages including it", int64(now)},
			},
			Ports: portsWeb,
		}
		f.Targets, f.Samples, f.First = a.addrTargets(addrs)
		out = append(out, f)
		if len(out) > 20 {
			break
		}
	}

	// Single-source floods.
	ss := &d.SingleSourceFlood
	n := 0
	for i := range v.ips {
		ip := &v.ips[i]
		r, b := rate(&ip.counts), base(&ip.counts)
		if tot.short == 0 || float64(ip.short)/float64(tot.short) < ss.MinShare || !rising(r, b, ss.Factor, ss.MinRate, v.warm) {
			continue
		}
		if !a.isTarget(ip.key) {
			continue
		}
		f := Finding{
			ID:       "single_source_flood:" + ip.key.String(),
			Kind:     "single_source_flood",
			Severity: severityOf(r, b),
			Summary: fmt.Sprintf("%s sends %.1f events/s, %.0f%% of all traffic in the last %s",
				ip.key, r, 100*float64(ip.short)/float64(tot.short), short),
			Evidence: []Evidence{
				{"events in the last " + short, ip.short},
				{"all events in the last " + short, tot.short},
				{"baseline events per " + short, int64(b*c.shortSec + 0.5)},
			},
			Samples: ip.samples,
			Targets: []netip.Prefix{netip.PrefixFrom(ip.key, ip.key.BitLen())},
			First:   time.Unix(0, ip.first).UTC(),
			Ports:   portsFor(ip.x.kinds),
		}
		out = append(out, f)
		if n++; n >= 10 {
			break
		}
	}

	// A distributed flood concentrated in a few ASes.
	df := &d.DistributedFlood
	if tr, tb := rate(tot), base(tot); rising(tr, tb, df.Factor, df.MinRate, v.warm) {
		ases := slices.Clone(v.ases)
		slices.SortFunc(ases, func(x, y row[uint32, asX]) int { return cmp.Compare(y.short, x.short) })
		var top []uint32
		var sum int64
		var srcs int
		for i := range ases {
			if len(top) >= df.MaxASes {
				break
			}
			if ases[i].key == 0 || ases[i].short == 0 {
				continue
			}
			top = append(top, ases[i].key)
			sum += ases[i].short
			srcs += ases[i].src
		}
		if len(top) > 0 && float64(sum) >= df.MinShare*float64(tot.short) && srcs >= df.MinSources {
			var names []string
			ev := []Evidence{{"events in the last " + short, tot.short}, {"baseline events per " + short, int64(tb*c.shortSec + 0.5)}}
			for _, asn := range top {
				names = append(names, asKey(asn))
				for i := range ases {
					if ases[i].key == asn {
						ev = append(ev, Evidence{asKey(asn) + " events in the last " + short, ases[i].short})
					}
				}
			}
			f := Finding{
				ID:       "distributed_flood",
				Kind:     "distributed_flood",
				Severity: severityOf(tr, tb),
				Summary: fmt.Sprintf("traffic at %.1f events/s, %.0f× baseline, %.0f%% of it from %s",
					tr, tr/max(tb, 0.01), 100*float64(sum)/float64(max(tot.short, 1)), strings.Join(names, ", ")),
				Evidence: ev,
				Ports:    portsWeb,
			}
			var pfx []*row[netip.Prefix, pfxX]
			for i := range v.pfx {
				p := &v.pfx[i]
				if p.short > 0 && slices.Contains(top, p.x.asn) && (p.key.Addr().Is4() || p.key.Bits() == 48) && a.isTarget(p.key.Addr()) {
					pfx = append(pfx, p)
				}
			}
			slices.SortFunc(pfx, func(x, y *row[netip.Prefix, pfxX]) int { return cmp.Compare(y.short, x.short) })
			for _, p := range pfx[:min(len(pfx), 64)] {
				f.Targets = append(f.Targets, p.key)
			}
			out = append(out, f)
		}
	}

	// Per-source signals.
	bf := &d.HTTPBruteforce
	out = a.signalFinding(out, v, "http_bruteforce", []int{sigLogin}, []int64{bf.MinPerSource}, bf.MinTotal, serLogin,
		"login failures and login-page POSTs", portsWeb, long)
	sc := &d.Scanner
	out = a.signalFinding(out, v, "scanner", []int{sigProbe, sigNotFound}, []int64{sc.MinProbes, sc.MinNotFound}, 0, -1,
		"requests for probe paths or missing pages", portsWeb, long)
	mr := &d.MailRelay
	out = a.signalFinding(out, v, "mail_relay", []int{sigRelay}, []int64{mr.MinPerSource}, mr.MinTotal, serRelay,
		"relay attempts (Relay access denied)", []string{"tcp/25"}, long)
	sa := &d.SMTPAuthBruteforce
	out = a.signalFinding(out, v, "smtp_auth_bruteforce", []int{sigAuth}, []int64{sa.MinPerSource}, sa.MinTotal, serAuth,
		"SMTP AUTH failures", portsMail, long)
	dr := &d.DNSOpenResolver
	out = a.signalFinding(out, v, "dns_open_resolver", []int{sigDNSDenied}, []int64{dr.MinPerSource}, dr.MinTotal, serDNSDenied,
		"denied or refused queries from outside", portsDNS, long)

	// This server sending far more mail than usual.
	ob := &d.OutboundSpike
	if o := &v.ser[serOutbound].counts; rising(rate(o), base(o), ob.Factor, ob.MinRate, v.warm) {
		r, b := rate(o), base(o)
		f := Finding{
			ID:       "outbound_spike",
			Kind:     "outbound_spike",
			Severity: max(severityOf(r, b), SevHigh),
			Summary: fmt.Sprintf("this server is sending %.1f mails/s to other servers, %.0f× its baseline of %.2f/s: check for an open relay or a compromised account",
				r, r/max(b, 0.01), b),
			Evidence: []Evidence{{"outbound deliveries in the last " + short, o.short}, {"baseline per " + short, int64(b*c.shortSec + 0.5)}},
			Ports:    []string{"tcp/25", "tcp/587", "tcp/465"},
		}
		for _, g := range s.MailSenders[:min(3, len(s.MailSenders))] {
			f.Evidence = append(f.Evidence, Evidence{"sender " + g.Key, g.Events})
		}
		// Targets are the outside clients whose mail went out now (linked
		// by queue ID), never the servers that only delivered mail in.
		var addrs []*row[netip.Addr, ipX]
		for i := range v.sig[sigOutbound] {
			m := &v.sig[sigOutbound][i]
			if m.short > 0 && !a.cfg.inside(m.key) {
				addrs = append(addrs, &row[netip.Addr, ipX]{key: m.key, counts: m.counts})
			}
		}
		f.Targets, f.Samples, f.First = a.addrTargets(addrs[:min(len(addrs), 32)])
		out = append(out, f)
	}

	// Bounces for mail this server did not send.
	bs := &d.Backscatter
	if o := &v.ser[serBackscatter].counts; rising(rate(o), base(o), bs.Factor, bs.MinRate, v.warm) {
		r, b := rate(o), base(o)
		f := Finding{
			ID:       "backscatter",
			Kind:     "backscatter",
			Severity: severityOf(r, b),
			Summary: fmt.Sprintf("backscatter storm: %.1f bounces/s from the null sender, %.0f× baseline; someone forges your domain",
				r, r/max(b, 0.01)),
			Evidence: []Evidence{{"bounces in the last " + short, o.short}, {"bounces in the " + long, a.events(o)}},
			Ports:    []string{"tcp/25"},
		}
		f.Targets, f.Samples, f.First = a.signalTargets(v.sig[sigBackscatter], 1)
		out = append(out, f)
	}

	// ANY and large-answer query bursts (amplification through this server).
	da := &d.DNSAmplification
	amp := &v.ser[serDNSAmp].counts
	heavy := 0
	for i := range v.sig[sigDNSAmp] {
		if a.events(&v.sig[sigDNSAmp][i].counts) >= da.MinPerSource {
			heavy++
		}
	}
	if rate(amp) >= da.MinRate || heavy > 0 {
		f := Finding{
			ID:       "dns_amplification",
			Kind:     "dns_amplification",
			Severity: SevHigh,
			Summary: fmt.Sprintf("%.1f ANY/large-answer queries/s from outside; the sources are likely spoofed victims: rate-limit responses rather than block",
				rate(amp)),
			Evidence: []Evidence{{"queries in the last " + short, amp.short}, {"queries in the " + long, a.events(amp)},
				{"sources over the per-source threshold", int64(heavy)}},
			Ports: []string{"udp/53"},
		}
		f.Targets, f.Samples, f.First = a.signalTargets(v.sig[sigDNSAmp], 1)
		out = append(out, f)
	}

	slices.SortStableFunc(out, func(x, y Finding) int {
		if c := cmp.Compare(y.Severity, x.Severity); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	a.stamp(out, s.Newest)
	return out
}

// signalFinding raises one finding of kind when some source passed its
// per-source threshold in any of the signals, or the signal's total passed
// minTotal (many sources, each under the radar).
func (a *Analyzer) signalFinding(out []Finding, v *view, kind string, sigs []int, minPer []int64, minTotal int64, ser int,
	what string, ports []string, long string) []Finding {
	var offenders []*row[netip.Addr, ipX]
	seen := map[netip.Addr]bool{}
	var total int64
	for k, sg := range sigs {
		for i := range v.sig[sg] {
			r := &v.sig[sg][i]
			// 404s are a scanner's mark only when they are most of what the
			// source asks for: a busy customer collects a few over a day.
			if sg == sigNotFound && a.events(&r.counts)*2 < v.eventsOf(r.key) {
				continue
			}
			if a.events(&r.counts) >= minPer[k] && !seen[r.key] && a.isTarget(r.key) {
				seen[r.key] = true
				offenders = append(offenders, &row[netip.Addr, ipX]{key: r.key, counts: r.counts})
			}
		}
	}
	if ser >= 0 {
		total = a.events(&v.ser[ser].counts)
	}
	distributed := minTotal > 0 && total >= minTotal
	if len(offenders) == 0 && !distributed {
		return out
	}
	if distributed {
		// A distributed attack is many sources each under the per-source
		// threshold: name them all, also when a few loud ones passed it.
		for i := range v.sig[sigs[0]] {
			r := &v.sig[sigs[0]][i]
			if a.events(&r.counts) >= 2 && !seen[r.key] && a.isTarget(r.key) {
				seen[r.key] = true
				offenders = append(offenders, &row[netip.Addr, ipX]{key: r.key, counts: r.counts})
			}
		}
	}
	slices.SortFunc(offenders, func(x, y *row[netip.Addr, ipX]) int {
		return cmp.Compare(a.events(&y.counts), a.events(&x.counts))
	})
	var sum int64
	for _, o := range offenders {
		sum += a.events(&o.counts)
	}
	sev := SevMedium
	if kind == "scanner" {
		sev = SevLow
	}
	if len(offenders) >= 20 || (minTotal > 0 && total >= 10*minTotal) {
		sev = SevHigh
	}
	in := "in the last " + long
	if long == "input" {
		in = "in the input"
	}
	f := Finding{
		ID:       kind,
		Kind:     kind,
		Severity: sev,
		Summary:  fmt.Sprintf("%d sources sent %d %s %s", len(offenders), sum, what, in),
		Evidence: []Evidence{{"sources", int64(len(offenders))}, {"events from them " + in, sum}},
		Ports:    ports,
	}
	if ser >= 0 {
		f.Evidence = append(f.Evidence, Evidence{"events from all sources " + in, total})
	}
	for _, o := range offenders[:min(3, len(offenders))] {
		f.Evidence = append(f.Evidence, Evidence{o.key.String(), a.events(&o.counts)})
	}
	f.Targets, f.Samples, f.First = a.addrTargets(offenders)
	return append(out, f)
}

// eventsOf returns an address's events if it is among the top addresses,
// else 0 (an address outside the top sent little).
func (v *view) eventsOf(ip netip.Addr) int64 {
	if v.ipEvents == nil {
		v.ipEvents = make(map[netip.Addr]int64, len(v.ips))
		for i := range v.ips {
			v.ipEvents[v.ips[i].key] = max(v.ips[i].total, v.ips[i].long)
		}
	}
	return v.ipEvents[ip]
}

// signalTargets returns the top sources of a signal as targets.
func (a *Analyzer) signalTargets(rows []row[netip.Addr, noX], minEvents int64) ([]netip.Prefix, []string, time.Time) {
	var addrs []*row[netip.Addr, ipX]
	for i := range rows {
		if a.events(&rows[i].counts) >= minEvents && a.isTarget(rows[i].key) {
			addrs = append(addrs, &row[netip.Addr, ipX]{key: rows[i].key, counts: rows[i].counts})
		}
	}
	return a.addrTargets(addrs)
}

// addrTargets turns offending addresses (busiest first) into block
// targets, folding eight or more in one /24 (or /64) into the prefix, and
// collects a few of their sample lines.
func (a *Analyzer) addrTargets(addrs []*row[netip.Addr, ipX]) ([]netip.Prefix, []string, time.Time) {
	per := map[netip.Prefix]int{}
	for _, r := range addrs {
		if !a.isTarget(r.key) {
			continue
		}
		p, _ := Prefixes(r.key)
		per[p]++
	}
	var out []netip.Prefix
	var samples []string
	var first int64
	done := map[netip.Prefix]bool{}
	for _, r := range addrs {
		if !a.isTarget(r.key) {
			continue
		}
		if r.first != 0 && (first == 0 || r.first < first) {
			first = r.first
		}
		if len(samples) < a.cfg.Samples && len(r.samples) > 0 {
			samples = append(samples, r.samples[0])
		}
		p, _ := Prefixes(r.key)
		t := netip.PrefixFrom(r.key, r.key.BitLen())
		if per[p] >= 8 && !a.cfg.allowedPrefix(p) {
			t = p
		}
		if done[t] {
			continue
		}
		done[t] = true
		out = append(out, t)
		if len(out) >= maxTargets {
			break
		}
	}
	var at time.Time
	if first != 0 {
		at = time.Unix(0, first).UTC()
	}
	return out, samples, at
}

// allowedPrefix reports whether p overlaps the allowlist.
func (c *Config) allowedPrefix(p netip.Prefix) bool {
	for _, q := range c.allow {
		if q.Overlaps(p) {
			return true
		}
	}
	return false
}

func portsFor(kinds uint8) []string {
	var out []string
	if kinds&kindWeb != 0 {
		out = append(out, portsWeb...)
	}
	if kinds&kindMail != 0 {
		out = append(out, portsMail...)
	}
	if kinds&kindDNS != 0 {
		out = append(out, portsDNS...)
	}
	return out
}

// stamp gives every finding the data time it was first raised, kept while
// it stays active (and for one longest window after).
func (a *Analyzer) stamp(fs []Finding, now time.Time) {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	for i := range fs {
		f := &fs[i]
		// A finding began when it was first raised, or earlier when its
		// sources were first seen later than the data it was raised on
		// (a report reads the whole attack before its one snapshot).
		at, ok := a.found[f.ID]
		if !ok {
			at.first = now
		}
		if !f.First.IsZero() && f.First.Before(at.first) {
			at.first = f.First
		}
		at.last = now
		a.found[f.ID] = at
		f.First, f.Last = at.first, at.last
	}
	longest := a.cfg.Windows[len(a.cfg.Windows)-1]
	for id, at := range a.found {
		if now.Sub(at.last) > longest {
			delete(a.found, id)
		}
	}
}
