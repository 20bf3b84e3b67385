package playbook

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/sanitize"
)

// Step statuses.
const (
	StatusPending = "pending"
	StatusDone    = "done"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// StepState is what happened to one step of a run.
type StepState struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Result string    `json:"result,omitempty"`
	At     time.Time `json:"at,omitempty"`
}

// Run is one playbook in progress. It is saved after every change so a
// playbook in progress is resumed after irtui restarts.
type Run struct {
	ID          string      `json:"id"`
	Playbook    string      `json:"playbook"`
	FindingID   string      `json:"finding_id,omitempty"`
	FindingKind string      `json:"finding_kind,omitempty"`
	Started     time.Time   `json:"started"`
	Current     int         `json:"current"`
	Steps       []StepState `json:"steps"`
	Chosen      []string    `json:"chosen,omitempty"` // prefixes, as text
	// VerifySince is when the current verify step started waiting.
	VerifySince time.Time `json:"verify_since,omitempty"`
	Finished    bool      `json:"finished"`

	path string
}

// NewRun starts pb for finding (which may be nil).
func NewRun(pb *Playbook, finding *analyze.Finding, now time.Time) *Run {
	r := &Run{
		ID:       fmt.Sprintf("%s-%s", pb.Name, now.UTC().Format("20060102T150405")),
		Playbook: pb.Name,
		Started:  now.UTC(),
	}
	if finding != nil {
		r.FindingID, r.FindingKind = finding.ID, finding.Kind
	}
	for _, s := range pb.Steps {
		r.Steps = append(r.Steps, StepState{ID: s.ID, Status: StatusPending})
	}
	return r
}

// Step returns the current step of pb, or nil when the run is finished.
func (r *Run) Step(pb *Playbook) *Step {
	if r.Finished || r.Current >= len(pb.Steps) {
		return nil
	}
	return &pb.Steps[r.Current]
}

// ChosenPrefixes returns what the choose steps picked.
func (r *Run) ChosenPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range r.Chosen {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// SetChosen records the targets a choose step picked.
func (r *Run) SetChosen(ps []netip.Prefix) {
	r.Chosen = r.Chosen[:0]
	for _, p := range ps {
		r.Chosen = append(r.Chosen, p.String())
	}
}

// Finish marks the current step with status and result and moves on.
func (r *Run) Finish(status, result string, now time.Time) {
	if r.Finished || r.Current >= len(r.Steps) {
		return
	}
	r.Steps[r.Current] = StepState{ID: r.Steps[r.Current].ID, Status: status, Result: sanitize.Text(result), At: now.UTC()}
	r.Current++
	r.VerifySince = time.Time{}
	if r.Current >= len(r.Steps) {
		r.Finished = true
	}
}

// Counts returns how many steps were done and skipped.
func (r *Run) Counts() (done, skipped int) {
	for _, s := range r.Steps {
		switch s.Status {
		case StatusDone:
			done++
		case StatusSkipped:
			skipped++
		}
	}
	return done, skipped
}

// Store keeps runs in the state dir, one JSON file each.
type Store struct {
	Dir string
}

// DefaultStore is the store in StateDir()/runs.
func DefaultStore() Store { return Store{Dir: filepath.Join(StateDir(), "runs")} }

// Save writes r atomically (temp file, fsync, rename).
func (s Store) Save(r *Run) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.Dir, r.ID+".json")
	tmp, err := os.CreateTemp(s.Dir, ".run-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	tmp.Close()
	return os.Rename(tmp.Name(), path)
}

// Active returns the unfinished runs, newest first, so the console can
// resume them after a restart.
func (s Store) Active() ([]*Run, error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Run
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r Run
		if json.Unmarshal(data, &r) != nil || r.Finished {
			continue
		}
		r.path = f
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

// Choice is one candidate a choose step offers.
type Choice struct {
	Label   string
	Targets []netip.Prefix
	Events  int64
	Share   float64
	Picked  bool // pre-filled from the finding
}

// Choices lists what a choose step offers from the live data, with the
// finding's own targets pre-picked.
func Choices(s *Step, c *Context) []Choice {
	if c == nil || c.Snapshot == nil {
		return nil
	}
	max := s.Max
	if max <= 0 {
		max = 20
	}
	var fromFinding []netip.Prefix
	if c.Finding != nil {
		fromFinding = c.Finding.Targets
	}
	picked := func(ps []netip.Prefix) bool {
		for _, p := range ps {
			for _, f := range fromFinding {
				if f.Overlaps(p) {
					return true
				}
			}
		}
		return false
	}
	var out []Choice
	addGroups := func(groups []analyze.Group, toPrefix func(g analyze.Group) []netip.Prefix) {
		for _, g := range groups {
			if len(out) == max {
				break
			}
			ps := toPrefix(g)
			if len(ps) == 0 {
				continue
			}
			out = append(out, Choice{Label: sanitize.Text(g.Key), Targets: ps, Events: g.Events, Share: g.Share, Picked: picked(ps)})
		}
	}
	switch s.From {
	case "finding":
		for _, p := range fromFinding {
			if len(out) == max {
				break
			}
			out = append(out, Choice{Label: p.String(), Targets: []netip.Prefix{p}, Picked: true})
		}
	case "sources":
		addGroups(c.Snapshot.IPs, func(g analyze.Group) []netip.Prefix {
			if a, err := netip.ParseAddr(g.Key); err == nil {
				return []netip.Prefix{netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}
			}
			return nil
		})
	case "prefixes":
		addGroups(c.Snapshot.Prefixes, func(g analyze.Group) []netip.Prefix {
			if g.Prefix.IsValid() {
				return []netip.Prefix{g.Prefix}
			}
			if p, err := netip.ParsePrefix(g.Key); err == nil {
				return []netip.Prefix{p}
			}
			return nil
		})
	case "ases":
		// An AS is blocked by its attacking prefixes: those seen in the snapshot.
		addGroups(c.Snapshot.ASes, func(g analyze.Group) []netip.Prefix {
			if g.ASN == 0 {
				return nil
			}
			var ps []netip.Prefix
			for _, p := range c.Snapshot.Prefixes {
				if p.ASN == g.ASN && p.Prefix.IsValid() {
					ps = append(ps, p.Prefix)
				}
			}
			return ps
		})
	case "clusters":
		for _, cl := range c.Snapshot.Clusters {
			if len(out) == max {
				break
			}
			var ps []netip.Prefix
			for _, a := range cl.Sources {
				a = a.Unmap()
				ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			}
			if len(ps) == 0 {
				continue
			}
			label := fmt.Sprintf("%s: %d sources on %s", cl.ID, cl.Size, strings.Join(cl.Pages, ", "))
			out = append(out, Choice{Label: sanitize.Text(label), Targets: ps, Events: cl.Events, Picked: picked(ps)})
		}
	}
	// With nothing pre-filled from the finding, pick the largest choice so
	// the step always has a sensible default the operator can change.
	any := false
	for _, ch := range out {
		any = any || ch.Picked
	}
	if !any && len(out) > 0 && s.From != "finding" {
		out[0].Picked = true
	}
	return out
}

// PickedTargets flattens the picked choices into one list of prefixes.
func PickedTargets(choices []Choice) []netip.Prefix {
	var out []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, ch := range choices {
		if !ch.Picked {
			continue
		}
		for _, p := range ch.Targets {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
