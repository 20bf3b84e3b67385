package crowdsec

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/block"
)

func pfx(s string) netip.Prefix {
	p, err := block.ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return p
}

// newEngine is the block engine on the crowdsec backend, with a fresh
// journal and a guard that protects fleet hosts given as extra addresses.
func newEngine(t testing.TB, be *Backend, fleet ...string) *block.Engine {
	t.Helper()
	j, err := block.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, err := block.NewGuard(block.GuardOptions{Env: func(string) string { return "" },
		OwnAddrs: func() ([]netip.Prefix, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fleet {
		g.Protected = append(g.Protected, block.Protected{Prefix: pfx(f), Reason: "a fleet host"})
	}
	return &block.Engine{Backend: be, Journal: j, Guard: g, Who: "test"}
}

func sorted(l []string) []string {
	l = slices.Clone(l)
	sort.Strings(l)
	return l
}

func TestLAPIBlockListUnblock(t *testing.T) {
	l := startLAPI(t)
	ctx := ctxT(t)
	be := NewBackend(client(t, l.Machine(t, "irtui-ops"), nil))
	e := newEngine(t, be)

	// Someone else's decisions: cscli's, and another machine's irtui ones.
	l.Cscli(t, "decisions", "add", "-i", "203.0.113.9", "-d", "2h", "-R", "operator")
	other := NewBackend(client(t, l.Machine(t, "irtui-other"), nil))
	oe := newEngine(t, other)
	op, err := oe.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("203.0.113.50")}, Why: "other operator"})
	if err != nil {
		t.Fatal(err)
	}
	if err := oe.Apply(ctx, op); err != nil {
		t.Fatal(err)
	}

	be.SetReason("http_bruteforce finding f12")
	p, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("192.0.2.7"), pfx("198.51.100.0/24"), pfx("2001:db8:5::/48")}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rules := p.Rules()
	if n := strings.Count(rules, "# POST "); n != 1 {
		t.Fatalf("want one POST for the batch, got %d:\n%s", n, rules)
	}
	for _, want := range []string{`"scope":"Ip","type":"ban","value":"192.0.2.7"`, `"scope":"Range","type":"ban","value":"198.51.100.0/24"`,
		`"value":"2001:db8:5::/48"`, `"duration":"3600s","origin":"irtui","scenario":"irtui: http_bruteforce finding f12"`} {
		if !strings.Contains(rules, want) {
			t.Errorf("rules lack %s:\n%s", want, rules)
		}
	}
	if got := l.Active(t)["irtui"]; len(got) != 1 {
		t.Fatalf("planning sent something: irtui decisions %v", got)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := l.Active(t)
	if want := []string{"192.0.2.7", "198.51.100.0/24", "2001:db8:5::/48", "203.0.113.50"}; !slices.Equal(sorted(got["irtui"]), want) {
		t.Fatalf("irtui decisions on the LAPI = %v, want %v", sorted(got["irtui"]), want)
	}
	ds, err := be.Client.Decisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("this machine's decisions: %+v", ds)
	}
	for _, d := range ds {
		if d.Left < 59*time.Minute || d.Left > time.Hour {
			t.Errorf("%s: %s left, want about 1h", d.Prefix, d.Left)
		}
	}
	act, err := e.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(act) != 1 || act[0].Missing != 0 || len(act[0].Targets) != 3 {
		t.Fatalf("List = %+v", act)
	}

	// Extending one target replaces its decision (one left, with the new end).
	p, err = e.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("192.0.2.7")}, TTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if p.Batch.Summary.Refreshed != 1 || strings.Count(p.Rules(), "# DELETE ") != 1 {
		t.Fatalf("extension: %+v\n%s", p.Batch.Summary, p.Rules())
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	ds, _ = be.Client.Decisions(ctx)
	n := 0
	for _, d := range ds {
		if d.Prefix == pfx("192.0.2.7") {
			n++
			if d.Left < 2*time.Hour+59*time.Minute {
				t.Errorf("192.0.2.7 left %s after extension to 3h", d.Left)
			}
		}
	}
	if n != 1 {
		t.Fatalf("192.0.2.7 has %d decisions, want 1: %+v", n, ds)
	}

	// Unblock one network.
	if _, err := e.Unblock(ctx, "198.51.100.0/24"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.7", "2001:db8:5::/48", "203.0.113.50"}; !slices.Equal(sorted(l.Active(t)["irtui"]), want) {
		t.Fatalf("after unblock: %v", l.Active(t))
	}

	// Someone removes one of irtui's decisions behind its back: reconcile
	// puts it back, as the journal says it should be there.
	for _, d := range ds {
		if d.Prefix == pfx("2001:db8:5::/48") {
			l.Cscli(t, "decisions", "delete", "--id", fmt.Sprint(d.ID))
		}
	}
	rep, err := e.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Batch.Summary.Added != 1 {
		t.Fatalf("reconcile: %+v (%s)", rep.Batch.Summary, rep)
	}

	// The panic button: exactly this machine's irtui decisions go.
	p, err = e.UnblockAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Batch.Summary.RemovesAll {
		t.Errorf("unblock --all summary: %+v", p.Batch.Summary)
	}
	got = l.Active(t)
	if !slices.Equal(got["irtui"], []string{"203.0.113.50"}) || !slices.Equal(got["cscli"], []string{"203.0.113.9"}) {
		t.Fatalf("after unblock --all: %v (the other machine's and cscli's decisions must stay)", got)
	}
	if ds, _ := be.Client.Decisions(ctx); len(ds) != 0 {
		t.Fatalf("left: %+v", ds)
	}
	all, err := be.Client.AllIrtuiDecisions(ctx)
	if err != nil || len(all) != 1 || all[0].Machine != "irtui-other" {
		t.Fatalf("AllIrtuiDecisions = %+v, %v", all, err)
	}
}

