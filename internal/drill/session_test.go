package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/testkit"
)

// TestAutopilotScores plays every scenario with its recommended playbook
// and checks the score the issue asks for: detected within 10 s of the
// attack's start, at least 90 % of the attack stopped, at most 1 % of
// legitimate traffic cut, and steps done.
func TestAutopilotScores(t *testing.T) {
	t.Parallel()
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	// The drills run at once (not as parallel subtests, which -parallel
	// would queue two at a time on a small machine), then each is checked.
	type result struct {
		score Score
		s     *Session
		err   error
	}
	results := make([]result, len(all))
	var wg sync.WaitGroup
	for i, sc := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			score, s, err := RunHeadless(ctx, sc, Options{Speed: 4, Seed: 7, TempDir: t.TempDir(), Keep: true}, true)
			results[i] = result{score, s, err}
		}()
	}
	wg.Wait()
	for i, sc := range all {
		t.Run(sc.Name, func(t *testing.T) {
			score, s, err := results[i].score, results[i].s, results[i].err
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(score)
			t.Logf("%s", js)
			if r := s.Run(); r != nil {
				for _, st := range r.Steps {
					t.Logf("  %s %s: %.160s", st.ID, st.Status, st.Result)
				}
			}
			if score.DetectedAfterS == nil || *score.DetectedAfterS < 0 || *score.DetectedAfterS > 10 {
				t.Errorf("detected after %v s, want within 10 s", ptrString(score.DetectedAfterS))
			}
			if score.BlockedAfterS == nil {
				t.Errorf("nothing was blocked")
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
			entries, err := s.Timeline.Entries()
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, e := range entries {
				kinds[e.Kind]++
			}
			if kinds[playbook.EventFinding] == 0 || kinds[playbook.EventBlock] == 0 || kinds[playbook.EventStep] == 0 {
				t.Errorf("timeline lacks findings, blocks or steps: %v", kinds)
			}
		})
	}
}

