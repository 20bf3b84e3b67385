package block

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7/32",
		" 198.51.100.9/24 ":       "198.51.100.0/24",
		"::ffff:192.0.2.7":        "192.0.2.7/32",
		"::ffff:203.0.113.0/120":  "203.0.113.0/24",
		"2001:db8::1":             "2001:db8::1/128",
		"2001:db8:1:2::/48":       "2001:db8:1::/48",
		"fe80::1%eth0":            "fe80::1/128",
		"2001:DB8::/32":           "2001:db8::/32",
		"::ffff:198.51.100.7/128": "198.51.100.7/32",
	} {
		got, err := ParseTarget(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "example.com", "192.0.2.300", "192.0.2.0/33", "AS64500", "1.2.3.4/", "\x1b[2J"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) should fail", bad)
		} else if strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("error carries an escape: %q", err)
		}
	}
}

func TestParseTargets(t *testing.T) {
	in := "# attackers\n192.0.2.7, 192.0.2.8 ; 192.0.2.7\n\n2001:db8::/48 # a /48\r\n::ffff:192.0.2.8\n"
	got, err := ParseTargets(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].String() != "192.0.2.7/32" || got[2].String() != "2001:db8::/48" {
		t.Errorf("got %v", got)
	}
	_, err = ParseTargets(strings.NewReader("192.0.2.1\nnot-an-ip\n192.0.2.2\nbad2\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("errors should name every bad line: %v", err)
	}
	_, err = ParseTargets(strings.NewReader(strings.Repeat("1", 5000)))
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("an over-long line: %v", err)
	}
}

func TestParseScopeAndRate(t *testing.T) {
	s, err := ParseScope("tcp/443, tcp/80,udp/53,tcp/8000-8100,tcp/80")
	if err != nil || ScopeString(s) != "tcp/80,tcp/443,tcp/8000-8100,udp/53" {
		t.Errorf("ParseScope = %v, %v", ScopeString(s), err)
	}
	for _, bad := range []string{"80", "icmp/1", "tcp/0", "tcp/90-80", "tcp/70000", "tcp/x"} {
		if _, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q) should fail", bad)
		}
	}
	var many []string
	for p := 1; p <= 16; p++ {
		many = append(many, "tcp/"+string(rune('0'+p/10))+string(rune('0'+p%10)))
	}
	if _, err := ParseScope(strings.Join(many, ",")); err == nil {
		t.Error("16 tcp ports should be refused (multiport's limit)")
	}
	r, err := ParseRate("600/m")
	if err != nil || r.Count != 600 || r.Per != time.Minute || r.String() != "600/m" {
		t.Errorf("ParseRate = %+v, %v", r, err)
	}
	for _, bad := range []string{"10", "0/s", "10/day", "x/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) should fail", bad)
		}
	}
	rule := Rule{Action: RateLimit, Rate: r}
	if err := rule.Validate(); err != nil || rule.Rate.Burst != 600 {
		t.Errorf("Validate: %v burst %d", err, rule.Rate.Burst)
	}
	if (Rule{Action: Drop}).ID() != "drop_all" || !strings.HasPrefix(rule.ID(), "rl_") || len(rule.ID()) != 11 {
		t.Errorf("rule IDs: %q %q", (Rule{Action: Drop}).ID(), rule.ID())
	}
}

