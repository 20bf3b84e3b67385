// Package dns parses BIND query and security logs.
//
// One format, "bind", reads both: query lines (old and 9.11+ forms) and the
// denials of the security category, whether they come from a file channel
// ("19-Oct-2022 05:34:02.425 queries: info: client ..."), from syslog
// ("Jul 24 14:16:55 ns named[3935]: client ...") or bare ("client ...").
package dns

import (
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/syslog"
)

// Actions carried in DNSFields.Action.
const (
	ActQuery           = "query"            // a query line of the queries category
	ActDenied          = "denied"           // query or query (cache) denied
	ActXferDenied      = "xfer_denied"      // zone transfer denied, bad zone transfer request
	ActUpdateDenied    = "update_denied"    // dynamic update denied
	ActNotifyDenied    = "notify_denied"    // NOTIFY refused
	ActRefused         = "refused"          // query failed (REFUSED)
	ActXfer            = "xfer"             // a zone transfer that was allowed
	ActUpstreamRefused = "upstream_refused" // a server we asked answered REFUSED (the address is that server's)
	ActOther           = "other"            // any other line of named
)

// Formats lists the DNS formats.
func Formats() []logs.Format {
	return []logs.Format{{
		Name: "bind",
		Kind: logs.KindDNS,
		Doc:  "BIND query log (old and 9.11+ forms, recursion-desired flag) and security lines (query/cache denied, zone transfer denied, REFUSED)",
		New:  func(o logs.Options) logs.Parser { return newBind(o) },
	}}
}

var (
	errNotBind  = logs.Malformed("not a BIND line")
	errNoClient = logs.Malformed("no client address")
	errEmpty    = logs.Malformed("empty line")
)

type bind struct {
	hdr *syslog.Parser
	loc *time.Location
}

func newBind(o logs.Options) *bind {
	p := &bind{hdr: syslog.New(o)}
	p.loc = p.hdr.Location()
	return p
}

func (p *bind) Parse(line string, ev *logs.Event) error {
	// Clear what this parser sets, so an Event can be reused.
	ev.Time, ev.Src, ev.Kind, ev.Format = time.Time{}, netip.Addr{}, logs.KindNone, ""
	ev.DNS = logs.DNSFields{}
	for len(line) > 0 && (line[len(line)-1] == '\r' || line[len(line)-1] == '\n') {
		line = line[:len(line)-1]
	}
	if line == "" {
		return errEmpty
	}
	s := line
	named := false // the line is known to come from named
	if t, rest, ok := bindTime(s, p.loc); ok {
		ev.Time, s, named = t, rest, true
	} else if hasPrefix(s, "client ") || isCategory(s) {
		// A file channel without print-time: the line is as new as now.
		ev.Time = p.hdr.Now().UTC()
	} else {
		var h syslog.Header
		if err := p.hdr.Parse(line, &h); err != nil {
			return errNotBind
		}
		ev.Time, s = h.Time, h.Message
		named = h.Program == "named" || h.Program == "bind" || h.Program == "named-pkcs11"
	}
	s = skipCategory(s)
	ev.Kind = logs.KindDNS
	ev.Format = "bind"
	d := &ev.DNS
	if !hasPrefix(s, "client ") {
		if !named {
			return errNotBind
		}
		d.Action = ActOther
		// "REFUSED unexpected RCODE resolving 'x/A/IN': 192.0.2.1#53"
		if i := strings.Index(s, "unexpected RCODE resolving "); i >= 0 {
			d.Denied = true
			d.Action = ActUpstreamRefused
			q := s[i+len("unexpected RCODE resolving "):]
			quoted(q, d)
		}
		return nil
	}
	a, rest, ok := client(s[len("client "):])
	if !ok {
		return errNoClient
	}
	ev.Src = a
	if hasPrefix(rest, "view ") {
		if c := strings.Index(rest, ": "); c >= 0 {
			rest = rest[c+2:]
		}
	}
	switch {
	case hasPrefix(rest, "query: "):
		d.Action = ActQuery
		query(rest[len("query: "):], d)
	case hasPrefix(rest, "query (cache) "):
		d.Action, d.Denied = ActDenied, strings.Contains(rest, " denied")
		quoted(rest[len("query (cache) "):], d)
		if !d.Denied {
			d.Action = ActOther
		}
	case hasPrefix(rest, "query '"):
		d.Action, d.Denied = ActDenied, strings.Contains(rest, " denied")
		quoted(rest[len("query "):], d)
		if !d.Denied {
			d.Action = ActOther
		}
	case hasPrefix(rest, "zone transfer "):
		quoted(rest[len("zone transfer "):], d)
		d.Action = ActXfer
		if strings.Contains(rest, " denied") {
			d.Action, d.Denied = ActXferDenied, true
		}
	case hasPrefix(rest, "bad zone transfer request: "):
		d.Action, d.Denied = ActXferDenied, true
		zoneClass(rest[len("bad zone transfer request: "):], d)
	case hasPrefix(rest, "update "):
		zoneClass(rest[len("update "):], d)
		d.Action = ActOther
		if strings.Contains(rest, " denied") {
			d.Action, d.Denied = ActUpdateDenied, true
		}
	case strings.Contains(rest, "notify") && (strings.Contains(rest, "refused") || strings.Contains(rest, "denied") || strings.Contains(rest, "not authoritative")):
		d.Action, d.Denied = ActNotifyDenied, true
		if i := strings.IndexByte(rest, '\''); i >= 0 {
			zoneClass(rest[i:], d)
		}
	case hasPrefix(rest, "query failed (REFUSED) for "):
		// "query failed (REFUSED) for example.com/IN/A at query.c:1234": name/class/type.
		d.Action, d.Denied = ActRefused, true
		v := rest[len("query failed (REFUSED) for "):]
		if sp := strings.IndexByte(v, ' '); sp >= 0 {
			v = v[:sp]
		}
		if j := strings.LastIndexByte(v, '/'); j > 0 {
			d.QType = v[j+1:]
			v = v[:j]
			if k := strings.LastIndexByte(v, '/'); k > 0 {
				d.QClass = v[k+1:]
				d.QName = v[:k]
			}
		}
	case hasPrefix(rest, "transfer of "):
		d.Action = ActXfer
		zoneClass(rest[len("transfer of "):], d)
	default:
		d.Action = ActOther
	}
	return nil
}

