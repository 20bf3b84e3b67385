package analyze

import (
	"net/netip"
	"time"
)

// matcher tells whether an address falls in any of a set of prefixes, in
// one map lookup per distinct prefix length.
type matcher struct {
	lens []int
	set  map[netip.Prefix]struct{}
}

func newMatcher(targets []netip.Prefix) *matcher {
	m := &matcher{set: map[netip.Prefix]struct{}{}}
	seen := map[int]bool{}
	for _, p := range targets {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		p = p.Masked()
		m.set[p] = struct{}{}
		if !seen[p.Bits()] {
			seen[p.Bits()] = true
			m.lens = append(m.lens, p.Bits())
		}
	}
	return m
}

func (m *matcher) match(a netip.Addr) bool {
	for _, l := range m.lens {
		if l > a.BitLen() {
			continue
		}
		p, err := a.Prefix(l)
		if err != nil {
			continue
		}
		if _, ok := m.set[p]; ok {
			return true
		}
	}
	return false
}

// Impact previews what blocking targets would do: the share of the current
// attack traffic they cover, and the share of the baseline (pre-attack)
// traffic they would also cut. "Current" is the shortest window; the attack
// is the traffic above the whole traffic's baseline, and a target's own
// baseline is subtracted from what it covers, so blocking a busy but
// normal customer does not count as stopping the attack. It walks every
// address tracked, one shard lock at a time.
func (a *Analyzer) Impact(targets []netip.Prefix) Impact {
	var im Impact
	newest := a.newest.Load()
	if newest == 0 || len(targets) == 0 {
		return im
	}
	c := a.clk
	nowF := c.fine(newest)
	m := newMatcher(targets)
	// An address first seen after the attack began (the earliest active
	// finding) had no part in the traffic before it.
	attackStart := a.attackStart().UnixNano()
	var curAll, curIn int64
	var baseAll, baseIn float64
	for _, sh := range a.shards {
		sh.mu.Lock()
		for _, k := range kindSeries {
			t := &sh.ser[k]
			curAll += t.r.short(nowF)
			baseAll += c.base(&t.r, t.total, nowF)
		}
		sh.ips.each(func(e *entry[netip.Addr, ipX]) {
			if e.total == 0 || !m.match(e.key) {
				return
			}
			curIn += e.r.short(nowF)
			if attackStart == 0 || e.first < attackStart {
				baseIn += c.base(&e.r, e.total, nowF)
			}
		})
		sh.mu.Unlock()
	}
	// Baselines are per fine bucket; the current window spans nFine of them.
	baseAllW := baseAll * nFine
	baseInW := baseIn * nFine
	attack := float64(curAll) - baseAllW
	covered := float64(curIn) - baseInW
	switch {
	case attack > 0:
		im.AttackCovered = clamp01(covered / attack)
	case curAll > 0:
		im.AttackCovered = clamp01(float64(curIn) / float64(curAll))
	}
	if baseAllW > 0 {
		im.BaselineCut = clamp01(baseInW / baseAllW)
	}
	im.AttackEvents = curIn
	im.BaselineEvents = int64(baseInW + 0.5)
	return im
}

// attackStart returns when the earliest finding still active was first
// raised, or the zero time.
func (a *Analyzer) attackStart() time.Time {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	var t time.Time
	for _, at := range a.found {
		if t.IsZero() || at.first.Before(t) {
			t = at.first
		}
	}
	return t
}

func clamp01(x float64) float64 {
	switch {
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
