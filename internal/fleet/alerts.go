package fleet

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/sanitize"
)

// AlertPoller is what the feed polls: a CrowdSec LAPI client.
type AlertPoller interface {
	FleetAlerts(ctx context.Context, since time.Duration) ([]crowdsec.Alert, error)
}

// Alerts keeps what the fleet's CrowdSec agents already detected as
// findings, polled in the background, so the console can show them beside
// its own without waiting on the network inside a snapshot.
type Alerts struct {
	src    AlertPoller
	every  time.Duration
	window time.Duration
	cur    atomic.Pointer[[]analyze.Finding]
	err    atomic.Pointer[string]
}

// NewAlerts polls src every interval for the alerts of the last window.
func NewAlerts(src AlertPoller, every, window time.Duration) *Alerts {
	if every <= 0 {
		every = 30 * time.Second
	}
	if window <= 0 {
		window = 24 * time.Hour
	}
	return &Alerts{src: src, every: every, window: window}
}

// Run polls until ctx ends. A failed poll keeps the last findings and
// records the error (Err) rather than clearing what the operator sees.
func (a *Alerts) Run(ctx context.Context) {
	for {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		alerts, err := a.src.FleetAlerts(pctx, a.window)
		cancel()
		if err != nil {
			msg := sanitize.Text(err.Error())
			a.err.Store(&msg)
		} else {
			fs := crowdsec.Findings(alerts, time.Now())
			a.cur.Store(&fs)
			a.err.Store(nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.every):
		}
	}
}

// Err is the last poll's error, or "".
func (a *Alerts) Err() string {
	if p := a.err.Load(); p != nil {
		return *p
	}
	return ""
}

// Merge returns s with the fleet's findings appended. s is not changed:
// a snapshot is immutable, so the result is a shallow copy.
func (a *Alerts) Merge(s *analyze.Snapshot) *analyze.Snapshot {
	p := a.cur.Load()
	if s == nil || p == nil || len(*p) == 0 {
		return s
	}
	out := *s
	out.Findings = make([]analyze.Finding, 0, len(s.Findings)+len(*p))
	out.Findings = append(append(out.Findings, s.Findings...), *p...)
	return &out
}
