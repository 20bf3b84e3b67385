package ui

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/report"
	"github.com/irtui/irtui/internal/trace"
)

// This file adapts the real engines to the small interfaces the console
// talks to, so the screens can be tested with fakes and wired with these.

// BlockEngine adapts the block engine.
func BlockEngine(e *block.Engine) Blocker { return blockAdapter{e} }

type blockAdapter struct{ e *block.Engine }

func (b blockAdapter) request(r BlockRequest, targets []netip.Prefix) (block.Request, error) {
	rule, err := blockRule(r)
	if err != nil {
		return block.Request{}, err
	}
	return block.Request{Targets: targets, Rule: rule, TTL: r.TTL, Why: r.Reason}, nil
}

// blockRule is the engine's rule for a request: a playbook's rate, or a
// human pace (ten new connections a minute, a burst of five) when the
// dialog rate-limits on its own.
func blockRule(r BlockRequest) (block.Rule, error) {
	action, err := block.ParseAction(string(r.Action))
	if err != nil {
		return block.Rule{}, err
	}
	scope, err := block.ParseScope(strings.Join(r.Ports, ","))
	if err != nil {
		return block.Rule{}, err
	}
	rule := block.Rule{Action: action, Scope: scope}
	if action == block.RateLimit {
		rule.Rate = block.Rate{Count: 10, Per: time.Minute, Burst: 5}
		if r.Rate != "" {
			if rule.Rate, err = block.ParseRate(r.Rate); err != nil {
				return block.Rule{}, err
			}
		}
	}
	return rule, rule.Validate()
}

// Plan asks the engine; when the guard refuses some targets, it plans the
// rest and lists the refusals, so the operator sees both before confirming.
func (b blockAdapter) Plan(ctx context.Context, r BlockRequest) (BlockPlan, error) {
	req, err := b.request(r, r.Targets)
	if err != nil {
		return BlockPlan{}, err
	}
	p, err := b.e.Plan(ctx, req)
	var refused []Refusal
	var re *block.RefusedError
	if errors.As(err, &re) {
		bad := map[netip.Prefix]bool{}
		for _, x := range re.Refusals {
			bad[x.Target] = true
			refused = append(refused, Refusal{Target: x.Target, Reason: x.Protected.Reason})
		}
		var rest []netip.Prefix
		for _, t := range r.Targets {
			if !bad[t] {
				rest = append(rest, t)
			}
		}
		if len(rest) == 0 {
			return BlockPlan{Request: r, Refused: refused}, nil
		}
		req.Targets = rest
		p, err = b.e.Plan(ctx, req)
	}
	if err != nil {
		return BlockPlan{}, err
	}
	return BlockPlan{Request: r, Rules: p.Rules(), Refused: refused, Handle: p}, nil
}

func (b blockAdapter) Apply(ctx context.Context, p BlockPlan) error {
	bp, ok := p.Handle.(*block.Plan)
	if !ok {
		return errors.New("nothing to apply: every target was refused")
	}
	return b.e.Apply(ctx, bp)
}

func (b blockAdapter) List(ctx context.Context) ([]ActiveBlock, error) {
	l, err := b.e.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ActiveBlock, 0, len(l))
	for _, a := range l {
		ts := make([]string, 0, len(a.Targets))
		for _, t := range a.Targets {
			ts = append(ts, t.String())
		}
		target := strings.Join(ts, " ")
		if len(ts) > 3 {
			target = strings.Join(ts[:3], " ") + " +" + strconv.Itoa(len(ts)-3)
		}
		out = append(out, ActiveBlock{
			ID: a.ID, Target: target, Ports: block.ScopeString(a.Rule.Scope), Action: string(a.Rule.Action),
			Expires: a.Expires, Packets: a.Packets, Bytes: a.Bytes, Reason: a.Why, Targets: slices.Clone(a.Targets),
		})
	}
	return out, nil
}

func (b blockAdapter) Unblock(ctx context.Context, id string) error {
	_, err := b.e.Unblock(ctx, id)
	return err
}

