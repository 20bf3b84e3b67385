package mail

import (
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/syslog"
)

// exim reads Exim's mainlog ("2024-01-02 03:04:05[.123] [+0100] [pid] id
// message"), and Exim lines carried by syslog or journald.
type exim struct {
	hdr *syslog.Parser
	loc *time.Location
}

func newExim(o logs.Options) *exim {
	p := &exim{hdr: syslog.New(o)}
	p.loc = p.hdr.Location()
	return p
}

func (p *exim) Parse(line string, ev *logs.Event) error {
	reset(ev)
	line = trimEnd(line)
	if line == "" {
		return errEmpty
	}
	t, rest, ok := eximTime(line, p.loc)
	if ok {
		ev.Time = t
	} else {
		// "Jan  2 03:04:05 host exim[1]: msg" or "Oct 14 19:45:05 [exim] msg".
		var h syslog.Header
		if err := p.hdr.Parse(line, &h); err == nil && isExim(h.Program) {
			ev.Time = h.Time
			if !parseEximSyslog(h.Message, ev, p.hdr) {
				return errNotExim
			}
			return nil
		}
		// journald without a time of its own: "host exim[1]: 2021-07-17 23:20:49 msg".
		_, r1 := cutWord(line)
		tag, r2 := cutWord(r1)
		if !hasPrefix(tag, "exim") || !strings.HasSuffix(tag, ":") {
			return errNotExim
		}
		if t, rest, ok = eximTime(r2, p.loc); !ok {
			return errNotExim
		}
		ev.Time = t
	}
	ev.Kind = logs.KindMail
	ev.Format = "exim"
	ev.Mail.Program = "exim"
	eximMessage(rest, ev)
	return nil
}

func isExim(prog string) bool { return prog == "exim" || prog == "exim4" }

// parseEximSyslog reads an Exim message carried by syslog, with or without
// Exim's own timestamp in front.
func parseEximSyslog(msg string, ev *logs.Event, hdr *syslog.Parser) bool {
	if _, rest, ok := eximTime(msg, hdr.Location()); ok {
		msg = rest
	}
	ev.Kind = logs.KindMail
	ev.Format = "exim"
	ev.Mail.Program = "exim"
	eximMessage(msg, ev)
	return true
}

// eximTime reads "YYYY-MM-DD hh:mm:ss[.fff][ ±hhmm] " and returns the rest.
func eximTime(s string, loc *time.Location) (time.Time, string, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' {
		return time.Time{}, s, false
	}
	y, n1 := num(s[0:4])
	mo, n2 := num(s[5:7])
	d, n3 := num(s[8:10])
	hh, mm, ss, ok := syslog.Clock(s[11:])
	if n1 != 4 || n2 != 2 || n3 != 2 || !ok || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, s, false
	}
	i := 19
	nsec := 0
	if s[i] == '.' {
		f, k := syslog.Fraction(s[i+1:])
		nsec, i = f, i+1+k
	}
	if i >= len(s) || s[i] != ' ' {
		return time.Time{}, s, false
	}
	if i+6 < len(s) && (s[i+1] == '+' || s[i+1] == '-') && isDigit(s[i+2]) {
		if off, k, ok := syslog.Offset(s[i+1:]); ok && i+1+k < len(s) && s[i+1+k] == ' ' {
			return syslog.FromCivil(y, time.Month(mo), d, hh, mm, ss, nsec, off), s[i+2+k:], true
		}
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, nsec, loc).UTC(), s[i+1:], true
}

