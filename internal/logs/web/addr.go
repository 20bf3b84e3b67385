package web

import (
	"net/netip"
	"strings"
)

// parseAddr parses a client address as logged: IPv4, IPv6, IPv6 in
// brackets, with a zone (dropped). IPv4-mapped IPv6 addresses are unmapped
// so that one client is one address whichever socket it came through.
func parseAddr(s string) (netip.Addr, bool) {
	if a, ok := parseIPv4(s); ok {
		return a, true
	}
	if len(s) == 0 || len(s) > 64 {
		return netip.Addr{}, false
	}
	if s[0] == '[' {
		if s[len(s)-1] != ']' {
			return netip.Addr{}, false
		}
		s = s[1 : len(s)-1]
	}
	if s == "" || !addrStart(s[0]) {
		return netip.Addr{}, false
	}
	// A zone would make netip allocate, and it means nothing off this host.
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 parses a dotted-quad IPv4 address by netip.ParseAddr's rules
// (four fields of 0-255, no leading zeros) in one pass, for the nine lines
// in ten whose client is one; false sends anything else to netip.
func parseIPv4(s string) (netip.Addr, bool) {
	var f [4]byte
	i := 0
	for k := range f {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) || !digit(s[i]) {
			return netip.Addr{}, false
		}
		v := int(s[i] - '0')
		i++
		for n := 1; v != 0 && n < 3 && i < len(s) && digit(s[i]); n++ {
			v = v*10 + int(s[i]-'0')
			i++
		}
		// A digit left over is a leading zero or a fourth digit.
		if v > 255 || i < len(s) && digit(s[i]) {
			return netip.Addr{}, false
		}
		f[k] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(f), true
}

// addrStart reports whether c can begin an IP address literal; it lets the
// scanner skip "-" and names without calling into netip.
func addrStart(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':'
}

// parseAddrPort parses an address that may carry a port: "1.2.3.4:5678",
// "[2001:db8::1]:443", or Apache 2.4's unbracketed "2001:db8::1:5678".
// portLikely says the writer always appends a port (Apache 2.4), which
// settles the IPv6 ambiguity in favour of stripping it.
func parseAddrPort(s string, portLikely bool) (netip.Addr, bool) {
	if len(s) > 0 && s[0] == '[' {
		if i := strings.IndexByte(s, ']'); i > 0 {
			return parseAddr(s[1:i])
		}
		return netip.Addr{}, false
	}
	colons := strings.Count(s, ":")
	stripped, hasPort := stripPort(s)
	switch {
	case colons == 0:
		return parseAddr(s)
	case colons == 1: // IPv4 with a port
		if hasPort {
			return parseAddr(stripped)
		}
		return netip.Addr{}, false
	}
	if portLikely && hasPort {
		if a, ok := parseAddr(stripped); ok {
			return a, true
		}
	}
	if a, ok := parseAddr(s); ok {
		return a, true
	}
	if hasPort {
		return parseAddr(stripped)
	}
	return netip.Addr{}, false
}

// stripPort removes a trailing ":digits".
func stripPort(s string) (string, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || i == len(s)-1 || len(s)-i > 6 {
		return s, false
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] < '0' || s[j] > '9' {
			return s, false
		}
	}
	return s[:i], true
}

// public reports whether a is an address on the public internet, the kind
// worth attributing a request to when a proxy chain lists several.
func public(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

// candidates collects the addresses a line names for its client (a
// remote_addr, an X-Forwarded-For list) without allocating.
type candidates struct {
	n    int
	list [8]netip.Addr
}

func (c *candidates) add(a netip.Addr) {
	if c.n < len(c.list) {
		c.list[c.n] = a
		c.n++
	}
}

// pick returns the first public address, else the first address. This is
// the choice Elastic's ingest pipelines make for proxy chains: the client
// nearest the origin that is not one of our own private hops.
func (c *candidates) pick() (netip.Addr, bool) {
	switch c.n {
	case 0:
		return netip.Addr{}, false
	case 1: // the usual line: no proxy chain to choose from
		return c.list[0], true
	}
	for i := 0; i < c.n; i++ {
		if public(c.list[i]) {
			return c.list[i], true
		}
	}
	return c.list[0], true
}

// addList adds every address of a comma- or space-separated list (an
// X-Forwarded-For value), ignoring "-", "unknown" and other names.
func (c *candidates) addList(s string) {
	for len(s) > 0 {
		i := strings.IndexAny(s, ", ")
		var tok string
		if i < 0 {
			tok, s = s, ""
		} else {
			tok, s = s[:i], s[i+1:]
		}
		if a, ok := parseAddr(tok); ok {
			c.add(a)
		}
	}
}
