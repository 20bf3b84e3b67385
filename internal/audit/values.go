package audit

import (
	"context"
	"sync/atomic"
	"time"
)

// Values are the self-audit's measurements by the names playbook checks
// use: syn_recv (half-open connections now), open_relay and open_resolver
// (1 when this host's own server was found open to strangers, 0 when
// closed; absent when it could not tell or nothing listens).
type Values struct {
	o    LocalOptions
	cur  atomic.Pointer[map[string]float64]
	syn  time.Duration
	full time.Duration
}

// NewValues measures what CheckLocal checks: SYN data every synEvery, the
// relay and resolver checks (one conversation each, with this host only)
// every fullEvery.
func NewValues(o LocalOptions, synEvery, fullEvery time.Duration) *Values {
	return &Values{o: o, syn: synEvery, full: fullEvery}
}

// Get returns the latest measurements; never blocks.
func (v *Values) Get() map[string]float64 {
	if p := v.cur.Load(); p != nil {
		return *p
	}
	return nil
}

// Run measures until ctx ends.
func (v *Values) Run(ctx context.Context) {
	var last map[string]float64
	var lastFull time.Time
	for {
		m := map[string]float64{}
		if time.Since(lastFull) >= v.full {
			last = map[string]float64{}
			o := v.o
			o.Config.OwnDomains = nil // no mail-DNS lookups from the console's loop
			for _, r := range CheckLocal(ctx, o) {
				if r.Skipped || r.Verdict == Unknown {
					continue
				}
				name := map[string]string{"relay": "open_relay", "resolver": "open_resolver"}[r.Check]
				if name == "" {
					continue
				}
				last[name] = 0
				if r.Verdict == Problem {
					last[name] = 1
				}
			}
			lastFull = time.Now()
		}
		for k, x := range last {
			m[k] = x
		}
		root := v.o.ProcRoot
		if root == "" {
			root = "/proc"
		}
		if d, err := ReadSYN(root); err == nil {
			m["syn_recv"] = float64(d.HalfOpen)
		}
		v.cur.Store(&m)
		select {
		case <-ctx.Done():
			return
		case <-time.After(v.syn):
		}
	}
}
