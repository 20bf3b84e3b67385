package block

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DryRun is a firewall that only remembers, in memory: drills and
// machines without a firewall tool use it to practise the whole flow (plan,
// safety, journal, expiry, undo) without touching anything.
type DryRun struct {
	mu      sync.Mutex
	elems   map[ElemKey]ElemState
	pending map[string]pendingChange
}

// Name returns "dry-run".
func (d *DryRun) Name() string { return "dry-run" }

// Installed returns what earlier batches "applied", minus what expired.
func (d *DryRun) Installed(ctx context.Context) (*Installed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	inst := newInstalled()
	now := time.Now()
	for k, st := range d.elems {
		if !st.Expires.IsZero() && !st.Expires.After(now) {
			delete(d.elems, k)
			continue
		}
		inst.Elems[k] = st
		inst.Present = true
	}
	return inst, nil
}

// Prepare describes the change in words, one network a line.
func (d *DryRun) Prepare(want *State, have *Installed, now time.Time) (Batch, error) {
	b := Batch{Backend: d.Name()}
	df := diffElems(want, have, now, true)
	var sb strings.Builder
	for _, k := range append(append([]ElemKey{}, df.add...), df.refresh...) {
		rs := want.Rules[k.Rule]
		fmt.Fprintf(&sb, "block %s: %s, for %ds\n", k.Prefix, rs.Rule, SecondsLeft(rs.Elems[k.Prefix], now))
	}
	for _, k := range df.del {
		fmt.Fprintf(&sb, "unblock %s (rule %s)\n", k.Prefix, k.Rule)
	}
	if sb.Len() == 0 {
		return b, nil
	}
	b.Summary = Summary{Added: len(df.add), Refreshed: len(df.refresh), Removed: len(df.del), RemovesAll: want.Empty()}
	b.Steps = []Step{{Program: "dry-run", Args: []string{"(nothing is applied to any firewall)"}, Input: sb.String()}}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == nil {
		d.pending = map[string]pendingChange{}
	}
	d.pending[sb.String()] = pendingChange{want: want, del: df.del, add: append(df.add, df.refresh...)}
	return b, nil
}

type pendingChange struct {
	want     *State
	add, del []ElemKey
}

// Exec records the change.
func (d *DryRun) Exec(ctx context.Context, b Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.elems == nil {
		d.elems = map[ElemKey]ElemState{}
	}
	for _, s := range b.Steps {
		ch, ok := d.pending[s.Input]
		if !ok {
			return fmt.Errorf("dry-run: batch was not prepared here")
		}
		delete(d.pending, s.Input)
		for _, k := range ch.del {
			delete(d.elems, k)
		}
		for _, k := range ch.add {
			d.elems[k] = ElemState{Expires: ch.want.Rules[k.Rule].Elems[k.Prefix]}
		}
	}
	return nil
}
