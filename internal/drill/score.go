package drill

import (
	"fmt"
	"io"
	"time"
)

// Score is how a drill went. Its JSON form is a contract for CI and for
// teams comparing runs.
type Score struct {
	Scenario       string   `json:"scenario"`
	DetectedAfterS *float64 `json:"detected_after_s"` // null when never detected
	BlockedAfterS  *float64 `json:"blocked_after_s"`  // null when nothing was blocked
	AttackStopped  float64  `json:"attack_stopped"`   // 0..1, of attack requests after the first block
	Collateral     float64  `json:"collateral"`       // 0..1, of legitimate requests after the first block
	StepsDone      int      `json:"steps_done"`
	StepsSkipped   int      `json:"steps_skipped"`
	Playbook       string   `json:"playbook,omitempty"`
	AttackRequests int64    `json:"attack_requests"`
	LegitRequests  int64    `json:"legit_requests"`
}

// NewScore computes the score from the generator's ground truth, the time
// the first finding naming the attack appeared (zero if never) and the
// playbook steps done and skipped.
func NewScore(s *Scenario, c Counts, detected time.Time, done, skipped int) Score {
	sc := Score{Scenario: s.Name, StepsDone: done, StepsSkipped: skipped, Playbook: s.Playbook,
		AttackRequests: c.Attack, LegitRequests: c.Benign}
	if !detected.IsZero() {
		v := round(detected.Sub(c.AttackStart).Seconds())
		sc.DetectedAfterS = &v
	}
	if !c.FirstBlock.IsZero() {
		v := round(c.FirstBlock.Sub(c.AttackStart).Seconds())
		sc.BlockedAfterS = &v
	}
	if c.AttackAfter > 0 {
		sc.AttackStopped = round(float64(c.AttackStopped) / float64(c.AttackAfter))
	}
	if c.BenignAfter > 0 {
		sc.Collateral = round(float64(c.BenignStopped) / float64(c.BenignAfter))
	}
	return sc
}

func round(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// WriteText prints the score for people.
func (sc Score) WriteText(w io.Writer) {
	opt := func(p *float64) string {
		if p == nil {
			return "never"
		}
		return fmt.Sprintf("%.1f s after the attack started", *p)
	}
	fmt.Fprintf(w, "Drill %q\n", sc.Scenario)
	fmt.Fprintf(w, "  detected:        %s\n", opt(sc.DetectedAfterS))
	fmt.Fprintf(w, "  first block:     %s\n", opt(sc.BlockedAfterS))
	fmt.Fprintf(w, "  attack stopped:  %.1f %% of attack requests after the first block\n", sc.AttackStopped*100)
	fmt.Fprintf(w, "  collateral:      %.2f %% of legitimate requests cut\n", sc.Collateral*100)
	fmt.Fprintf(w, "  playbook steps:  %d done, %d skipped\n", sc.StepsDone, sc.StepsSkipped)
}
