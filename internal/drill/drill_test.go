package drill

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScenariosLoad(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accidental-dos", "relay-abused", "open-resolver", "smtp-auth-bruteforce", "backscatter", "botnet-many-ases"}
	if len(all) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(all), len(want))
	}
	for i, s := range all {
		if s.Name != want[i] {
			t.Errorf("scenario %d is %q, want %q", i, s.Name, want[i])
		}
	}
}

func TestScenarioChecks(t *testing.T) {
	_, err := ParseScenario("x.yaml", []byte("name: x\ntitle: X\nduration: 1m\nattack_start: 2m\n"))
	if err == nil || !strings.Contains(err.Error(), "attack_start") {
		t.Fatalf("bad timing accepted: %v", err)
	}
	_, err = ParseScenario("x.yaml", []byte("name: x\ntitle: X\nduration: 2m\nattack_start: 1m\nnetworks: [{asn: 1, prefixes: [192.0.2.0/24]}]\ntraffic: [{name: a, role: attack, kind: web, what: dance, rate: 1, networks: [1]}]\n"))
	if err == nil || !strings.Contains(err.Error(), "web/dance") {
		t.Fatalf("unknown traffic accepted: %v", err)
	}
}

func TestGeneratorWritesAndHonoursBlocks(t *testing.T) {
	t.Parallel()
	s, err := Find("accidental-dos")
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = s.AttackStart + 20*time.Second
	dir := t.TempDir()
	g := NewGenerator(s, dir, 40, 1)
	if err := g.Prepare(time.Now()); err != nil {
		t.Fatal(err)
	}
	attackers := map[netip.Addr]bool{}
	for _, a := range g.Attackers() {
		attackers[a] = true
	}
	// Block every attack network on the web ports once the attack is 5 s old.
	at := g.AttackStart().Add(5 * time.Second)
	for _, n := range s.Networks {
		if n.ASN >= 64510 {
			for _, p := range n.Prefixes {
				g.AddBlock(Block{Prefix: netip.MustParsePrefix(p), Ports: []string{"tcp/80", "tcp/443"}, Action: "drop", At: at})
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	c := g.Counts()
	if c.Attack == 0 || c.Benign == 0 || c.AttackAfter == 0 {
		t.Fatalf("counts %+v", c)
	}
	sc := NewScore(s, c, g.AttackStart().Add(3*time.Second), 3, 1)
	// The web flood is stopped; the small mail part on port 25 is not.
	if sc.AttackStopped < 0.9 || sc.AttackStopped > 0.99 || sc.Collateral != 0 {
		t.Fatalf("score %+v from %+v", sc, c)
	}
	if *sc.DetectedAfterS != 3 || *sc.BlockedAfterS != 5 {
		t.Fatalf("times %v %v", *sc.DetectedAfterS, *sc.BlockedAfterS)
	}
	data, _ := os.ReadFile(filepath.Join(dir, AccessLog))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 1000 {
		t.Fatalf("only %d access lines", len(lines))
	}
	// Once blocked, no attack line after the block time reaches the log.
	for _, l := range lines {
		src, _, _ := strings.Cut(l, " ")
		a := netip.MustParseAddr(src)
		ts := l[strings.IndexByte(l, '[')+1 : strings.IndexByte(l, ']')]
		when, err := time.Parse("02/Jan/2006:15:04:05 -0700", ts)
		if err != nil {
			t.Fatal(err)
		}
		if attackers[a] && when.After(at.Add(time.Second)) {
			t.Fatalf("blocked attacker %s still logged at %s: %s", a, when, l)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ASTable)); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimitLetsSlowClientsThrough(t *testing.T) {
	s, _ := Find("smtp-auth-bruteforce")
	g := NewGenerator(s, t.TempDir(), 1, 2)
	g.Prepare(time.Now())
	at := g.AttackStart()
	g.AddBlock(Block{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Action: "ratelimit", PerSecond: 1, At: at})
	st := &stream{Stream: Stream{Role: "benign"}, port: "tcp/25"}
	fast := &stream{Stream: Stream{Role: "attack"}, port: "tcp/25"}
	slow, quick := netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("198.18.128.9")
	passedSlow, passedFast := 0, 0
	for i := 0; i < 100; i++ {
		if g.admit(st, slow, at.Add(time.Duration(i)*2*time.Second)) {
			passedSlow++
		}
		if g.admit(fast, quick, at.Add(time.Duration(i)*50*time.Millisecond)) {
			passedFast++
		}
	}
	if passedSlow != 100 || passedFast > 10 {
		t.Fatalf("slow passed %d/100, fast passed %d/100", passedSlow, passedFast)
	}
}

func TestASTable(t *testing.T) {
	s, _ := Find("accidental-dos")
	tbl := string(s.ASTable())
	if !strings.Contains(tbl, "198.18.0.0\t198.18.3.255\t64510\tBR\tEXAMPLE-CABLE-ONE\n") ||
		!strings.Contains(tbl, "2001:db8:100::\t2001:db8:100:ffff:ffff:ffff:ffff:ffff\t64496") {
		t.Fatalf("table:\n%s", tbl)
	}
}
