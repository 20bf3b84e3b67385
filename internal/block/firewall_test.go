package block

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDropKeepsCustomer(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, be)
			l := newLab(t)
			e := l.engine(t, be)
			mustBlock(t, e, Rule{Action: Drop}, time.Hour, l.att4[0].String(), l.att6[0].String())
			for _, port := range []uint16{80, 25} {
				expectBlocked(t, l.att, l.att4[0], l.srvAtt4, port)
				expectBlocked(t, l.att, l.att6[0], l.srvAtt6, port)
				// Surgical: the attacker's neighbour and the customer still get answers.
				expectOpen(t, l.att, l.att4[1], l.srvAtt4, port)
				expectOpen(t, l.att, l.att6[1], l.srvAtt6, port)
				expectOpen(t, l.cust, l.cust4, l.srvCust4, port)
				expectOpen(t, l.cust, l.cust6, l.srvCust6, port)
			}
			// A prefix target (interval set / hash:net range), rejected on tcp/25 only.
			mustBlock(t, e, Rule{Action: Reject, Scope: []PortRange{{Proto: "tcp", From: 25, To: 25}}}, time.Hour, "192.0.2.8/29", "2001:db8:a::10/124")
			for _, src := range []struct{ a, dst string }{{"192.0.2.11", "v4"}, {"2001:db8:a::11", "v6"}} {
				s := mustAddr(src.a)
				dst := l.srvAtt4
				if src.dst == "v6" {
					dst = l.srvAtt6
				}
				if err := expectBlocked(t, l.att, s, dst, 25); err != nil && !isRefused(err) {
					t.Errorf("%s: reject should answer with a reset, got %v", s, err)
				}
				expectOpen(t, l.att, s, dst, 80)
			}
			expectOpen(t, l.cust, l.cust4, l.srvCust4, 25)
			list, err := e.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0].Packets == 0 || list[0].Missing != 0 || list[0].Left < 59*time.Minute {
				t.Errorf("List = %+v, want two blocks, the first with packets counted", list)
			}
			if _, err := e.UnblockAll(context.Background()); err != nil {
				t.Fatal(err)
			}
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
			expectOpen(t, l.att, l.att6[0], l.srvAtt6, 80)
		})
	}
}

func TestPortScope(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, be)
			l := newLab(t)
			e := l.engine(t, be)
			mustBlock(t, e, Rule{Action: Drop, Scope: []PortRange{{Proto: "tcp", From: 80, To: 80}}}, time.Hour, l.att4[0].String(), l.att6[0].String())
			expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
			expectBlocked(t, l.att, l.att6[0], l.srvAtt6, 80)
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 25)
			expectOpen(t, l.att, l.att6[0], l.srvAtt6, 25)
			expectOpen(t, l.cust, l.cust4, l.srvCust4, 80)
			expectOpen(t, l.cust, l.cust6, l.srvCust6, 80)
			// Unblocking one address leaves the other family's block alone.
			if _, err := e.Unblock(context.Background(), l.att4[0].String()); err != nil {
				t.Fatal(err)
			}
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
			expectBlocked(t, l.att, l.att6[0], l.srvAtt6, 80)
		})
	}
}

func TestRateLimit(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, be)
			l := newLab(t)
			e := l.engine(t, be)
			rule := Rule{Action: RateLimit, Rate: Rate{Count: 2, Per: time.Second, Burst: 3}, Scope: []PortRange{{Proto: "tcp", From: 80, To: 80}}}
			mustBlock(t, e, rule, time.Hour, "192.0.2.8/29", "2001:db8:a::10/124")
			for _, fam := range []struct {
				name            string
				slow, fast, dst netip.Addr
			}{
				{"v4", l.att4[1], l.att4[2], l.srvAtt4},
				{"v6", l.att6[1], l.att6[2], l.srvAtt6},
			} {
				var slowFail, fastFail, fastOK atomic.Int32
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { // one connection every 700 ms: under 2/s
					defer wg.Done()
					for i := 0; i < 5; i++ {
						if probe(l.att, fam.slow, fam.dst, 80, 2*time.Second) != nil {
							slowFail.Add(1)
						}
						time.Sleep(700 * time.Millisecond)
					}
				}()
				go func() { // as fast as it can
					defer wg.Done()
					for i := 0; i < 30; i++ {
						if probe(l.att, fam.fast, fam.dst, 80, 300*time.Millisecond) != nil {
							fastFail.Add(1)
						} else {
							fastOK.Add(1)
						}
					}
				}()
				wg.Wait()
				if slowFail.Load() != 0 {
					t.Errorf("%s: the slow client lost %d of 5 connections", fam.name, slowFail.Load())
				}
				if fastFail.Load() < 15 || fastOK.Load() == 0 {
					t.Errorf("%s: the fast client got %d through and %d cut; want the burst through and most cut", fam.name, fastOK.Load(), fastFail.Load())
				}
			}
			expectOpen(t, l.cust, l.cust4, l.srvCust4, 80)
		})
	}
}

func TestExpiry(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, be)
			l := newLab(t)
			e := l.engine(t, be)
			mustBlock(t, e, Rule{Action: Drop}, 2*time.Second, l.att4[0].String(), l.att6[0].String())
			expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
			time.Sleep(3 * time.Second)
			// The kernel expired it, with no irtui process running.
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
			expectOpen(t, l.att, l.att6[0], l.srvAtt6, 80)
			rep, err := e.Reconcile(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Expired) != 1 || !strings.Contains(rep.String(), "1 block(s) expired") {
				t.Errorf("reconcile report = %q, want the expired block named", rep.String())
			}
			if list, _ := e.List(context.Background()); len(list) != 0 {
				t.Errorf("List after expiry = %+v", list)
			}
			// Said once: a second reconcile has nothing to report.
			rep, err = e.Reconcile(context.Background())
			if err != nil || rep.String() != "" {
				t.Errorf("second reconcile = %q, %v", rep.String(), err)
			}
		})
	}
}

