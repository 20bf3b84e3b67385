// Package fleet is the glue for several hosts watched from one console:
// which hosts make up the fleet (the hosts of ssh:// sources, the CrowdSec
// LAPI, and any named by the operator), their addresses, the safety rule
// that no block may cut one of them, and each host's health for the
// console.
package fleet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/logs/remote"
	"github.com/irtui/irtui/internal/sanitize"
)

// Host is one host of the fleet and the addresses it is known by.
type Host struct {
	Name  string
	Addrs []netip.Addr
}

// Resolver finds the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// DefaultResolver asks the system resolver.
func DefaultResolver(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Names gathers the fleet's host names: the hosts of ssh:// sources, the
// host of the LAPI URL (may be empty) and extra names, without duplicates.
// Loopback LAPIs are left out: the guard protects loopback anyway.
func Names(sources []string, lapiURL string, extra []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(h string) {
		h = strings.TrimSpace(h)
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, s := range sources {
		if !remote.IsURL(s) {
			continue
		}
		if u, err := remote.ParseURL(s); err == nil {
			add(u.Host)
		}
	}
	if lapiURL != "" {
		if u, err := url.Parse(lapiURL); err == nil {
			if h := u.Hostname(); h != "localhost" {
				if a, err := netip.ParseAddr(h); err != nil || !a.IsLoopback() {
					add(h)
				}
			}
		}
	}
	for _, e := range extra {
		add(e)
	}
	return out
}

// Resolve finds each host's addresses. A literal address is itself; a
// name is first read through `ssh -G` (so ~/.ssh/config aliases and their
// HostName apply, with sshArgs such as -F FILE), then resolved. A host
// that cannot be resolved is an error: a fleet host the guard cannot
// protect could be cut off by a block.
func Resolve(ctx context.Context, names []string, sshArgs []string, lookup Resolver) ([]Host, error) {
	if lookup == nil {
		lookup = DefaultResolver
	}
	var out []Host
	var errs []string
	for _, n := range names {
		if a, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
			out = append(out, Host{Name: n, Addrs: []netip.Addr{a.WithZone("").Unmap()}})
			continue
		}
		real := sshHostName(ctx, n, sshArgs)
		if a, err := netip.ParseAddr(real); err == nil {
			out = append(out, Host{Name: n, Addrs: []netip.Addr{a.WithZone("").Unmap()}})
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		addrs, err := lookup(lctx, real)
		cancel()
		if err != nil || len(addrs) == 0 {
			errs = append(errs, fmt.Sprintf("%s: %v", sanitize.Truncate(n, 80), err))
			continue
		}
		h := Host{Name: n}
		for _, a := range addrs {
			h.Addrs = append(h.Addrs, a.WithZone("").Unmap())
		}
		out = append(out, h)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("cannot find the addresses of fleet host(s) %s; give them as --fleet-host ADDRESS so no block can cut them off", strings.Join(errs, "; "))
	}
	return out, nil
}

// sshHostName asks ssh what it would connect to for name (its HostName
// after ~/.ssh/config); name itself when ssh cannot say.
func sshHostName(ctx context.Context, name string, sshArgs []string) string {
	if name == "" || name[0] == '-' {
		return name
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	args := append(append([]string{}, sshArgs...), "-G", "--", name)
	out, err := exec.CommandContext(ctx, "ssh", args...).Output()
	if err != nil {
		return name
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "hostname "); ok {
			return strings.TrimSpace(v)
		}
	}
	return name
}

// Protect adds every fleet host's addresses to the guard, each refusal
// naming the host: no block, from any backend, may cut a host of the
// fleet off.
func Protect(g *block.Guard, hosts []Host) error {
	if g == nil {
		return errors.New("no guard to protect the fleet with")
	}
	for _, h := range hosts {
		for _, a := range h.Addrs {
			reason := "fleet host " + sanitize.Truncate(h.Name, 80)
			if h.Name == a.String() {
				reason = "a fleet host"
			}
			g.Protected = append(g.Protected, block.Protected{Prefix: netip.PrefixFrom(a, a.BitLen()), Reason: reason})
		}
	}
	return nil
}

// HostHealth sums the remote sources of one host for the console.
type HostHealth struct {
	Host       string
	Sources    int
	Connected  int // sources whose link is up
	Lines      int64
	Reconnects int64
	LastError  string // the most recent source error (sanitized)
	Since      time.Time
}

// Up reports whether every source of the host is connected.
func (h HostHealth) Up() bool { return h.Sources > 0 && h.Connected == h.Sources }

// Health groups the sources' health by host, sorted by host name.
func Health(srcs []*remote.Source) []HostHealth {
	by := map[string]*HostHealth{}
	for _, s := range srcs {
		h := s.Health()
		hh := by[h.Host]
		if hh == nil {
			hh = &HostHealth{Host: h.Host}
			by[h.Host] = hh
		}
		hh.Sources++
		if h.Connected {
			hh.Connected++
		}
		hh.Lines += h.Lines
		hh.Reconnects += h.Reconnects
		if h.LastError != "" && (hh.LastError == "" || h.Since.After(hh.Since)) {
			hh.LastError = h.LastError
		}
		if h.Since.After(hh.Since) {
			hh.Since = h.Since
		}
	}
	out := make([]HostHealth, 0, len(by))
	for _, h := range by {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}
