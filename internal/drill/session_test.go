package drill

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestAutopilotScores(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			score, s, err := RunHeadless(ctx, sc, Options{Speed: 20, Seed: 7, TempDir: t.TempDir()}, true)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(score)
			t.Logf("%s", js)
			if r := s.Run(); r != nil {
				for _, st := range r.Steps {
					t.Logf("  %s %s: %s", st.ID, st.Status, st.Result)
				}
			}
			c := s.Generator.Counts()
			t.Logf("counts %+v", c)
			if score.DetectedAfterS == nil || *score.DetectedAfterS > 10 {
				t.Errorf("detected after %v s, want within 10 s", score.DetectedAfterS)
			}
			if score.AttackStopped < 0.9 {
				t.Errorf("attack stopped %.3f, want >= 0.9", score.AttackStopped)
			}
			if score.Collateral > 0.01 {
				t.Errorf("collateral %.3f, want <= 0.01", score.Collateral)
			}
			if score.StepsDone == 0 {
				t.Errorf("no step done")
			}
		})
	}
}