func (b blockAdapter) UnblockAll(ctx context.Context) (int, error) {
	before, err := b.e.List(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := b.e.UnblockAll(ctx); err != nil {
		return 0, err
	}
	return len(before), nil
}

// TraceEngine adapts the tracer: its results are relayed, converted, on a
// channel of the console's own type until ctx ends.
func TraceEngine(ctx context.Context, t *trace.Tracer) Tracer {
	ch := make(chan TraceResult, 64)
	go func() {
		defer close(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case r, ok := <-t.Results():
				if !ok {
					return
				}
				tr := TraceResult{Addr: r.IP, ASN: r.Info.ASN, ASName: r.Info.ASName, Country: r.Info.Country,
					Prefix: r.Info.Prefix, PTR: r.Info.PTR, PTRConfirmed: r.Info.PTRConfirmed, Abuse: strings.Join(r.Info.Abuse, ", ")}
				if r.Err != nil {
					tr.Err = r.Err.Error()
				}
				select {
				case ch <- tr:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return traceAdapter{t: t, ch: ch}
}

type traceAdapter struct {
	t  *trace.Tracer
	ch chan TraceResult
}

func (a traceAdapter) Request(ip netip.Addr)       { a.t.Request(ip) }
func (a traceAdapter) Results() <-chan TraceResult { return a.ch }

// maxReportRows bounds the abuse report the console collects.
const maxReportRows = 10000

// AbuseReport collects the addresses the operator adds with r and rewrites
// the report file (markdown, grouped by AS) after each addition.
type AbuseReport struct {
	Path     string
	Snapshot func() *analyze.Snapshot
	Contacts trace.ContactSource // may be nil
	Mask     []string

	mu   sync.Mutex
	rows map[netip.Addr]trace.AbuseRow
}

// Add adds every address of the latest snapshot inside targets (a target
// that is one address is added even when the snapshot no longer has it).
func (r *AbuseReport) Add(_ context.Context, targets []netip.Prefix, reason string) error {
	s := r.Snapshot()
	if s == nil {
		s = &analyze.Snapshot{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows == nil {
		r.rows = map[netip.Addr]trace.AbuseRow{}
	}
	add := func(row trace.AbuseRow) {
		if _, ok := r.rows[row.IP]; ok || len(r.rows) < maxReportRows {
			r.rows[row.IP] = row
		}
	}
	var found []trace.AbuseRow
	if len(targets) > 0 { // with none, AbuseRows would take the findings'
		found, _ = report.AbuseRows(s, targets) // no row is not an error here
	}
	for _, row := range found {
		if len(row.Evidence) == 0 {
			// addresses below the analyzer's top rows have no samples: take
			// their newest raw lines instead
			for i := len(s.Recent) - 1; i >= 0 && len(row.Evidence) < 3; i-- {
				if s.Recent[i].Src == row.IP {
					row.Evidence = append(row.Evidence, s.Recent[i].Line)
				}
			}
			slices.Reverse(row.Evidence)
		}
		add(row)
	}
	for _, t := range targets {
		if _, ok := r.rows[t.Addr()]; !ok && t.IsSingleIP() {
			add(trace.AbuseRow{IP: t.Addr()})
		}
	}
	rows := make([]trace.AbuseRow, 0, len(r.rows))
	for _, row := range r.rows {
		rows = append(rows, row)
	}
	if err := os.MkdirAll(filepath.Dir(r.Path), 0o700); err != nil {
		return err
	}
	tmp := r.Path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = trace.WriteAbuseReport(f, rows, trace.AbuseOptions{Format: trace.ReportMarkdown, Contacts: r.Contacts, Mask: r.Mask,
		Generated: time.Now(), Title: "Abuse report"})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, r.Path)
}

// ReportPath is the file the report is written to.
func (r *AbuseReport) ReportPath() string { return r.Path }

// Rows is how many addresses the report holds.
func (r *AbuseReport) Rows() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rows)
}

// SessionDrill is the console's view of a drill session. Blocks reach the
// generator through the session's engine (the console's Block must be
// BlockEngine(s.Engine)), and the session notices the detection itself,
// whether it follows the logs or the caller hands it snapshots.
func SessionDrill(s *drill.Session) Drill { return sessionDrill{s} }

type sessionDrill struct{ s *drill.Session }

func (d sessionDrill) Name() string                   { return d.s.Scenario.Name }
func (d sessionDrill) Clock(wall time.Time) time.Time { return d.s.Generator.Clock(wall) }
func (d sessionDrill) Values() map[string]float64     { return d.s.Scenario.Audit }
func (d sessionDrill) Done() <-chan struct{}          { return d.s.Generator.Done() }

// Complaint reads the complaint once the generator wrote it, at most
// 64 KiB of it.
func (d sessionDrill) Complaint() (string, error) {
	b, err := os.ReadFile(filepath.Join(d.s.Dir, drill.Complaint))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	return string(b), err
}

// Score records the console's playbook steps in the session and takes
// its score.
func (d sessionDrill) Score(done, skipped int) drill.Score {
	d.s.SetSteps(done, skipped)
	return d.s.Score()
}
