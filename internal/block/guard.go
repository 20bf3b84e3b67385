package block

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// Protected is a network the planner never blocks, with the reason shown
// when a target would cover it.
type Protected struct {
	Prefix netip.Prefix
	Reason string // "the SSH client of this session (SSH_CLIENT)", "loopback", …
}

// Guard refuses targets that would lock the operator out or cut the host off.
type Guard struct {
	Protected []Protected
}

// GuardOptions says where the guard learns what to protect.
type GuardOptions struct {
	// Env looks up environment variables (SSH_CLIENT, SSH_CONNECTION);
	// os.Getenv when nil.
	Env func(string) string
	// OwnAddrs lists this host's addresses; the addresses of every
	// interface (net.InterfaceAddrs) when nil.
	OwnAddrs func() ([]netip.Prefix, error)
	// Allow is the operator's allowlist (config file and flags).
	Allow []netip.Prefix
}

// NewGuard builds the guard: the SSH client of this session, loopback,
// link-local, this host's own addresses and the allowlist.
func NewGuard(o GuardOptions) (*Guard, error) {
	env := o.Env
	if env == nil {
		env = os.Getenv
	}
	g := &Guard{}
	add := func(p netip.Prefix, reason string) {
		g.Protected = append(g.Protected, Protected{Prefix: NormalizePrefix(p), Reason: reason})
	}
	for _, name := range []string{"SSH_CLIENT", "SSH_CONNECTION"} {
		v := env(name)
		if f := strings.Fields(v); len(f) > 0 {
			if a, err := netip.ParseAddr(f[0]); err == nil {
				a = a.WithZone("").Unmap()
				add(netip.PrefixFrom(a, a.BitLen()), "the SSH client of this session ("+name+")")
			}
		}
	}
	add(netip.MustParsePrefix("127.0.0.0/8"), "loopback")
	add(netip.MustParsePrefix("::1/128"), "loopback")
	add(netip.MustParsePrefix("169.254.0.0/16"), "link-local")
	add(netip.MustParsePrefix("fe80::/10"), "link-local")
	add(netip.MustParsePrefix("0.0.0.0/32"), "the unspecified address")
	add(netip.MustParsePrefix("::/128"), "the unspecified address")
	own := o.OwnAddrs
	if own == nil {
		own = InterfaceAddrs
	}
	addrs, err := own()
	if err != nil {
		return nil, fmt.Errorf("cannot list this host's addresses to protect them: %w", err)
	}
	for _, p := range addrs {
		a := p.Addr().WithZone("").Unmap()
		add(netip.PrefixFrom(a, a.BitLen()), "an address of this host")
	}
	for _, p := range o.Allow {
		add(p, "the allowlist")
	}
	return g, nil
}

// InterfaceAddrs returns the addresses of this host's interfaces.
func InterfaceAddrs() ([]netip.Prefix, error) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, ia := range ifaddrs {
		if n, ok := ia.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(n.IP); ok {
				a = a.Unmap()
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return out, nil
}

// Refusal is one target the guard refused.
type Refusal struct {
	Target    netip.Prefix
	Protected Protected
}

// RefusedError lists every refused target; nothing of the request is applied.
type RefusedError struct {
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("refused, nothing applied: ")
	for i, r := range e.Refusals {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Refusals)-5)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if r.Protected.Prefix.IsSingleIP() {
			fmt.Fprintf(&b, "blocking %s would cut %s, %s", r.Target, r.Protected.Prefix.Addr(), r.Protected.Reason)
		} else {
			fmt.Fprintf(&b, "blocking %s would cut %s, %s", r.Target, r.Protected.Prefix, r.Protected.Reason)
		}
	}
	b.WriteString(" (remove those targets, or block narrower prefixes that leave them out)")
	return b.String()
}

// Check returns a *RefusedError naming every target that overlaps a
// protected network: a wider target would cover it, a narrower one would cut
// part of it.
func (g *Guard) Check(targets []netip.Prefix) error {
	var refused []Refusal
	for _, t := range targets {
		t = NormalizePrefix(t)
		for _, p := range g.Protected {
			if t.Overlaps(p.Prefix) {
				refused = append(refused, Refusal{Target: t, Protected: p})
				break
			}
		}
	}
	if len(refused) > 0 {
		return &RefusedError{Refusals: refused}
	}
	return nil
}

// ReadAllowlist reads an allowlist file: one address or prefix per line, #
// comments. A missing file is an empty allowlist.
func ReadAllowlist(path string) ([]netip.Prefix, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the allowlist: %w", err)
	}
	defer f.Close()
	out, err := ParseTargets(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("allowlist %s: %w", path, err)
	}
	return out, nil
}