func testGuard(t *testing.T, env map[string]string, allow ...string) *Guard {
	t.Helper()
	var al []netip.Prefix
	for _, a := range allow {
		al = append(al, pfx(a))
	}
	g, err := NewGuard(GuardOptions{
		Env:      func(k string) string { return env[k] },
		OwnAddrs: func() ([]netip.Prefix, error) { return []netip.Prefix{pfx("203.0.113.5"), pfx("2001:db8:5::5")}, nil },
		Allow:    al,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuard(t *testing.T) {
	g := testGuard(t, map[string]string{"SSH_CLIENT": "198.51.100.10 52100 22", "SSH_CONNECTION": "::ffff:192.0.2.44 52100 ::ffff:203.0.113.5 22"}, "2001:db8:77::/48")
	for target, reason := range map[string]string{
		"198.51.100.0/24":      "SSH client",
		"198.51.100.10":        "SSH client",
		"::ffff:198.51.100.10": "SSH client",
		"192.0.2.44":           "SSH_CONNECTION",
		"0.0.0.0/0":            "SSH",
		"127.0.0.2":            "loopback",
		"::1":                  "loopback",
		"169.254.1.1":          "link-local",
		"fe80::/64":            "link-local",
		"203.0.113.0/24":       "address of this host",
		"2001:db8:5::/64":      "address of this host",
		"2001:db8:77:1::/64":   "allowlist",
		"2001:db8::/32":        "", // covers both own and allowlisted
	} {
		err := g.Check([]netip.Prefix{pfx(target)})
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: not refused", target)
			continue
		}
		if !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: %v; want it to name %q", target, err, reason)
		}
	}
	if err := g.Check([]netip.Prefix{pfx("198.51.100.11"), pfx("192.0.2.0/27"), pfx("2001:db8:6::/48")}); err != nil {
		t.Errorf("legitimate targets refused: %v", err)
	}
}

func newTestEngine(t *testing.T, env map[string]string) *Engine {
	t.Helper()
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Engine{Backend: &DryRun{}, Journal: j, Guard: testGuard(t, env), Who: "tester"}
}

func TestLockoutRefusedNothingJournaled(t *testing.T) {
	e := newTestEngine(t, map[string]string{"SSH_CLIENT": "198.51.100.10 52100 22"})
	_, err := e.Plan(context.Background(), Request{Targets: []netip.Prefix{pfx("192.0.2.7"), pfx("198.51.100.0/25")}})
	if err == nil || !strings.Contains(err.Error(), "would cut 198.51.100.10, the SSH client of this session (SSH_CLIENT)") {
		t.Fatalf("want the SSH client named, got %v", err)
	}
	if _, err := os.Stat(e.Journal.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused plan wrote the journal")
	}
}

type fakeAS map[uint32][]netip.Prefix

func (f fakeAS) PrefixesOf(n uint32) []netip.Prefix { return f[n] }

func TestPlanAS(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := context.Background()
	if _, err := e.Plan(ctx, Request{AS: 64500}); err == nil || !strings.Contains(err.Error(), "--whole-as") {
		t.Errorf("an AS without prefixes: %v", err)
	}
	p, err := e.Plan(ctx, Request{AS: 64500, ASPrefixes: []netip.Prefix{pfx("192.0.2.0/25")}})
	if err != nil || len(p.Block.Targets) != 1 {
		t.Fatalf("attacking prefixes: %v", err)
	}
	if _, err := e.Plan(ctx, Request{AS: 64500, WholeAS: true}); err == nil {
		t.Error("--whole-as without a table should fail")
	}
	e.ASTable = fakeAS{64500: {pfx("192.0.2.0/24"), pfx("2001:db8:1::/48")}}
	p, err = e.Plan(ctx, Request{AS: 64500, WholeAS: true, Rule: Rule{Action: Reject}})
	if err != nil || len(p.Block.Targets) != 2 || p.Block.AS != 64500 {
		t.Fatalf("whole AS: %+v %v", p, err)
	}
}

func TestUnblockSemantics(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := context.Background()
	now := time.Now()
	e.Now = func() time.Time { return now }
	p, err := e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.7"), pfx("192.0.2.8"), pfx("198.51.100.0/24")}, Why: "flood\x1b[31m"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(p.Block.Why, 0x1b) {
		t.Errorf("why kept an escape: %q", p.Block.Why)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Unblock(ctx, "198.51.100.7"); err == nil || !strings.Contains(err.Error(), "inside the blocked 198.51.100.0/24") {
		t.Errorf("unblocking inside a prefix: %v", err)
	}
	if _, err := e.Unblock(ctx, "203.0.113.1"); err == nil || !strings.Contains(err.Error(), "not blocked") {
		t.Errorf("unblocking what is not blocked: %v", err)
	}
	// A prefix takes what is inside it.
	up, err := e.Unblock(ctx, "192.0.2.0/28")
	if err != nil || up.Batch.Summary.Removed != 2 {
		t.Fatalf("unblock /28: %+v %v", up, err)
	}
	list, _ := e.List(ctx)
	if len(list) != 1 || len(list[0].Targets) != 1 {
		t.Fatalf("after unblock: %+v", list)
	}
	if _, err := e.Unblock(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.List(ctx); len(list) != 0 {
		t.Errorf("after unblock by ID: %+v", list)
	}
}

func TestStalePlanRefused(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := context.Background()
	p1, _ := e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.7")}})
	p2, _ := e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.8")}})
	if err := e.Apply(ctx, p1); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p2); !errors.Is(err, ErrStalePlan) {
		t.Errorf("a plan made before another apply: %v", err)
	}
}

func TestWantStateCover(t *testing.T) {
	now := time.Now()
	bs := []*Block{
		{ID: "1", Rule: Rule{Action: Drop}, Expires: now.Add(time.Hour), Targets: []netip.Prefix{pfx("192.0.2.0/24"), pfx("192.0.2.7")}},
		{ID: "2", Rule: Rule{Action: Drop}, Expires: now.Add(2 * time.Hour), Targets: []netip.Prefix{pfx("192.0.2.128/25"), pfx("192.0.2.7"), pfx("198.51.100.0/24")}},
		{ID: "3", Rule: Rule{Action: Reject}, Expires: now.Add(time.Hour), Targets: []netip.Prefix{pfx("192.0.2.128/25")}},
	}
	st := wantState(bs, false)
	d := st.Rules["drop_all"].Elems
	if len(d) != 3 || !d[pfx("192.0.2.7")].Equal(now.Add(2*time.Hour)) {
		t.Errorf("drop_all = %v", d)
	}
	if _, ok := d[pfx("192.0.2.128/25")]; ok {
		t.Error("a prefix inside a wider one under the same rule must stay out of the interval set")
	}
	if len(st.Rules["rej_all"].Elems) != 1 {
		t.Errorf("another rule keeps its own prefix: %v", st.Rules["rej_all"].Elems)
	}
}

func TestJournalTornTail(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := context.Background()
	p, _ := e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.7")}})
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(e.Journal.Path(), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"v":1,"op":"block","id":"torn","targ`)
	f.Close()
	recs, _, err := e.Journal.Read()
	if err != nil || len(recs) != 1 {
		t.Fatalf("a torn tail: %d records, %v", len(recs), err)
	}
	p, _ = e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.8")}})
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if recs, _, err = e.Journal.Read(); err != nil || len(recs) != 2 {
		t.Errorf("after append over a torn tail: %d records, %v", len(recs), err)
	}
	fi, _ := os.Stat(e.Journal.Path())
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestFailedApplyCancelled(t *testing.T) {
	e := newTestEngine(t, nil)
	e.Backend = failing{e.Backend}
	ctx := context.Background()
	p, _ := e.Plan(ctx, Request{Targets: []netip.Prefix{pfx("192.0.2.7")}})
	if err := e.Apply(ctx, p); err == nil || !strings.Contains(err.Error(), "not active") {
		t.Fatalf("apply on a refusing firewall: %v", err)
	}
	if list, _ := e.List(ctx); len(list) != 0 {
		t.Errorf("a failed block is listed: %+v", list)
	}
}

type failing struct{ Backend }

func (failing) Exec(context.Context, Batch) error { return errors.New("Operation not permitted") }

func TestParseInstalled(t *testing.T) {
	now := goldenNow
	nftOut := `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "irtui", "handle": 1}},
{"set": {"family": "inet", "name": "drop_all_a4", "table": "irtui", "type": "ipv4_addr", "handle": 2, "flags": ["timeout"], "elem": [{"elem": {"val": "192.0.2.1", "timeout": 7200, "expires": 7199, "counter": {"packets": 3, "bytes": 180}}}]}},
{"set": {"family": "inet", "name": "drop_all_n6", "table": "irtui", "type": "ipv6_addr", "handle": 3, "flags": ["interval", "timeout"], "elem": [{"elem": {"val": {"prefix": {"addr": "2001:db8::", "len": 48}}, "timeout": 60, "expires": 59}}]}},
{"set": {"family": "inet", "name": "rl_0a0b0c0d_m4", "table": "irtui", "type": "ipv4_addr", "handle": 4, "size": 65535, "flags": ["timeout"], "timeout": 60}},
{"rule": {"family": "inet", "table": "irtui", "chain": "input", "handle": 5, "comment": "irtui drop_all a4 all", "expr": [{"counter": {"packets": 5, "bytes": 10}}, {"drop": null}]}}]}`
	inst, err := parseNFTInstalled([]byte(nftOut), now)
	if err != nil {
		t.Fatal(err)
	}
	if e := inst.Elems[ElemKey{"drop_all", pfx("192.0.2.1")}]; e.Packets != 3 || !e.Expires.Equal(now.Add(7199*time.Second)) {
		t.Errorf("nft element: %+v", e)
	}
	if _, ok := inst.Elems[ElemKey{"drop_all", pfx("2001:db8::/48")}]; !ok || !inst.Names["rl_0a0b0c0d_m4"] || inst.Rules["drop_all a4 all"].Handle != "5" {
		t.Errorf("nft: %+v", inst)
	}
	inst = newInstalled()
	parseIPTablesSave([]byte("*filter\n:INPUT ACCEPT [0:0]\n:IRTUI - [0:0]\n[4:240] -A INPUT -j IRTUI\n[7:700] -A IRTUI -m set --match-set irtui_drop_all_4 src -m comment --comment \"irtui drop_all 4 all\" -j DROP\nCOMMIT\n"), 4, inst)
	if !inst.Names["chain4"] || !inst.Names["jump4"] || inst.Rules["drop_all 4 all"].Packets != 7 {
		t.Errorf("iptables-save: %+v", inst)
	}
	if err := parseIPSetSave([]byte("create irtui_drop_all_4 hash:net family inet hashsize 1024 maxelem 1048576 timeout 3600 counters\nadd irtui_drop_all_4 198.51.100.0/24 timeout 599 packets 9 bytes 540\ncreate other hash:ip\nadd other 192.0.2.1\n"), now, inst); err != nil {
		t.Fatal(err)
	}
	if e := inst.Elems[ElemKey{"drop_all", pfx("198.51.100.0/24")}]; e.Packets != 9 || !e.Expires.Equal(now.Add(599*time.Second)) || inst.Names["other"] {
		t.Errorf("ipset save: %+v", inst)
	}
	inst = newInstalled()
	show := "   192.0.2.7\n\tCleared:     Sun Mar  1 12:00:00 2026\n\tIn/Block:    [ Packets: 12                 Bytes: 720                ]\n\tIn/Pass:     [ Packets: 0                  Bytes: 0                  ]\n   2001:db8::/48\n\tCleared:     Sun Mar  1 12:00:00 2026\n\tIn/Block:    [ Packets: 0                  Bytes: 0                  ]\n"
	if err := parsePFTableShow([]byte(show), "drop_all", inst); err != nil {
		t.Fatal(err)
	}
	parsePFLabels([]byte("irtui:drop_all:all 120 12 720 12 720 0 0 0\n"), inst)
	if inst.Elems[ElemKey{"drop_all", pfx("192.0.2.7")}].Packets != 12 || len(inst.Elems) != 2 || inst.Rules["drop_all all"].Packets != 12 {
		t.Errorf("pf: %+v", inst)
	}
}