// bindTime reads a file channel's "dd-Mon-yyyy hh:mm:ss[.mmm] ".
func bindTime(s string, loc *time.Location) (time.Time, string, bool) {
	if len(s) < 21 || s[2] != '-' || s[6] != '-' || s[11] != ' ' || s[14] != ':' {
		return time.Time{}, s, false
	}
	d, n1 := digits(s[0:2])
	mon, ok := syslog.ParseMonth(s[3:6])
	y, n2 := digits(s[7:11])
	hh, mm, ss, okc := syslog.Clock(s[12:])
	if n1 != 2 || n2 != 4 || !ok || !okc || d < 1 || d > 31 {
		return time.Time{}, s, false
	}
	i := 20
	nsec := 0
	if s[i] == '.' {
		f, k := syslog.Fraction(s[i+1:])
		nsec, i = f, i+1+k
	}
	if i >= len(s) || s[i] != ' ' {
		return time.Time{}, s, false
	}
	return time.Date(y, mon, d, hh, mm, ss, nsec, loc).UTC(), s[i+1:], true
}

// categories and severities BIND prints before a message with
// print-category and print-severity.
func categoryWord(w string) bool {
	switch w {
	case "queries", "security", "query-errors", "xfer-out", "xfer-in", "lame-servers", "resolver",
		"client", "update", "update-security", "notify", "general", "default", "network", "config",
		"dnssec", "edns-disabled", "rate-limit", "database", "cname", "spill", "dispatch",
		"info", "error", "warning", "notice", "critical", "debug":
		return true
	}
	return false
}

func isCategory(s string) bool {
	c := strings.Index(s, ": ")
	return c > 0 && c < 20 && categoryWord(s[:c])
}

// skipCategory drops "queries: info: " and the like; "update-security:"
// appears as a syslog tag and is already gone.
func skipCategory(s string) string {
	for i := 0; i < 3; i++ {
		c := strings.Index(s, ": ")
		if c <= 0 || c > 20 {
			return s
		}
		w := s[:c]
		if hasPrefix(w, "debug ") {
			w = "debug"
		}
		if !categoryWord(w) {
			return s
		}
		s = s[c+2:]
	}
	return s
}

// client reads "[@0x7f... ]addr#port[ (name)]: " and returns the address and
// the rest after ": ".
func client(s string) (netip.Addr, string, bool) {
	if hasPrefix(s, "@0x") {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return netip.Addr{}, "", false
		}
		s = s[sp+1:]
	}
	hash := strings.IndexByte(s, '#')
	if hash <= 0 || hash > 64 {
		return netip.Addr{}, "", false
	}
	addr := s[:hash]
	if pct := strings.IndexByte(addr, '%'); pct >= 0 {
		addr = addr[:pct]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Addr{}, "", false
	}
	rest := s[hash+1:]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	rest = rest[i:]
	if hasPrefix(rest, " (") {
		// The query name in parentheses: may hold anything but ')' is
		// escaped by BIND, so the first "): " closes it.
		end := strings.Index(rest, "): ")
		if end < 0 {
			return netip.Addr{}, "", false
		}
		rest = rest[end+1:]
	}
	if !hasPrefix(rest, ": ") {
		return netip.Addr{}, "", false
	}
	return a.Unmap(), rest[2:], true
}

// query reads "name CLASS TYPE flags [(server)]".
func query(s string, d *logs.DNSFields) {
	name, rest := word(s)
	class, rest := word(rest)
	qtype, rest := word(rest)
	flags, _ := word(rest)
	d.QName, d.QClass, d.QType = name, class, qtype
	d.RD = len(flags) > 0 && flags[0] == '+'
}

// quoted reads "'name/TYPE/CLASS'" (the opening quote is sometimes lost).
func quoted(s string, d *logs.DNSFields) {
	if len(s) > 0 && s[0] == '\'' {
		s = s[1:]
	}
	end := strings.IndexByte(s, '\'')
	if end < 0 {
		return
	}
	v := s[:end]
	j := strings.LastIndexByte(v, '/')
	if j <= 0 {
		return
	}
	d.QClass = v[j+1:]
	v = v[:j]
	k := strings.LastIndexByte(v, '/')
	if k <= 0 {
		d.QName = v
		return
	}
	d.QType = v[k+1:]
	d.QName = v[:k]
}

// zoneClass reads "'zone/CLASS'".
func zoneClass(s string, d *logs.DNSFields) {
	if len(s) == 0 || s[0] != '\'' {
		return
	}
	s = s[1:]
	end := strings.IndexByte(s, '\'')
	if end < 0 {
		return
	}
	v := s[:end]
	if j := strings.LastIndexByte(v, '/'); j > 0 {
		d.QName, d.QClass = v[:j], v[j+1:]
		return
	}
	d.QName = v
}

func word(s string) (string, string) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func digits(s string) (int, int) {
	v, n := 0, 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
