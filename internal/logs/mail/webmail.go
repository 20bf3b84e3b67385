package mail

import (
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/syslog"
)

var (
	errNotRoundcube = logs.Malformed("not a roundcube line")
	errNotNginxMail = logs.Malformed("not an nginx mail proxy line")
)

// maxZones bounds the zones a roundcube parser loads by name: the names
// come from the log, so an attacker must not make it load thousands.
const maxZones = 16

// roundcube reads Roundcube's errors and userlogins logs:
// "[10-Mar-2021 12:04:51 +0100]: <14cb6441> IMAP Error: Login failed for u against h from 192.0.2.1(...)"
// "[15-Jul-2021 05:23:15 America/Boise] PHP Warning: ..."
type roundcube struct {
	loc   *time.Location
	zones map[string]*time.Location // nil value: name tried and unknown
}

func newRoundcube(o logs.Options) *roundcube {
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	return &roundcube{loc: loc}
}

func (p *roundcube) Parse(line string, ev *logs.Event) error {
	reset(ev)
	line = trimEnd(line)
	if len(line) < 23 || line[0] != '[' || line[3] != '-' || line[7] != '-' || line[12] != ' ' {
		return errNotRoundcube
	}
	d, n1 := num(line[1:3])
	mon, okm := syslog.ParseMonth(line[4:7])
	y, n2 := num(line[8:12])
	hh, mm, ss, okc := syslog.Clock(line[13:])
	if n1 != 2 || n2 != 4 || !okm || !okc || d < 1 || d > 31 {
		return errNotRoundcube
	}
	i := 21
	if i < len(line) && line[i] == '.' { // PHP may log microseconds
		_, k := syslog.Fraction(line[i+1:])
		i += 1 + k
	}
	if i >= len(line) || line[i] != ' ' {
		return errNotRoundcube
	}
	end := strings.IndexByte(line[i:], ']')
	if end < 0 || end > 48 {
		return errNotRoundcube
	}
	zone := line[i+1 : i+end]
	rest := line[i+end+1:]
	if off, k, ok := syslog.Offset(zone); ok && k == len(zone) {
		ev.Time = syslog.FromCivil(y, mon, d, hh, mm, ss, 0, off)
	} else {
		ev.Time = time.Date(y, mon, d, hh, mm, ss, 0, p.zone(zone)).UTC()
	}
	ev.Kind = logs.KindMail
	ev.Format = "roundcube"
	m := &ev.Mail
	m.Program = "roundcube"
	m.Action = logs.ActOther
	rest = strings.TrimPrefix(rest, ":")
	rest = skipSpaces(rest)
	if len(rest) > 0 && rest[0] == '<' { // session id
		if e := strings.IndexByte(rest, '>'); e >= 0 && e < 40 {
			rest = skipSpaces(rest[e+1:])
		}
	}
	switch {
	case strings.Contains(rest, "Login failed for ") || hasPrefix(rest, "Failed login for "):
		u, _ := after(rest, "for ")
		if sp := strings.IndexByte(u, ' '); sp >= 0 {
			m.SASLUser = u[:sp]
		}
		if v, ok := after(rest, " from "); ok {
			if a, ok := leadingAddr(v); ok {
				ev.Src = a
			}
		}
		m.Action, m.Reason = logs.ActAuthFail, ReasonSASL
	case hasPrefix(rest, "Successful login for "):
		u := rest[len("Successful login for "):]
		if sp := strings.IndexByte(u, ' '); sp >= 0 {
			m.SASLUser = u[:sp]
		}
		if v, ok := after(rest, " from "); ok {
			if a, ok := leadingAddr(v); ok {
				ev.Src = a
			}
		}
		m.Action = logs.ActAuthOK
	case hasPrefix(rest, "User ") && strings.Contains(rest, "; Message "):
		// A message the webmail user sent through SMTP.
		u := rest[len("User "):]
		if sp := strings.IndexByte(u, ' '); sp >= 0 {
			m.SASLUser = u[:sp]
			m.From = u[:sp]
			if a, _, ok := bracketed(u[sp+1:]); ok {
				ev.Src = a
			}
		}
		if v, ok := after(rest, " for "); ok {
			if semi := strings.IndexByte(v, ';'); semi >= 0 {
				m.To = v[:semi]
			}
		}
		m.Action = logs.ActQueued
	}
	return nil
}