func num(s string) (int, int) {
	v, n := 0, 0
	for n < len(s) && isDigit(s[n]) {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

func cutWord(s string) (string, string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// eximID reports whether s is an Exim message id: "1UlasQ-0003fr-45"
// (6-6-2) or the 4.97 form "1qbEcS-00000000NgC-1zmW" (6-11-4).
func eximID(s string) bool {
	if len(s) != 16 && len(s) != 23 {
		return false
	}
	if s[6] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		if !isAlnum(s[i]) {
			return false
		}
	}
	return (len(s) == 16 && s[13] == '-') || (len(s) == 23 && s[18] == '-')
}

// eximMessage reads what follows the timestamp.
func eximMessage(s string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActOther
	// "[pid] " from log_selector +pid.
	if len(s) > 2 && s[0] == '[' {
		if end := strings.IndexByte(s, ']'); end > 1 && end < 24 && isDigit(s[1]) {
			s = skipSpaces(s[end+1:])
		}
	}
	// "info exim[8003]: [8003] " in front of some journald exports.
	if w, r := cutWord(s); len(w) < 16 {
		if tag, r2 := cutWord(r); hasPrefix(tag, "exim") && strings.HasSuffix(tag, "]:") {
			s = r2
			if len(s) > 2 && s[0] == '[' {
				if end := strings.IndexByte(s, ']'); end > 1 && end < 24 && isDigit(s[1]) {
					s = skipSpaces(s[end+1:])
				}
			}
		}
	}
	if w, r := cutWord(s); eximID(w) {
		m.QueueID = w
		s = r
	}
	switch {
	case hasPrefix(s, "<= "):
		eximArrival(s[3:], ev)
		return
	case hasPrefix(s, "=> "), hasPrefix(s, "-> "):
		eximDelivery(s[3:], ev, logs.ActSent)
		return
	case hasPrefix(s, "** "):
		eximDelivery(s[3:], ev, logs.ActBounced)
		return
	case hasPrefix(s, "== "):
		eximDelivery(s[3:], ev, logs.ActDeferred)
		return
	case hasPrefix(s, "*> "), hasPrefix(s, "Completed"), hasPrefix(s, "Start queue run"),
		hasPrefix(s, "End queue run"):
		return
	}
	if i := strings.Index(s, "authenticator failed for "); i >= 0 {
		rest := s[i+len("authenticator failed for "):]
		if a, _, ok := eximHost(rest); ok {
			ev.Src = a
		}
		m.Action, m.Reason = logs.ActAuthFail, ReasonSASL
		if j := strings.LastIndex(rest, "(set_id="); j >= 0 {
			u := rest[j+len("(set_id="):]
			if end := strings.LastIndexByte(u, ')'); end >= 0 {
				u = u[:end]
			}
			m.SASLUser = u
		}
		return
	}
	switch {
	case hasPrefix(s, "SMTP protocol synchronization error"):
		eximHField(s, ev)
		m.Action, m.Reason = logs.ActProtocolError, ReasonPipelining
		return
	case hasPrefix(s, "SMTP protocol error in "):
		eximHField(s, ev)
		m.Action, m.Reason = logs.ActProtocolError, ReasonProtocol
		return
	case hasPrefix(s, "SMTP syntax error in "):
		eximHField(s, ev)
		m.Action, m.Reason = logs.ActProtocolError, ReasonProtocol
		return
	case hasPrefix(s, "SMTP call from "):
		if a, rest, ok := eximHost(s[len("SMTP call from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonProtocol
			if strings.Contains(rest, "too many") {
				m.Reason = ReasonTooManyErrors
			}
		}
		return
	case hasPrefix(s, "SMTP connection from "):
		a, rest, ok := eximHost(s[len("SMTP connection from "):])
		if !ok {
			return
		}
		ev.Src = a
		switch {
		case strings.Contains(rest, "closed by DROP in ACL"):
			m.Action, m.Reason = logs.ActReject, ReasonClientHost
		case strings.Contains(rest, "(TCP/IP connection count"):
			m.Action = logs.ActConnect
		case strings.Contains(rest, "closed by QUIT"):
			m.Action = logs.ActDisconnect
		case strings.Contains(rest, " lost"):
			m.Action, m.Reason = logs.ActProtocolError, ReasonLostConnection
		case strings.Contains(rest, "refused"):
			m.Action, m.Reason = logs.ActReject, ReasonRateLimit
		}
		return
	case hasPrefix(s, "no MAIL in SMTP connection from "):
		if a, _, ok := eximHost(s[len("no MAIL in SMTP connection from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonNoMail
		}
		return
	case hasPrefix(s, "unexpected disconnection while reading SMTP command from "):
		if a, _, ok := eximHost(s[len("unexpected disconnection while reading SMTP command from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonLostConnection
		}
		return
	case strings.Contains(s, " timeout on connection from "), strings.Contains(s, "timeout (message abandoned) on connection from "):
		if a, _, ok := eximHost(s[strings.Index(s, "connection from ")+len("connection from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonTimeout
		}
		return
	case hasPrefix(s, "TLS error on connection from "):
		if a, _, ok := eximHost(s[len("TLS error on connection from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonTLS
		}
		return
	case hasPrefix(s, "Connection from "):
		if a, rest, ok := eximHost(s[len("Connection from "):]); ok {
			ev.Src = a
			if strings.Contains(rest, "refused") {
				m.Action, m.Reason = logs.ActReject, ReasonRateLimit
			}
		}
		return
	case hasPrefix(s, "no host name found for IP address "):
		if a, ok := parseAddr(strings.TrimSpace(s[len("no host name found for IP address "):])); ok {
			ev.Src = a
		}
		return
	case hasPrefix(s, "no IP address found for host "):
		if rest, ok := after(s, "(during SMTP connection from "); ok {
			if a, _, ok := eximHost(rest); ok {
				ev.Src = a
			}
		}
		return
	case hasPrefix(s, "SA: Action: "):
		if rest, ok := after(s, "(host="); ok {
			if a, _, ok := eximHost(rest); ok {
				ev.Src = a
			}
		}
		if strings.Contains(s, "rejected") || strings.Contains(s, "tossed") {
			m.Action, m.Reason = logs.ActReject, ReasonContent
		}
		return
	}
	eximHField(s, ev)
	if v, ok := field(s, "F="); ok {
		m.From = v
	}
	switch {
	case strings.Contains(s, " rejected RCPT "), strings.Contains(s, "rejected RCPT "):
		rest, _ := after(s, "rejected RCPT ")
		m.To = strings.TrimSuffix(angle(rest), ":")
		eximReject(rest, ev, ReasonOther)
	case strings.Contains(s, "rejected MAIL "):
		rest, _ := after(s, "rejected MAIL ")
		eximReject(rest, ev, ReasonSender)
	case strings.Contains(s, "rejected EHLO"), strings.Contains(s, "rejected HELO"):
		m.Action, m.Reason = logs.ActReject, ReasonHelo
	case strings.Contains(s, "rejected connection in"), strings.Contains(s, " dropped by "):
		rest, _ := after(s, "ACL")
		eximReject(rest, ev, ReasonClientHost)
	case strings.Contains(s, "rejected after DATA"), strings.Contains(s, "rejected by local_scan()"),
		strings.Contains(s, "rejected after DATA:"):
		eximReject(s, ev, ReasonContent)
		if m.Reason == ReasonOther {
			m.Reason = ReasonContent
		}
	case strings.Contains(s, "sender verify fail"):
		m.Reason = ReasonSender
	case strings.Contains(s, " rejected "):
		eximReject(s, ev, ReasonOther)
	}
}

// eximReject marks a refusal and classifies its text; fallback is used
// when the text says nothing more specific.
func eximReject(text string, ev *logs.Event, fallback string) {
	ev.Mail.Action = logs.ActReject
	r := classify(text)
	if r == ReasonOther || (r == ReasonHelo && fallback != ReasonOther) {
		r = fallback
	}
	ev.Mail.Reason = r
}

// eximHField sets Src from the "H=" field of s, if any.
func eximHField(s string, ev *logs.Event) {
	v, ok := hField(s)
	if !ok {
		return
	}
	if a, _, ok := eximHost(v); ok {
		ev.Src = a
	}
}

// hField returns what follows "H=" at the start of s or after a space.
func hField(s string) (string, bool) {
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], "H=")
		if i < 0 {
			return "", false
		}
		i += off
		if i == 0 || s[i-1] == ' ' {
			return s[i+2:], true
		}
		off = i + 2
	}
	return "", false
}

// eximHost reads Exim's host notation, "name (helo) [addr]:port",
// "(helo) [addr]", "[addr]", and returns the first bracketed address that
// is not inside the parenthesised HELO name.
func eximHost(s string) (netip.Addr, string, bool) {
	depth := 0
	for i := 0; i < len(s) && i < 512; i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '[':
			if depth == 0 && (i == 0 || s[i-1] == ' ' || s[i-1] == '=') {
				if a, rest, ok := bracketed(s[i:]); ok {
					return a, skipPort(rest), true
				}
			}
		}
	}
	return netip.Addr{}, s, false
}

// eximArrival reads "sender H=name [addr]:port I=... P=esmtp S=1234 A=login:user id=...".
func eximArrival(s string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActQueued
	m.From = angle(s)
	if v, ok := field(s, "S="); ok {
		m.Size = atoi64(v)
	}
	if v, ok := field(s, "A="); ok {
		if c := strings.IndexByte(v, ':'); c >= 0 {
			m.SASLUser = v[c+1:]
		}
	}
	eximHField(s, ev)
}

// eximDelivery reads "addr [<orig>] R=router T=transport H=host [addr] ..." and
// bounce/defer lines "addr R=...: reason".
func eximDelivery(s string, ev *logs.Event, action string) {
	m := &ev.Mail
	m.Action = action
	to := angle(s)
	m.To = strings.TrimSuffix(to, ":")
	router, _ := field(s, "R=")
	transport, _ := field(s, "T=")
	router = strings.TrimSuffix(router, ":")
	transport = strings.TrimSuffix(transport, ":")
	var hostAddr netip.Addr
	hasHost := false
	if v, ok := hField(s); ok {
		a, rest, ok := eximHost(v)
		if ok {
			hostAddr, hasHost = a, true
			m.Relay = v[:len(v)-len(rest)]
		} else {
			w, _ := cutWord(v)
			m.Relay = w
		}
	}
	remote := hasPrefix(router, "dnslookup") || hasPrefix(transport, "remote_smtp") ||
		strings.Contains(router, "smarthost") || strings.Contains(router, "remote")
	m.Outbound = remote && (!hasHost || !isLocalAddr(hostAddr))
}
