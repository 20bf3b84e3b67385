package report

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/trace"
)

// ErrNoAttackers is returned by AbuseRows when no finding names an address.
var ErrNoAttackers = errors.New("no finding names an attacking address: nothing to report")

// Looker finds AS and abuse data for one address; trace.Tracer.Lookup.
type Looker interface {
	Lookup(ctx context.Context, ip netip.Addr) (trace.Info, error)
}

// AbuseRows picks the attacking addresses of a snapshot — those covered by
// a finding's targets — with their counts, times and sample lines. When
// targets is non-empty it is used instead of the findings' targets (the
// console's marked rows, a playbook's choice).
func AbuseRows(s *analyze.Snapshot, targets []netip.Prefix) ([]trace.AbuseRow, error) {
	if len(targets) == 0 {
		for _, f := range s.Findings {
			targets = append(targets, f.Targets...)
		}
	}
	if len(targets) == 0 {
		return nil, ErrNoAttackers
	}
	var rows []trace.AbuseRow
	for _, g := range s.IPs {
		ip, err := netip.ParseAddr(g.Key)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		hit := false
		for _, p := range targets {
			if p.Contains(ip) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		rows = append(rows, trace.AbuseRow{IP: ip, ASN: g.ASN, ASName: g.ASName, Prefix: g.Prefix,
			First: g.First, Last: g.Last, Events: g.Events, Evidence: g.Samples})
	}
	if len(rows) == 0 {
		return nil, ErrNoAttackers
	}
	return rows, nil
}

// Enrich fills in AS data for the rows (trace.WriteAbuseReport sorts them), with at most workers
// lookups at once and the whole job bounded by timeout; what is not
// found in time stays unknown rather than holding the report up.
func Enrich(ctx context.Context, rows []trace.AbuseRow, l Looker, workers int, timeout time.Duration) {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func(r *trace.AbuseRow) {
			defer wg.Done()
			defer func() { <-sem }()
			info, err := l.Lookup(ctx, r.IP)
			if err != nil && info.ASN == 0 {
				return
			}
			if info.ASN != 0 {
				r.ASN, r.ASName = info.ASN, info.ASName
			}
			if info.Prefix.IsValid() {
				r.Prefix = info.Prefix
			}
		}(&rows[i])
	}
	wg.Wait()
}

// WriteAbuse writes the abuse report for a finished analysis.
func WriteAbuse(ctx context.Context, w io.Writer, s *analyze.Snapshot, l Looker, contacts trace.ContactSource, opts trace.AbuseOptions) error {
	rows, err := AbuseRows(s, nil)
	if err != nil {
		return err
	}
	Enrich(ctx, rows, l, 8, 20*time.Second)
	opts.Contacts = contacts
	if opts.Generated.IsZero() {
		opts.Generated = time.Now()
	}
	return trace.WriteAbuseReport(w, rows, opts)
}