func ptrString(p *float64) string {
	if p == nil {
		return "never"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

// TestBotnetReport checks the job ends with the list for the ISPs: the
// abuse report lists the attacking ASes in order, each with its contact,
// and only attackers.
func TestBotnetReport(t *testing.T) {
	t.Parallel()
	sc, _ := Find("botnet-many-ases")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, s, err := RunHeadless(ctx, sc, Options{Speed: 10, Seed: 3, TempDir: t.TempDir(), Keep: true}, true)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.ReportPath("text"))
	if err != nil {
		t.Fatalf("no abuse report: %v", err)
	}
	report := string(data)
	attackers := map[netip.Addr]bool{}
	for _, a := range s.Generator.Attackers() {
		attackers[a] = true
	}
	var ases []int
	for _, l := range strings.Split(report, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 {
			if a, err := netip.ParseAddr(f[0]); err == nil && !attackers[a] {
				t.Errorf("report lists %s, which did not attack", a)
			}
		}
		if strings.HasPrefix(l, "== AS") {
			var n int
			fmt.Sscanf(l, "== AS%d", &n)
			ases = append(ases, n)
		}
	}
	if len(ases) != 6 || !sort.IntsAreSorted(ases) || ases[0] != 64560 {
		t.Fatalf("report sections by AS: %v\n%s", ases, report)
	}
	for _, n := range ases {
		if !strings.Contains(report, fmt.Sprintf("Abuse contacts: abuse@as%d.example", n)) {
			t.Errorf("no abuse contact for AS%d", n)
		}
	}
	if got := strings.Count(report, "\n  198.18.") + strings.Count(report, "\n  2001:db8:"); got < len(attackers)*3/4 {
		t.Errorf("report lists %d addresses of %d attackers", got, len(attackers))
	}
}

// TestSandbox runs a drill with real nftables in a namespace the session
// creates: the rules land there, the real firewall is untouched and the
// namespace is gone afterwards.
func TestSandbox(t *testing.T) {
	t.Parallel()
	testkit.NeedRoot(t)
	testkit.NeedTool(t, "ip", "iproute2")
	testkit.NeedTool(t, "nft", "nftables")
	before, err := exec.Command("nft", "list", "ruleset").Output()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := Find("smtp-auth-bruteforce")
	s, err := NewSession(sc, Options{Speed: 10, Seed: 11, Sandbox: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Mode() != ModeSandbox || !strings.HasPrefix(s.Namespace, "irtui-drill-") {
		t.Fatalf("mode %s namespace %q", s.Mode(), s.Namespace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Autopilot(ctx); err != nil {
		t.Fatal(err)
	}
	inside, err := exec.Command("ip", "netns", "exec", s.Namespace, "nft", "list", "table", "inet", "irtui").CombinedOutput()
	if err != nil {
		t.Fatalf("irtui's table is not in the sandbox: %v: %s", err, inside)
	}
	blocked := 0
	for _, b := range s.Generator.Blocks() {
		a := b.Prefix.Addr().String()
		if b.Prefix.Addr().Is4() && bytes.Contains(inside, []byte(a)) {
			blocked++
		}
	}
	if blocked == 0 {
		t.Fatalf("none of the blocks is in the sandbox's rules:\n%s", inside)
	}
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	score := s.Score()
	if score.AttackStopped < 0.9 || score.Collateral > 0.01 {
		t.Errorf("score %+v", score)
	}
	ns := s.Namespace
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	list, _ := exec.Command("ip", "netns", "list").Output()
	if bytes.Contains(list, []byte(ns)) {
		t.Errorf("namespace %s left behind", ns)
	}
	after, err := exec.Command("nft", "list", "ruleset").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the real firewall changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestSessionRemovesItsDirectory checks Close cleans up unless Keep.
func TestSessionRemovesItsDirectory(t *testing.T) {
	sc, _ := Find("backscatter")
	parent := t.TempDir()
	s, err := NewSession(sc, Options{Speed: 50, TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode() != ModeDryRun {
		t.Fatalf("mode %s", s.Mode())
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(s.Files(), s.ASTablePath()) {
		if st, err := os.Stat(f); err != nil || (filepath.Base(f) == AccessLog && st.Size() == 0) {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there: %v", s.Dir, err)
	}
}

// TestConsoleBlocksReachTheGenerator drives the engine as the console
// does (plan, apply, unblock) and checks the generator follows.
func TestConsoleBlocksReachTheGenerator(t *testing.T) {
	sc, _ := Find("accidental-dos")
	s, err := NewSession(sc, Options{Speed: 1, TempDir: t.TempDir(), NoIngest: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req, err := blockRequest(playbook.BlockRequest{Targets: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/22")}, Action: "ratelimit", Rate: "10/minute", Ports: []string{"tcp/443"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Engine.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	bs := s.Generator.Blocks()
	if len(bs) != 1 || bs[0].Action != "ratelimit" || bs[0].Prefix.String() != "198.18.0.0/22" ||
		bs[0].PerSecond != 10.0/60 || bs[0].Burst != 10 || strings.Join(bs[0].Ports, ",") != "tcp/443" {
		t.Fatalf("generator blocks %+v", bs)
	}
	if _, err := s.Engine.Unblock(ctx, "198.18.0.0/22"); err != nil {
		t.Fatal(err)
	}
	if bs := s.Generator.Blocks(); len(bs) != 0 {
		t.Fatalf("unblocked, but the generator still has %+v", bs)
	}
	if c := s.Generator.Counts(); c.FirstBlock.IsZero() {
		t.Fatal("first block time lost")
	}
	// The guard still protects the host in a drill.
	if _, err := s.Engine.Plan(ctx, blockReq(t, "127.0.0.1")); err == nil {
		t.Fatal("loopback was not refused")
	}
}

func blockReq(t *testing.T, target string) block.Request {
	t.Helper()
	req, err := blockRequest(playbook.BlockRequest{Targets: []netip.Prefix{netip.MustParsePrefix(target + "/32")}, Action: "drop"})
	if err != nil {
		t.Fatal(err)
	}
	return req
}
