package playbook

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/analyze"
)

// BlockRequest is what a block step hands to the block engine.
type BlockRequest struct {
	Targets []netip.Prefix
	Action  string // drop, reject, ratelimit
	Ports   []string
	TTL     time.Duration
	Rate    string
	Reason  string
}

// Env is what running a playbook needs from the rest of irtui. The console
// and the drill autopilot each provide one; neither lets the playbook touch
// anything directly.
type Env interface {
	Snapshot() *analyze.Snapshot
	// Now is the clock verify steps time out on (a drill's data clock).
	Now() time.Time
	// Block plans, checks and applies a block, returning what was done.
	Block(ctx context.Context, req BlockRequest) (string, error)
	// Report writes the abuse report for targets and says where it went.
	Report(ctx context.Context, targets []netip.Prefix, format string) (string, error)
	// Values are measurements from outside the analyzer (the self-audit).
	Values() map[string]float64
}

// ContextFor builds the Context for run from the current snapshot: the
// finding it was started for (or the newest of the same kind) and what was chosen.
func ContextFor(run *Run, env Env) *Context {
	c := &Context{Snapshot: env.Snapshot(), Chosen: run.ChosenPrefixes(), Values: env.Values()}
	if c.Snapshot != nil {
		for i := range c.Snapshot.Findings {
			f := &c.Snapshot.Findings[i]
			if f.ID == run.FindingID {
				c.Finding = f
				break
			}
			if c.Finding == nil && f.Kind == run.FindingKind {
				c.Finding = f
			}
		}
	}
	return c
}

// Autopilot plays every step of run itself: checks are evaluated and
// recorded, choose takes the pre-filled picks, blocks are applied through
// env, commands are recorded as shown, verify waits (polling every poll)
// until its condition holds or its timeout passes on env's clock. Every
// step lands in the timeline and the run is saved after each one.
func Autopilot(ctx context.Context, pb *Playbook, run *Run, env Env, tl *Timeline, store *Store, poll time.Duration) error {
	record := func(kind, summary, detail string) {
		if tl != nil {
			tl.AppendAt(env.Now(), kind, summary, detail)
		}
	}
	record(EventPlaybook, fmt.Sprintf("playbook %q started on autopilot", pb.Title), "")
	for {
		step := run.Step(pb)
		if step == nil {
			break
		}
		c := ContextFor(run, env)
		status, result := StatusDone, ""
		switch step.Kind {
		case KindExplain:
			result = "read"
		case KindCheck:
			ok, _, text := Evaluate(step, c)
			result = text
			if !ok {
				result += " — continuing"
			}
		case KindChoose:
			picked := PickedTargets(Choices(step, c))
			run.SetChosen(picked)
			result = fmt.Sprintf("chose %d targets", len(picked))
			if len(picked) == 0 {
				status = StatusSkipped
				result = "nothing to choose from"
			}
		case KindBlock:
			targets := run.ChosenPrefixes()
			if len(targets) == 0 {
				status, result = StatusSkipped, "no targets chosen"
				break
			}
			ports := step.Ports
			if len(ports) == 0 && c.Finding != nil {
				ports = c.Finding.Ports
			}
			out, err := env.Block(ctx, BlockRequest{Targets: targets, Action: step.Action, Ports: ports, TTL: step.TTL, Rate: step.Rate, Reason: pb.Name + "/" + step.ID})
			if err != nil {
				status, result = StatusFailed, err.Error()
			} else {
				result = out
				record(EventBlock, out, strings.Join(run.Chosen, " "))
			}
		case KindCommand:
			result = "shown: " + Render(strings.Join(step.Commands, "; "), Vars(c, run.Chosen), true)
		case KindVerify:
			ok, text, err := waitVerify(ctx, step, run, env, poll)
			if err != nil {
				return err
			}
			result = text
			if !ok {
				status = StatusFailed
				result += " — timed out"
			}
		case KindReport:
			where, err := env.Report(ctx, run.ChosenPrefixes(), step.Format)
			if err != nil {
				status, result = StatusFailed, err.Error()
			} else {
				result = where
				record(EventReport, "abuse report written", where)
			}
		case KindNote:
			result = "autopilot: " + Render(step.Text, Vars(c, run.Chosen), false)
			record(EventNote, result, "")
		}
		run.Finish(status, result, env.Now())
		record(EventStep, fmt.Sprintf("%s %s: %s", step.ID, status, step.Title), result)
		if store != nil {
			if err := store.Save(run); err != nil {
				return err
			}
		}
	}
	done, skipped := run.Counts()
	record(EventPlaybook, fmt.Sprintf("playbook %q finished: %d steps done, %d skipped", pb.Title, done, skipped), "")
	return nil
}

func waitVerify(ctx context.Context, step *Step, run *Run, env Env, poll time.Duration) (bool, string, error) {
	if run.VerifySince.IsZero() {
		run.VerifySince = env.Now()
	}
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	for {
		ok, _, text := Evaluate(step, ContextFor(run, env))
		if ok {
			return true, text, nil
		}
		if env.Now().Sub(run.VerifySince) >= step.Timeout {
			return false, text, nil
		}
		select {
		case <-ctx.Done():
			return false, text, ctx.Err()
		case <-time.After(poll):
		}
	}
}