var counters = regexp.MustCompile(`packets \d+ bytes \d+|\[\d+:\d+\]|^# (Generated|Completed).*$`)

func snapshot(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, argv := range map[string][]string{
		"nft list ruleset": {"nft", "list", "ruleset"},
		"iptables-save":    {"iptables-save"},
		"ip6tables-save":   {"ip6tables-save"},
		"ipset save":       {"ipset", "save"},
	} {
		lines := strings.Split(runIn(t, ns, "", argv...), "\n")
		for i, line := range lines {
			lines[i] = counters.ReplaceAllString(line, "")
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out
}

func TestOperatorRulesUntouched(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, "nft")
			needFirewall(t, "iptables")
			l := newLab(t)
			runIn(t, l.srv, `table inet operator {
	set admins { type ipv4_addr; elements = { 203.0.113.5 } }
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @admins tcp dport 22 counter accept
		tcp dport 22 counter drop
	}
}
`, "nft", "-f", "-")
			runIn(t, l.srv, "", "iptables", "-A", "INPUT", "-s", "203.0.113.0/24", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
			runIn(t, l.srv, "", "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "23", "-j", "DROP")
			runIn(t, l.srv, "", "ip6tables", "-A", "INPUT", "-s", "2001:db8:ffff::/48", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
			runIn(t, l.srv, "", "ipset", "create", "operator_allow", "hash:ip")
			runIn(t, l.srv, "", "ipset", "add", "operator_allow", "203.0.113.7")
			before := snapshot(t, l.srv)
			operatorTable := runIn(t, l.srv, "", "nft", "list", "table", "inet", "operator")

			e := l.engine(t, be)
			mustBlock(t, e, Rule{Action: Drop}, time.Hour, l.att4[0].String(), "2001:db8:a::10/124")
			mustBlock(t, e, Rule{Action: Reject, Scope: []PortRange{{Proto: "tcp", From: 25, To: 25}}}, time.Hour, "192.0.2.8/29")
			mustBlock(t, e, Rule{Action: RateLimit, Rate: Rate{Count: 10, Per: time.Second}, Scope: []PortRange{{Proto: "tcp", From: 80, To: 80}, {Proto: "tcp", From: 443, To: 443}}}, time.Hour, l.att6[2].String())
			expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
			if got := runIn(t, l.srv, "", "nft", "list", "table", "inet", "operator"); counters.ReplaceAllString(got, "") != counters.ReplaceAllString(operatorTable, "") {
				t.Errorf("the operator's table changed while irtui's blocks were in place:\n%s", got)
			}
			if _, err := e.Unblock(context.Background(), "192.0.2.8/29"); err != nil {
				t.Fatal(err)
			}
			plan, err := e.UnblockAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Batch.Summary.RemovesAll {
				t.Errorf("unblock --all did not remove irtui's objects:\n%s", plan.Rules())
			}
			after := snapshot(t, l.srv)
			for name, b := range before {
				if after[name] != b {
					t.Errorf("%s differs after unblock --all:\nbefore:\n%s\nafter:\n%s", name, b, after[name])
				}
			}
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
		})
	}
}

func TestCrashBetweenJournalAndApply(t *testing.T) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			needFirewall(t, be)
			l := newLab(t)
			dir := t.TempDir()
			e := l.engineAt(t, be, dir)
			e.crashAfterJournal = true
			p, err := e.Plan(context.Background(), Request{Targets: []netip.Prefix{pfx(l.att4[0].String()), pfx(l.att6[0].String())}, Rule: Rule{Action: Drop}})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Apply(context.Background(), p); err == nil {
				t.Fatal("the crash hook did not fire")
			}
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80) // nothing reached the firewall

			// irtui starts again: the journal says blocked, so it is.
			e2 := l.engineAt(t, be, dir)
			rep, err := e2.Reconcile(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Batch.Summary.Added != 2 || !strings.Contains(rep.String(), "re-applied 2") {
				t.Errorf("reconcile = %q", rep.String())
			}
			expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
			expectBlocked(t, l.att, l.att6[0], l.srvAtt6, 80)

			// The other way round: the unblock is journaled, then a crash.
			e2.crashAfterJournal = true
			up, err := e2.PlanUnblockAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := e2.Apply(context.Background(), up); err == nil {
				t.Fatal("the crash hook did not fire")
			}
			expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
			e3 := l.engineAt(t, be, dir)
			rep, err = e3.Reconcile(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Batch.Summary.RemovesAll {
				t.Errorf("reconcile after a journaled unblock --all = %q", rep.String())
			}
			expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
		})
	}
}

// TestReconcileAfterFlush: someone (or a reboot) empties the ruleset; the
// journal's blocks come back at the next start.
func TestReconcileAfterFlush(t *testing.T) {
	needFirewall(t, "nft")
	l := newLab(t)
	e := l.engine(t, "nft")
	mustBlock(t, e, Rule{Action: Drop}, time.Hour, l.att4[0].String())
	runIn(t, l.srv, "", "nft", "flush", "ruleset")
	expectOpen(t, l.att, l.att4[0], l.srvAtt4, 80)
	rep, err := e.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), "re-applied 1") {
		t.Errorf("report = %q", rep.String())
	}
	expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func pfx(s string) netip.Prefix {
	p, err := ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return p
}
