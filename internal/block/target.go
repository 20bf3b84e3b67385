package block

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// MaxTargets bounds one request so a hostile or mistaken list cannot exhaust
// memory or the firewall: a million entries is far beyond any real attack
// that blocking by address still makes sense for.
const MaxTargets = 1 << 20

// maxLine bounds one line of a target list.
const maxLine = 4096

// ParseTarget parses one address or prefix, v4 or v6. IPv4-mapped IPv6
// forms are turned into plain IPv4 so a block (and the safety check) sees the
// address the kernel sees; zones are dropped; host bits are cleared.
func ParseTarget(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, errors.New("empty target")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix (use 192.0.2.7, 198.51.100.0/24 or 2001:db8::/48)", clip(s))
		}
		return NormalizePrefix(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or prefix (use 192.0.2.7, 198.51.100.0/24 or 2001:db8::/48)", clip(s))
	}
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// NormalizePrefix unmaps IPv4-mapped prefixes, drops zones and clears host
// bits, so equal networks compare equal.
func NormalizePrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr().WithZone("")
	bits := p.Bits()
	if a.Is4In6() {
		if bits >= 96 {
			a = a.Unmap()
			bits -= 96
		}
	}
	if bits < 0 {
		bits = a.BitLen()
	}
	return netip.PrefixFrom(a, bits).Masked()
}

// ParseTargets reads a list of targets: one or more per line, separated by
// spaces or commas, with # comments. Lines that fail are reported together
// with their line numbers; nothing is returned when any fails, so a typo
// never produces half a block. Duplicates are removed; order is kept.
func ParseTargets(r io.Reader) ([]netip.Prefix, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	var out []netip.Prefix
	var errs []string
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for len(text) > 0 {
			i := 0
			for i < len(text) && isTargetSep(text[i]) {
				i++
			}
			j := i
			for j < len(text) && !isTargetSep(text[j]) {
				j++
			}
			f := text[i:j]
			text = text[j:]
			if len(f) == 0 {
				continue
			}
			// A view of the scanner's buffer, not a copy: ParseTarget keeps
			// nothing of it (its errors quote a copy).
			p, err := ParseTarget(unsafe.String(&f[0], len(f)))
			if err != nil {
				if len(errs) < 10 {
					errs = append(errs, fmt.Sprintf("line %d: %v", line, err))
				}
				continue
			}
			if len(out) >= 2*MaxTargets {
				return nil, fmt.Errorf("more than %d targets: block the prefixes they share instead", MaxTargets)
			}
			out = append(out, p)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d is longer than %d bytes: one address or prefix per line", line+1, maxLine)
		}
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	// Duplicates go once the size is known: a map sized once costs a
	// fraction of one grown line by line.
	seen := make(map[netip.Prefix]struct{}, len(out))
	uniq := out[:0]
	for _, p := range out {
		if _, dup := seen[p]; !dup {
			seen[p] = struct{}{}
			uniq = append(uniq, p)
		}
	}
	if len(uniq) > MaxTargets {
		return nil, fmt.Errorf("more than %d targets: block the prefixes they share instead", MaxTargets)
	}
	return uniq, nil
}

// isTargetSep: targets in a list are separated by commas, semicolons and
// white space.
func isTargetSep(c byte) bool {
	return c == ',' || c == ' ' || c == '\t' || c == ';' || c == '\r'
}

// clip keeps error messages short and printable whatever the input was.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// Action is what happens to a blocked source's packets.
type Action string

// The actions. RateLimit lets a source open new connections up to a rate
// and drops the rest: the surgical choice for networks customers share.
const (
	Drop      Action = "drop"
	Reject    Action = "reject"
	RateLimit Action = "ratelimit"
)

// ParseAction parses "drop", "reject" or "ratelimit" (also "rate-limit").
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "drop", "":
		return Drop, nil
	case "reject":
		return Reject, nil
	case "ratelimit", "rate-limit", "limit":
		return RateLimit, nil
	}
	return "", fmt.Errorf("unknown action %q (use drop, reject or ratelimit)", clip(s))
}

func (a Action) short() string {
	switch a {
	case Reject:
		return "rej"
	case RateLimit:
		return "rl"
	}
	return "drop"
}

// Rate is a per-source limit on new connections.
type Rate struct {
	Count int           // new connections allowed per Per
	Per   time.Duration // time.Second, time.Minute or time.Hour
	Burst int           // connections allowed at once above the rate
}

// ParseRate parses "10/s", "600/m", "5/second", "100/h".
func ParseRate(s string) (Rate, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: use N/s, N/m or N/h (new connections per source)", clip(s))
	}
	c, err := strconv.Atoi(n)
	if err != nil || c < 1 || c > 1000000 {
		return Rate{}, fmt.Errorf("rate %q: the count must be 1..1000000", clip(s))
	}
	var per time.Duration
	switch strings.ToLower(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return Rate{}, fmt.Errorf("rate %q: the unit must be s, m or h", clip(s))
	}
	return Rate{Count: c, Per: per}, nil
}

