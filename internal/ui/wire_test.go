package ui

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block"
)

// dryRunEngine is the real block engine on the dry-run backend, with the
// operator's SSH client at 198.51.100.7.
func dryRunEngine(t *testing.T) *block.Engine {
	t.Helper()
	be, err := block.NewBackend("dry-run", block.Runner{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := block.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SSH_CLIENT": "198.51.100.7 50000 22"}
	g, err := block.NewGuard(block.GuardOptions{
		Env:      func(k string) string { return env[k] },
		OwnAddrs: func() ([]netip.Prefix, error) { return []netip.Prefix{pfx("192.0.2.1/32")}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &block.Engine{Backend: be, Journal: j, Guard: g}
}

func TestBlockEngineAdapter(t *testing.T) {
	ctx := context.Background()
	b := BlockEngine(dryRunEngine(t))
	req := BlockRequest{Targets: []netip.Prefix{pfx("203.0.113.0/24"), pfx("198.51.100.7/32")}, Ports: []string{"tcp/80", "tcp/443"},
		Action: ActionDrop, TTL: time.Hour, Reason: "test flood"}
	p, err := b.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Refused) != 1 || p.Refused[0].Target != pfx("198.51.100.7/32") || !strings.Contains(p.Refused[0].Reason, "SSH") {
		t.Fatalf("refusals %+v", p.Refused)
	}
	if !strings.Contains(p.Rules, "203.0.113.0/24") || strings.Contains(p.Rules, "198.51.100.7") {
		t.Fatalf("rules text:\n%s", p.Rules)
	}
	if err := b.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	l, err := b.List(ctx)
	if err != nil || len(l) != 1 {
		t.Fatalf("list %v %v", l, err)
	}
	if l[0].Target != "203.0.113.0/24" || l[0].Reason != "test flood" || l[0].Expires.IsZero() || !strings.Contains(l[0].Ports, "80") {
		t.Fatalf("active block %+v", l[0])
	}
	if err := b.Unblock(ctx, l[0].ID); err != nil {
		t.Fatal(err)
	}
	if l, _ := b.List(ctx); len(l) != 0 {
		t.Fatalf("after unblock: %v", l)
	}

	// every target refused: a plan with nothing to apply, and Apply says so
	all, err := b.Plan(ctx, BlockRequest{Targets: []netip.Prefix{pfx("198.51.100.7/32")}, Action: ActionReject, TTL: time.Hour})
	if err != nil || len(all.Refused) != 1 || all.Handle != nil {
		t.Fatalf("all refused: %+v %v", all, err)
	}
	if err := b.Apply(ctx, all); err == nil {
		t.Fatal("applied a fully refused plan")
	}

	for _, a := range []Action{ActionReject, ActionRateLimit} {
		p, err := b.Plan(ctx, BlockRequest{Targets: []netip.Prefix{pfx("2001:db8::/48")}, Action: a, TTL: 15 * time.Minute})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if err := b.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.UnblockAll(ctx)
	if err != nil || n != 2 {
		t.Fatalf("unblock all: %d %v", n, err)
	}
}

func TestAbuseReportFile(t *testing.T) {
	s := fakeSnapshot()
	path := filepath.Join(t.TempDir(), "sub", "abuse-report.md")
	r := &AbuseReport{Path: path, Snapshot: func() *analyze.Snapshot { return s }}
	if err := r.Add(context.Background(), []netip.Prefix{pfx("203.0.113.0/24")}, "flood"); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(context.Background(), []netip.Prefix{pfx("192.0.2.99/32"), pfx("203.0.113.10/32")}, "again"); err != nil {
		t.Fatal(err)
	}
	if r.Rows() != 4 {
		t.Fatalf("%d rows", r.Rows())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"AS64500", "203.0.113.10", "203.0.113.12", "192.0.2.99", "GET /img/hero.jpg"} {
		if !strings.Contains(text, want) {
			t.Fatalf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") {
		t.Fatal("an escape sequence reached the report")
	}
}
