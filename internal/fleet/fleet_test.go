package fleet

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/logs/remote"
)

func TestNames(t *testing.T) {
	got := Names([]string{"ssh://web1/var/log/nginx/access.log", "ssh://deploy@web1:2222/var/log/mail.log", "/var/log/local.log", "ssh://[2001:db8::5]/x"},
		"http://lapi.example.org:8080/", []string{"mail1", "web1"})
	if want := []string{"web1", "2001:db8::5", "lapi.example.org", "mail1"}; !slices.Equal(got, want) {
		t.Fatalf("Names = %q, want %q", got, want)
	}
	if got := Names(nil, "http://127.0.0.1:8080", nil); len(got) != 0 {
		t.Fatalf("a loopback LAPI is not a fleet host: %q", got)
	}
}

func TestResolveAndProtect(t *testing.T) {
	lookup := func(ctx context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "web2.example.org":
			return []netip.Addr{netip.MustParseAddr("198.51.100.12"), netip.MustParseAddr("::ffff:198.51.100.13")}, nil
		}
		return nil, errors.New("no such host")
	}
	hosts, err := Resolve(context.Background(), []string{"192.0.2.11", "web2.example.org"}, []string{"-F", "/dev/null"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[1].Addrs[1] != netip.MustParseAddr("198.51.100.13") {
		t.Fatalf("hosts: %+v", hosts)
	}
	g, err := block.NewGuard(block.GuardOptions{Env: func(string) string { return "" }, OwnAddrs: func() ([]netip.Prefix, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := Protect(g, hosts); err != nil {
		t.Fatal(err)
	}
	err = g.Check([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")})
	var re *block.RefusedError
	if !errors.As(err, &re) || len(re.Refusals) != 1 || !strings.Contains(err.Error(), "fleet host web2.example.org") {
		t.Fatalf("guard: %v", err)
	}
	if err := g.Check([]netip.Prefix{netip.MustParsePrefix("192.0.2.11/32")}); err == nil || !strings.Contains(err.Error(), "a fleet host") {
		t.Fatalf("guard on a literal host: %v", err)
	}
	// An unresolvable host is an error that says what to do.
	_, err = Resolve(context.Background(), []string{"nohost.invalid"}, []string{"-F", "/dev/null"}, lookup)
	if err == nil || !strings.Contains(err.Error(), "--fleet-host ADDRESS") {
		t.Fatalf("unresolvable: %v", err)
	}
}

func TestHealth(t *testing.T) {
	a, _ := remote.New("ssh://web1/var/log/a", remote.Options{})
	b, _ := remote.New("ssh://web1/var/log/b", remote.Options{})
	c, _ := remote.New("ssh://mail1/var/log/mail.log", remote.Options{})
	h := Health([]*remote.Source{c, a, b})
	if len(h) != 2 || h[0].Host != "mail1" || h[1].Host != "web1" || h[1].Sources != 2 || h[1].Up() {
		t.Fatalf("health: %+v", h)
	}
}