// String returns the rate as "10/s".
func (r Rate) String() string {
	return strconv.Itoa(r.Count) + "/" + r.unit("s", "m", "h")
}

func (r Rate) unit(s, m, h string) string {
	switch r.Per {
	case time.Minute:
		return m
	case time.Hour:
		return h
	}
	return s
}

// PortRange is one protocol and port (or range) a block applies to.
type PortRange struct {
	Proto    string // "tcp" or "udp"
	From, To uint16
}

// String returns "tcp/80" or "tcp/8000-8100".
func (p PortRange) String() string {
	if p.From == p.To {
		return p.Proto + "/" + strconv.Itoa(int(p.From))
	}
	return p.Proto + "/" + strconv.Itoa(int(p.From)) + "-" + strconv.Itoa(int(p.To))
}

// maxPortsPerProto is iptables multiport's limit, kept for every backend so
// a scope means the same thing everywhere.
const maxPortsPerProto = 15

// ParseScope parses "tcp/80,tcp/443,udp/53,tcp/8000-8100". An empty string
// (or "all") means all traffic.
func ParseScope(s string) ([]PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return nil, nil
	}
	var out []PortRange
	seen := map[PortRange]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		proto, port, ok := strings.Cut(f, "/")
		if !ok {
			return nil, fmt.Errorf("port %q: name the protocol, as in tcp/%s", clip(f), clip(f))
		}
		proto = strings.ToLower(proto)
		if proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("port %q: the protocol must be tcp or udp", clip(f))
		}
		lo, hi, isRange := strings.Cut(port, "-")
		from, err1 := strconv.ParseUint(lo, 10, 16)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || from == 0 || to < from {
			return nil, fmt.Errorf("port %q: use a port 1-65535 or a range such as tcp/8000-8100", clip(f))
		}
		pr := PortRange{Proto: proto, From: uint16(from), To: uint16(to)}
		if !seen[pr] {
			seen[pr] = true
			out = append(out, pr)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Proto != out[j].Proto {
			return out[i].Proto < out[j].Proto
		}
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	for _, proto := range []string{"tcp", "udp"} {
		if len(portsOf(out, proto)) > maxPortsPerProto {
			return nil, fmt.Errorf("more than %d %s ports or ranges: use a range such as %s/8000-8100", maxPortsPerProto, proto, proto)
		}
	}
	return out, nil
}

func portsOf(scope []PortRange, proto string) []PortRange {
	var out []PortRange
	for _, p := range scope {
		if p.Proto == proto {
			out = append(out, p)
		}
	}
	return out
}

// Rule is how targets are blocked: the action, its rate and the scope. All
// targets sharing a Rule share the firewall's sets and rules for it.
type Rule struct {
	Action Action
	Rate   Rate        // only for RateLimit
	Scope  []PortRange // empty: all traffic
}

// ID names the rule in the firewall (set, table and comment names): short,
// stable, made of [a-z0-9_] so every backend accepts it.
func (r Rule) ID() string {
	if len(r.Scope) == 0 && r.Action != RateLimit {
		return r.Action.short() + "_all"
	}
	sum := sha256.Sum256([]byte(r.canonical()))
	return r.Action.short() + "_" + hex.EncodeToString(sum[:4])
}

func (r Rule) canonical() string {
	var b strings.Builder
	b.WriteString(string(r.Action))
	if r.Action == RateLimit {
		fmt.Fprintf(&b, " %d/%s burst %d", r.Rate.Count, r.Rate.Per, r.Rate.Burst)
	}
	b.WriteString(" ")
	b.WriteString(ScopeString(r.Scope))
	return b.String()
}

// String describes the rule for people: "drop all traffic",
// "ratelimit 10/s burst 20 on tcp/80,tcp/443".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(string(r.Action))
	if r.Action == RateLimit {
		fmt.Fprintf(&b, " %s burst %d", r.Rate, r.Rate.Burst)
	}
	if len(r.Scope) == 0 {
		b.WriteString(" all traffic")
	} else {
		b.WriteString(" on ")
		b.WriteString(ScopeString(r.Scope))
	}
	return b.String()
}

// ScopeString returns "all" or "tcp/80,tcp/443".
func ScopeString(scope []PortRange) string {
	if len(scope) == 0 {
		return "all"
	}
	parts := make([]string, len(scope))
	for i, p := range scope {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// Validate checks a rule and fills defaults (a rate-limit's burst).
func (r *Rule) Validate() error {
	switch r.Action {
	case Drop, Reject:
		r.Rate = Rate{}
	case RateLimit:
		if r.Rate.Count < 1 || (r.Rate.Per != time.Second && r.Rate.Per != time.Minute && r.Rate.Per != time.Hour) {
			return errors.New("ratelimit needs a rate such as 10/s (--rate)")
		}
		if r.Rate.Burst <= 0 {
			r.Rate.Burst = max(r.Rate.Count, 5)
		}
		if r.Rate.Burst > 1000000 {
			return errors.New("burst must be at most 1000000")
		}
	default:
		return fmt.Errorf("unknown action %q (use drop, reject or ratelimit)", clip(string(r.Action)))
	}
	return nil
}