func TestLAPIRefusedBatchSendsNothing(t *testing.T) {
	l := startLAPI(t)
	ctx := ctxT(t)
	be := NewBackend(client(t, l.Machine(t, "irtui-ops"), nil))
	// 192.0.2.11 is a web host of the fleet.
	e := newEngine(t, be, "192.0.2.11", "192.0.2.12")
	_, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("203.0.113.7"), pfx("192.0.2.0/28")}})
	var re *block.RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "192.0.2.11, a fleet host") {
		t.Fatalf("want a refusal naming the fleet host, got %v", err)
	}
	// A rule CrowdSec cannot express is refused whole too.
	_, err = e.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("203.0.113.7")}, Rule: block.Rule{Action: block.Drop, Scope: []block.PortRange{{Proto: "tcp", From: 80, To: 80}}}})
	if err == nil || !strings.Contains(err.Error(), "cannot be expressed") {
		t.Fatalf("port scope: %v", err)
	}
	// The client refuses a batch with one bad entry before sending.
	_, err = RenderAlert("m", []NewDecision{{Prefix: pfx("203.0.113.7"), Duration: time.Hour}, {Prefix: netip.MustParsePrefix("203.0.113.9/24"), Duration: time.Hour}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "nothing sent") {
		t.Fatalf("bad entry: %v", err)
	}
	if got := l.Active(t); len(got) != 0 {
		t.Fatalf("something reached the LAPI: %v", got)
	}
	alerts, err := be.Client.Alerts(ctx, nil)
	if err != nil || len(alerts) != 0 {
		t.Fatalf("alerts = %v, %v", alerts, err)
	}
}

func TestLAPIFindings(t *testing.T) {
	l := startLAPI(t)
	ctx := ctxT(t)
	agent := client(t, l.Machine(t, "web1-agent"), nil)
	ops := client(t, l.Machine(t, "irtui-ops"), nil)
	now := time.Now().UTC().Format(time.RFC3339)
	// What a CrowdSec agent sends when ssh-bf overflows: the message holds
	// attacker-influenced text, escape sequence included.
	body := `[{"capacity":5,"events":[],"events_count":6,"leakspeed":"10s","message":"Ip 192.0.2.66 performed 'crowdsecurity/ssh-bf' (6 events over 1s) user \u001b[31mroot",
"scenario":"crowdsecurity/ssh-bf","scenario_hash":"h","scenario_version":"0.1","simulated":false,
"source":{"scope":"Ip","value":"192.0.2.66","ip":"192.0.2.66"},"start_at":"` + now + `","stop_at":"` + now + `",
"decisions":[{"duration":"4h","origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"192.0.2.66"}]},
{"capacity":5,"events":[],"events_count":3,"leakspeed":"10s","message":"probing","scenario":"crowdsecurity/http-probing","scenario_hash":"h","scenario_version":"0.1","simulated":false,
"source":{"scope":"Ip","value":"198.51.100.23","ip":"198.51.100.23"},"start_at":"` + now + `","stop_at":"` + now + `","decisions":[]}]`
	if _, err := agent.AddAlerts(ctx, []byte(body)); err != nil {
		t.Fatal(err)
	}
	// irtui's own decision is not a finding of the fleet's agents.
	be := NewBackend(ops)
	e := newEngine(t, be)
	p, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{pfx("203.0.113.5")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	alerts, err := ops.FleetAlerts(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fs := Findings(alerts, time.Now())
	if len(fs) != 2 {
		t.Fatalf("findings: %+v", fs)
	}
	f := fs[0]
	if f.Kind != FindingKind || f.Targets[0] != pfx("192.0.2.66") || f.Severity.String() != "high" || f.Evidence[1].Count != 6 {
		t.Fatalf("ssh-bf finding: %+v", f)
	}
	if !strings.Contains(f.Summary, "crowdsecurity/ssh-bf") || !strings.Contains(f.Summary, "web1-agent") {
		t.Errorf("summary: %q", f.Summary)
	}
	if strings.ContainsRune(f.Samples[0], 0x1b) {
		t.Errorf("escape reached the finding: %q", f.Samples[0])
	}
	if fs[1].Severity.String() != "medium" || fs[1].Targets[0] != pfx("198.51.100.23") {
		t.Errorf("alert-only finding: %+v", fs[1])
	}
}

func TestLAPIWrongPassword(t *testing.T) {
	l := startLAPI(t)
	creds, err := ReadCredentials(l.Machine(t, "irtui-ops"))
	if err != nil {
		t.Fatal(err)
	}
	creds.Password = "wrong"
	c, err := NewClient(creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Decisions(ctxT(t))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "credentials file") {
		t.Fatalf("want a 401 that says what to check, got %v", err)
	}
}
