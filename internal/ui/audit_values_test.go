package ui

import "testing"

// In live mode, playbook checks on the self-audit (syn_recv, open_relay,
// open_resolver) read the console's audit measurements.
func TestPlaybookChecksReadTheAudit(t *testing.T) {
	c := &common{}
	if (paneEnv{c}).Values() != nil {
		t.Fatal("values without any audit")
	}
	c.eng.Audit = func() map[string]float64 { return map[string]float64{"syn_recv": 500, "open_relay": 0} }
	if v := (paneEnv{c}).Values(); v["syn_recv"] != 500 {
		t.Fatalf("values %v", v)
	}
}
