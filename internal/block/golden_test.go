package block

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var goldenNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// goldenBlocks: an address and a prefix dropped everywhere, a web flood
// rate-limited on tcp/80,443, a mail abuser rejected on tcp/25 and udp/53.
func goldenBlocks() []*Block {
	mk := func(id string, rule Rule, ttl time.Duration, targets ...string) *Block {
		b := &Block{ID: id, Rule: rule, TTL: ttl, Created: goldenNow, Expires: goldenNow.Add(ttl), Backend: "test"}
		for _, s := range targets {
			b.Targets = append(b.Targets, pfx(s))
		}
		if err := b.Rule.Validate(); err != nil {
			panic(err)
		}
		return b
	}
	return []*Block{
		mk("b1", Rule{Action: Drop}, time.Hour, "192.0.2.7", "198.51.100.0/24", "2001:db8:bad::1", "2001:db8:bad::/48"),
		mk("b2", Rule{Action: RateLimit, Rate: Rate{Count: 10, Per: time.Second, Burst: 20},
			Scope: []PortRange{{"tcp", 80, 80}, {"tcp", 443, 443}}}, 6*time.Hour, "203.0.113.0/24", "2001:db8:5::/64"),
		mk("b3", Rule{Action: Reject, Scope: []PortRange{{"tcp", 25, 25}, {"udp", 53, 53}, {"tcp", 8000, 8100}}}, 30*time.Minute, "192.0.2.99"),
	}
}

func TestGoldenRules(t *testing.T) {
	want := wantState(goldenBlocks(), false)
	for _, be := range []Backend{&NFT{}, &IPTables{}, &PF{}, &DryRun{}} {
		t.Run(be.Name(), func(t *testing.T) {
			// From nothing: create everything.
			b, err := be.Prepare(want, newInstalled(), goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, be.Name()+"-create", b.Text())

			// Incremental: the firewall holds b1 with the first address about
			// to lapse and a leftover address; b3 was unblocked.
			have := newInstalled()
			have.Present = true
			d1 := wantState(goldenBlocks()[:1], false)
			for id, rs := range d1.Rules {
				for p, exp := range rs.Elems {
					have.Elems[ElemKey{id, p}] = ElemState{Expires: exp}
				}
			}
			have.Elems[ElemKey{"drop_all", pfx("192.0.2.7")}] = ElemState{Expires: goldenNow.Add(time.Minute)}
			have.Elems[ElemKey{"drop_all", pfx("192.0.2.200")}] = ElemState{Expires: goldenNow.Add(time.Minute)}
			switch be.(type) {
			case *NFT:
				for _, n := range []string{"drop_all_a4", "drop_all_n4", "drop_all_a6", "drop_all_n6"} {
					have.Names[n] = true
				}
				have.Rules["drop_all a4 all"] = InstalledRule{Handle: "4", Packets: 17, Bytes: 1020}
				have.Rules["drop_all n4 all"] = InstalledRule{Handle: "5"}
				have.Rules["drop_all a6 all"] = InstalledRule{Handle: "6"}
				have.Rules["drop_all n6 all"] = InstalledRule{Handle: "7"}
				have.Rules["rej_1a2b3c4d a4 tcp"] = InstalledRule{Handle: "9"}
				have.Names["rej_1a2b3c4d_a4"] = true
			case *IPTables:
				for _, n := range []string{"irtui_drop_all_4", "irtui_drop_all_6", "chain4", "jump4", "chain6", "jump6", "irtui_rej_1a2b3c4d_4"} {
					have.Names[n] = true
				}
				have.Rules["drop_all 4 all"] = InstalledRule{Packets: 17, Bytes: 1020}
				have.Rules["drop_all 6 all"] = InstalledRule{}
				have.Rules["rej_1a2b3c4d 4 tcp"] = InstalledRule{}
			case *PF:
				have.Names["irtui_drop_all"] = true
				have.Names["irtui_rej_1a2b3c4d"] = true
				have.Rules["drop_all all"] = InstalledRule{}
			}
			inc := wantState(goldenBlocks()[:2], false)
			b, err = be.Prepare(inc, have, goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, be.Name()+"-incremental", b.Text())

			// The panic button.
			b, err = be.Prepare(&State{}, have, goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, be.Name()+"-remove-all", b.Text())
		})
	}
}

func TestPFRateLimitUDPRefused(t *testing.T) {
	b := &Block{ID: "x", Rule: Rule{Action: RateLimit, Rate: Rate{Count: 1, Per: time.Second}, Scope: []PortRange{{"udp", 53, 53}}},
		Targets: []netip.Prefix{pfx("192.0.2.1")}, Expires: goldenNow.Add(time.Hour)}
	if _, err := (&PF{}).Prepare(wantState([]*Block{b}, false), newInstalled(), goldenNow); err == nil {
		t.Error("pf cannot rate-limit udp; Prepare should refuse")
	}
}
