package block

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// bulkTargets returns n addresses of 2001:db8:b::/48 (outside the lab's
// networks) plus extra.
func bulkTargets(n int, extra ...netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range extra {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	for i := len(out); i < n; i++ {
		a := netip.MustParseAddr(fmt.Sprintf("2001:db8:b::%x:%x", i>>16, i&0xffff))
		out = append(out, netip.PrefixFrom(a, 128))
	}
	return out
}

func TestBulkBlockRendering(t *testing.T) {
	now := goldenNow
	small := &Block{ID: "b0101-000000-aaaaaa", Rule: Rule{Action: Drop}, Targets: bulkTargets(3), Expires: now.Add(time.Hour)}
	bulk := &Block{ID: "b0101-000000-bbbbbb", Rule: Rule{Action: Drop}, Targets: bulkTargets(BulkTargets), Expires: now.Add(2 * time.Hour)}
	want := wantState([]*Block{small, bulk}, true)
	if len(want.Rules) != 2 {
		t.Fatalf("rules = %d, want the shared one and the bulk block's own", len(want.Rules))
	}
	bid := ruleID(bulk, true)
	if !want.Rules[bid].Bulk || want.Rules["drop_all"].Bulk || len(want.Rules[bid].Elems) != BulkTargets || len(want.Rules["drop_all"].Elems) != 3 {
		t.Fatalf("bulk split wrong: %s", bid)
	}
	if len("irtui_"+bid+"_6") > 31 {
		t.Errorf("ipset name irtui_%s_6 is longer than ipset's 31 characters", bid)
	}
	b, err := (&NFT{}).Prepare(want, newInstalled(), now)
	if err != nil {
		t.Fatal(err)
	}
	text := b.Steps[0].Input
	for _, w := range []string{
		"add set inet irtui drop_all_a6 { type ipv6_addr; flags timeout; counter; }",
		"add set inet irtui " + bid + "_a6 { type ipv6_addr; flags timeout; timeout 7200s; }",
		"ip6 saddr @" + bid + "_a6 counter drop comment \"irtui " + bid + " a6 all\"",
		"\t2001:db8:b::0:0 timeout 3600s,", // the shared set's elements carry their own timeouts
	} {
		if !strings.Contains(text, strings.ReplaceAll(w, "::0:0", "::")) {
			t.Errorf("nft batch lacks %q", w)
		}
	}
	if strings.Contains(text, "2001:db8:b::3e7 timeout") {
		t.Errorf("a bulk element repeats its set's default timeout")
	}
	// Without the split (iptables, pf), one shared rule as before.
	if n := len(wantState([]*Block{small, bulk}, false).Rules); n != 1 {
		t.Errorf("unsplit rules = %d, want 1", n)
	}
}

// TestBulkBlock blocks BulkTargets addresses with nftables, the attacker's
// among them: it is dropped, the customer is not, and irtui blocks counts
// the block's packets with its rule's counter (its elements have none).
func TestBulkBlock(t *testing.T) {
	needFirewall(t, "nft")
	l := newLab(t)
	e := l.engine(t, "nft")
	ctx := context.Background()
	p, err := e.Plan(ctx, Request{Targets: bulkTargets(BulkTargets, l.att6[0]), Rule: Rule{Action: Drop}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	small := mustBlock(t, e, Rule{Action: Drop}, time.Hour, l.att4[0].String())
	expectBlocked(t, l.att, l.att6[0], l.srvAtt6, 80)
	expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
	expectOpen(t, l.att, l.att6[1], l.srvAtt6, 80)
	expectOpen(t, l.cust, l.cust6, l.srvCust6, 80)
	list, err := e.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Active{}
	for _, a := range list {
		got[a.ID] = a
	}
	if a := got[p.Block.ID]; a.Packets == 0 || a.Missing != 0 || len(a.Targets) != BulkTargets {
		t.Errorf("bulk block listed as %+v, want its packets counted and nothing missing", a)
	}
	if a := got[small.Block.ID]; a.Packets == 0 || a.Missing != 0 {
		t.Errorf("small block listed as %+v, want its packets counted", a)
	}
	if _, err := e.Unblock(ctx, p.Block.ID); err != nil {
		t.Fatal(err)
	}
	expectOpen(t, l.att, l.att6[0], l.srvAtt6, 80)
	expectBlocked(t, l.att, l.att4[0], l.srvAtt4, 80)
	out := run(t, "ip", "netns", "exec", l.srv, "nft", "list", "table", "inet", "irtui")
	if strings.Contains(out, ruleID(p.Block, true)) {
		t.Errorf("the bulk block's set or rule outlived its unblock:\n%s", out)
	}
}