// leadingAddr reads an address at the start of s, ending at the first
// byte that cannot belong to one.
func leadingAddr(s string) (netip.Addr, bool) {
	n := 0
	for n < len(s) && n < 64 && (isAlnum(s[n]) || s[n] == '.' || s[n] == ':') {
		n++
	}
	return parseAddr(strings.TrimSuffix(s[:n], "."))
}

func (p *roundcube) zone(name string) *time.Location {
	if loc, ok := p.zones[name]; ok {
		if loc == nil {
			return p.loc
		}
		return loc
	}
	if len(p.zones) >= maxZones || !zoneName(name) {
		return p.loc
	}
	if p.zones == nil {
		p.zones = make(map[string]*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	p.zones[strings.Clone(name)] = loc
	if loc == nil {
		return p.loc
	}
	return loc
}

// zoneName accepts IANA names ("America/Boise", "UTC", "Etc/GMT+5").
func zoneName(s string) bool {
	if s == "" || len(s) > 40 || s[0] == '/' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '/' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// nginxMail reads the nginx error-log lines of the mail proxy module:
// "2022/04/02 15:45:23 [info] 8#8: *15950 client 192.0.2.1:53044 connected to 0.0.0.0:25"
// "... client login failed: "AUTH not supported" while in http auth state, client: 192.0.2.1, server: 0.0.0.0:25, login: "u""
type nginxMail struct {
	loc *time.Location
}

func newNginxMail(o logs.Options) *nginxMail {
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	return &nginxMail{loc: loc}
}

func (p *nginxMail) Parse(line string, ev *logs.Event) error {
	reset(ev)
	line = trimEnd(line)
	if len(line) < 24 || line[4] != '/' || line[7] != '/' || line[10] != ' ' || line[19] != ' ' || line[20] != '[' {
		return errNotNginxMail
	}
	y, n1 := num(line[0:4])
	mo, n2 := num(line[5:7])
	d, n3 := num(line[8:10])
	hh, mm, ss, ok := syslog.Clock(line[11:])
	if n1 != 4 || n2 != 2 || n3 != 2 || !ok || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return errNotNginxMail
	}
	lvlEnd := strings.IndexByte(line[20:], ']')
	if lvlEnd < 0 {
		return errNotNginxMail
	}
	rest := skipSpaces(line[20+lvlEnd+1:])
	// "8#8: *15950 "
	if c := strings.Index(rest, ": "); c > 0 && c < 24 {
		rest = rest[c+2:]
	}
	if len(rest) > 1 && rest[0] == '*' {
		_, rest = cutWord(rest)
	}
	m := &ev.Mail
	switch {
	case hasPrefix(rest, "client ") && strings.Contains(rest, " connected to "):
		w, _ := cutWord(rest[len("client "):])
		ap, err := netip.ParseAddrPort(w)
		if err != nil {
			return errNotNginxMail
		}
		ev.Src = ap.Addr().Unmap()
		m.Action = logs.ActConnect
	default:
		srv, ok := field(rest, "server: ")
		if !ok || strings.Contains(rest, ", request: ") {
			return errNotNginxMail
		}
		if _, err := netip.ParseAddrPort(srv); err != nil {
			return errNotNginxMail // an HTTP server block names a host, not an address:port
		}
		if v, ok := after(rest, ", client: "); ok {
			if a, ok := leadingAddr(v); ok {
				ev.Src = a
			}
		}
		if v, ok := after(rest, ", login: \""); ok {
			if q := strings.IndexByte(v, '"'); q >= 0 {
				m.SASLUser = v[:q]
			}
		}
		switch {
		case hasPrefix(rest, "client login failed"):
			m.Action, m.Reason = logs.ActAuthFail, ReasonSASL
		case hasPrefix(rest, "client logged in"):
			m.Action = logs.ActAuthOK
		case hasPrefix(rest, "proxied session done"):
			m.Action = logs.ActDisconnect
		default:
			m.Action = logs.ActOther
		}
	}
	ev.Time = time.Date(y, time.Month(mo), d, hh, mm, ss, 0, p.loc).UTC()
	ev.Kind = logs.KindMail
	ev.Format = "nginx-mail"
	m.Program = "nginx"
	return nil
}
