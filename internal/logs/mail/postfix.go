package mail

import (
	"net/netip"
	"strings"

	"github.com/irtui/irtui/internal/logs"
)

// parsePostfix reads the message of one Postfix daemon. Every Postfix line
// becomes an event: what carries nothing of interest is ActOther.
func parsePostfix(svc, msg string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActOther
	body := msg
	if qid, rest, ok := queueID(msg); ok {
		if qid != "NOQUEUE" {
			m.QueueID = qid
		}
		body = rest
	}
	switch {
	case hasPrefix(body, "reject: "), hasPrefix(body, "milter-reject: "):
		postfixReject(body[strings.IndexByte(body, ' ')+1:], ev)
		return
	case hasPrefix(body, "reject_warning: "):
		// warn_if_reject: the client was not refused; keep who and why.
		postfixReject(body[len("reject_warning: "):], ev)
		m.Action = logs.ActOther
		return
	case hasPrefix(body, "warning: "):
		postfixWarning(body[len("warning: "):], ev)
		return
	case hasPrefix(body, "to="):
		postfixDelivery(svc, body, ev)
		return
	case hasPrefix(body, "from="):
		postfixQueued(body, ev)
		return
	case hasPrefix(body, "client="):
		postfixClient(body[len("client="):], ev)
		return
	case hasPrefix(body, "sender non-delivery notification: "):
		m.Action = logs.ActBackscatter
		return
	case hasPrefix(body, "filter: "), hasPrefix(body, "hold: "), hasPrefix(body, "discard: "),
		hasPrefix(body, "redirect: "), hasPrefix(body, "warn: "), hasPrefix(body, "info: "),
		hasPrefix(body, "prepend: "), hasPrefix(body, "replace: "):
		// access(5) and header_checks actions other than reject.
		if a, _, ok := clientAfter(body, "from "); ok {
			ev.Src = a
		}
		return
	case hasPrefix(body, "uid="):
		// pickup: a local submission.
		if v, ok := field(body, "from="); ok {
			m.From = v
		}
		return
	}
	switch svc {
	case "smtpd":
		postfixSmtpd(body, ev)
	case "postscreen", "tlsproxy":
		postfixPostscreen(body, ev)
	case "dnsblog":
		// "addr 192.0.2.1 listed by domain zen.spamhaus.org as 127.0.0.2"
		if rest, ok := after(body, "addr "); ok {
			end := strings.IndexByte(rest, ' ')
			if end > 0 {
				if a, ok := parseAddr(rest[:end]); ok {
					ev.Src = a
					m.Reason = ReasonRBL
				}
			}
		}
	}
}

// queueID splits "3F2A01234: rest" or "NOQUEUE: rest". Short ids are
// upper-case hex; long ids (enable_long_queue_ids) use an alphabet without
// vowels, which keeps words such as "warning" from passing for one.
func queueID(s string) (string, string, bool) {
	n := 0
	hex, vowel := true, false
	for n < len(s) && n < 24 && isAlnum(s[n]) {
		c := s[n]
		if !(isDigit(c) || (c >= 'A' && c <= 'F')) {
			hex = false
		}
		switch c {
		case 'a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U':
			vowel = true
		}
		n++
	}
	if n < 5 || n+1 >= len(s) || s[n] != ':' || s[n+1] != ' ' {
		return "", s, false
	}
	if !hex && s[:n] != "NOQUEUE" && (vowel || n < 10) {
		return "", s, false
	}
	return s[:n], s[n+2:], true
}

// clientAt reads "name[addr]" or "[addr]" with an optional ":port" at the
// start of s (Postfix's client notation) and returns what follows.
func clientAt(s string) (name string, a netip.Addr, rest string, ok bool) {
	open := -1
	for i := 0; i < len(s) && i < 300; i++ {
		c := s[i]
		if c == '[' {
			open = i
			break
		}
		if c == ' ' || c == ']' {
			return "", netip.Addr{}, s, false
		}
	}
	if open < 0 {
		return "", netip.Addr{}, s, false
	}
	a, rest, ok = bracketed(s[open:])
	if !ok {
		return "", netip.Addr{}, s, false
	}
	return s[:open], a, skipPort(rest), true
}

// clientAfter finds the first " from name[addr]" (or "from " at the start)
// in s and returns the client.
func clientAfter(s, marker string) (netip.Addr, string, bool) {
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], marker)
		if i < 0 {
			break
		}
		i += off
		if _, a, rest, ok := clientAt(s[i+len(marker):]); ok {
			return a, rest, true
		}
		off = i + len(marker)
	}
	return netip.Addr{}, "", false
}

// lastClientAfter is clientAfter taking the last match: header and body
// checks quote attacker text before the real client.
func lastClientAfter(s, marker string) (netip.Addr, bool) {
	var found netip.Addr
	ok := false
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], marker)
		if i < 0 {
			break
		}
		i += off
		if _, a, _, good := clientAt(s[i+len(marker):]); good {
			found, ok = a, true
		}
		off = i + len(marker)
	}
	return found, ok
}

// postfixReject reads what follows "reject: ":
// "RCPT from x[addr]: 554 5.7.1 <rcpt>: Relay access denied; from=<a> to=<b> proto=ESMTP helo=<h>"
// "header Subject: ... from x[addr]; from=<a> to=<b> proto=ESMTP helo=<h>: 5.7.1 text"
func postfixReject(s string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActReject
	var text string
	if hasPrefix(s, "header ") || hasPrefix(s, "body ") {
		if a, ok := lastClientAfter(s, " from "); ok {
			ev.Src = a
		}
		m.Reason = ReasonContent
		if i := strings.LastIndex(s, "; from=<"); i >= 0 {
			postfixEnvelope(s[i+2:], m)
		}
		return
	}
	a, rest, ok := clientAfter(s, "from ")
	if ok {
		ev.Src = a
		text = strings.TrimPrefix(rest, ": ")
	} else {
		text = s
	}
	// "554 5.7.1 " then the reason text up to "; from=<".
	if len(text) > 4 && isDigit(text[0]) && text[3] == ' ' {
		text = text[4:]
		if len(text) > 0 && isDigit(text[0]) {
			end := strings.IndexByte(text, ' ')
			if end > 0 && end < 12 {
				m.DSN = text[:end]
				text = text[end+1:]
			}
		}
	}
	env := ""
	if i := strings.Index(text, "; from=<"); i >= 0 {
		env = text[i+2:]
		text = text[:i]
	} else if i := strings.Index(text, "; proto="); i >= 0 {
		env = text[i+2:]
		text = text[:i]
	}
	m.Reason = classify(text)
	if hasPrefix(s, "END-OF-MESSAGE ") || hasPrefix(s, "DATA ") && m.Reason == ReasonOther {
		m.Reason = ReasonContent
	}
	if env != "" {
		postfixEnvelope(env, m)
	}
}

// postfixEnvelope reads "from=<a> to=<b> proto=ESMTP helo=<h>" (postscreen
// separates them with ", ").
func postfixEnvelope(s string, m *logs.MailFields) {
	if i := strings.Index(s, "from=<"); i >= 0 {
		m.From = angle(s[i+5:])
	}
	if i := strings.Index(s, "to=<"); i >= 0 {
		m.To = angle(s[i+3:])
	}
	if i := strings.LastIndex(s, "helo=<"); i >= 0 {
		h := s[i+6:]
		if len(h) > 0 && h[len(h)-1] == '>' {
			h = h[:len(h)-1]
		} else if end := strings.IndexByte(h, '>'); end >= 0 {
			h = h[:end]
		}
		m.Helo = h
	}
}

func postfixWarning(s string, ev *logs.Event) {
	m := &ev.Mail
	// "x[addr]: SASL LOGIN authentication failed: ..., sasl_username=admin"
	if _, a, rest, ok := clientAt(s); ok && hasPrefix(rest, ": SASL ") {
		ev.Src = a
		if strings.Contains(rest, "authentication failed") {
			m.Action = logs.ActAuthFail
			m.Reason = ReasonSASL
			if i := strings.LastIndex(rest, "sasl_username="); i >= 0 {
				m.SASLUser = angle(rest[i+len("sasl_username="):])
			}
		}
		return
	}
	switch {
	case hasPrefix(s, "non-SMTP command from "):
		if a, _, ok := clientAfter(s, "from "); ok {
			ev.Src = a
			m.Action = logs.ActProtocolError
			m.Reason = ReasonNonSMTP
		}
	case strings.Contains(s, "limit exceeded: ") && strings.Contains(s, " from "):
		// "Connection rate limit exceeded: 31 from x[addr] for service smtpd"
		if a, _, ok := clientAfter(s, " from "); ok {
			ev.Src = a
			m.Action = logs.ActReject
			m.Reason = ReasonRateLimit
		}
	case hasPrefix(s, "Illegal address syntax from "):
		if a, _, ok := clientAfter(s, "from "); ok {
			ev.Src = a
			m.Action = logs.ActProtocolError
			m.Reason = ReasonProtocol
		}
	case hasPrefix(s, "hostname ") && strings.Contains(s, " does not resolve to address "):
		rest, _ := after(s, " does not resolve to address ")
		end := strings.IndexAny(rest, ": ")
		if end < 0 {
			end = len(rest)
		}
		if a, ok := parseAddr(rest[:end]); ok {
			ev.Src = a
		}
	case hasPrefix(s, "header ") || hasPrefix(s, "body "):
		if a, ok := lastClientAfter(s, " from "); ok {
			ev.Src = a
			m.Reason = ReasonContent
		}
	default:
		// "192.0.2.1: hostname x verification failed", "192.0.2.1: address not listed for hostname x"
		if end := strings.Index(s, ": "); end > 0 && end < 64 {
			if a, ok := parseAddr(s[:end]); ok {
				ev.Src = a
			}
		}
	}
}

// postfixDelivery reads "to=<x>, [orig_to=<y>,] relay=R, ..., dsn=D, status=S (text)".
func postfixDelivery(svc, s string, ev *logs.Event) {
	m := &ev.Mail
	m.To = angle(s[3:])
	m.Relay, _ = field(s, "relay=")
	m.DSN, _ = field(s, "dsn=")
	status, _ := field(s, "status=")
	switch status {
	case "sent", "delivered":
		m.Action = logs.ActSent
	case "bounced":
		m.Action = logs.ActBounced
	case "deferred":
		m.Action = logs.ActDeferred
	case "expired":
		m.Action = logs.ActBounced
		m.Reason = ReasonExpired
	default: // deliverable/undeliverable address probes, softbounce
		m.Action = logs.ActOther
	}
	m.Outbound = postfixOutbound(svc, m.Relay)
}

// postfixOutbound: the smtp client delivered (or tried to) to a host that
// is not this one or its private network. relay=none from smtp is an
// outbound attempt that failed before connecting.
func postfixOutbound(svc, relay string) bool {
	if svc != "smtp" && svc != "relay" {
		return false
	}
	if relay == "none" || relay == "" {
		return true
	}
	_, a, _, ok := clientAt(relay)
	if !ok {
		return false
	}
	return !isLocalAddr(a)
}

// postfixQueued reads qmgr's "from=<x>, size=N, nrcpt=M (queue active)" and
// "from=<x>, status=expired, returned to sender".
func postfixQueued(s string, ev *logs.Event) {
	m := &ev.Mail
	m.From = angle(s[5:])
	if st, ok := field(s, "status="); ok {
		if st == "expired" {
			m.Action = logs.ActBounced
			m.Reason = ReasonExpired
		}
		return
	}
	if v, ok := field(s, "size="); ok {
		m.Size = atoi64(v)
	}
	if v, ok := field(s, "nrcpt="); ok {
		m.NRcpt = int(atoi64(v))
	}
	m.Action = logs.ActQueued
}

// postfixClient reads smtpd's "client=x[addr][, sasl_method=M, sasl_username=u]".
func postfixClient(s string, ev *logs.Event) {
	m := &ev.Mail
	if _, a, _, ok := clientAt(s); ok {
		ev.Src = a
	}
	if v, ok := field(s, "sasl_username="); ok {
		m.SASLUser = v
		m.Action = logs.ActAuthOK
	}
}

func postfixSmtpd(s string, ev *logs.Event) {
	m := &ev.Mail
	switch {
	case hasPrefix(s, "connect from "):
		if _, a, _, ok := clientAt(s[len("connect from "):]); ok {
			ev.Src = a
			m.Action = logs.ActConnect
		}
	case hasPrefix(s, "disconnect from "):
		if _, a, rest, ok := clientAt(s[len("disconnect from "):]); ok {
			ev.Src = a
			m.Action = logs.ActDisconnect
			// "auth=0/1": AUTH commands sent / succeeded.
			if v, ok := field(rest, "auth="); ok {
				if slash := strings.IndexByte(v, '/'); slash > 0 && v[:slash] != v[slash+1:] {
					m.Reason = ReasonAuthFailed
				}
			}
		}
	case hasPrefix(s, "lost connection after "):
		postfixAfter(s[len("lost connection after "):], ev, ReasonLostConnection)
	case hasPrefix(s, "timeout after "):
		postfixAfter(s[len("timeout after "):], ev, ReasonTimeout)
	case hasPrefix(s, "too many errors after "):
		postfixAfter(s[len("too many errors after "):], ev, ReasonTooManyErrors)
	case hasPrefix(s, "improper command pipelining after "):
		postfixAfter(s[len("improper command pipelining after "):], ev, ReasonPipelining)
	case hasPrefix(s, "SSL_accept error from "):
		if _, a, _, ok := clientAt(s[len("SSL_accept error from "):]); ok {
			ev.Src = a
			m.Action = logs.ActProtocolError
			m.Reason = ReasonTLS
		}
	case strings.Contains(s, "TLS connection established from "):
		if a, _, ok := clientAfter(s, "established from "); ok {
			ev.Src = a
		}
	}
}

// postfixAfter reads "CMD from x[addr]..." after "lost connection after ",
// "timeout after " and similar. A connection lost right after AUTH is the
// mark of a password-guessing bot, so it gets its own reason.
func postfixAfter(s string, ev *logs.Event, reason string) {
	a, _, ok := clientAfter(s, " from ")
	if !ok {
		return
	}
	ev.Src = a
	ev.Mail.Action = logs.ActProtocolError
	ev.Mail.Reason = reason
	if reason == ReasonLostConnection && hasPrefix(s, "AUTH ") {
		ev.Mail.Reason = ReasonLostAfterAuth
	}
}

func postfixPostscreen(s string, ev *logs.Event) {
	m := &ev.Mail
	word := s
	if i := strings.IndexByte(s, ' '); i > 0 {
		word = s[:i]
	}
	var a netip.Addr
	var ok bool
	switch word {
	case "CONNECT", "PREGREET", "HANGUP", "COMMAND", "NON-SMTP", "BARE":
		a, _, ok = clientAfter(s, "from ")
	case "PASS", "DISCONNECT", "WHITELISTED", "ALLOWLISTED", "BLACKLISTED", "DENYLISTED", "DNSBL", "WHITELIST", "ALLOWLIST":
		if i := strings.IndexByte(s, '['); i >= 0 {
			a, _, ok = bracketed(s[i:])
		}
	default:
		return
	}
	if !ok {
		return
	}
	ev.Src = a
	switch word {
	case "CONNECT":
		m.Action = logs.ActConnect
	case "DISCONNECT":
		m.Action = logs.ActDisconnect
	case "PREGREET":
		m.Action, m.Reason = logs.ActProtocolError, ReasonPregreet
	case "HANGUP":
		m.Action, m.Reason = logs.ActProtocolError, ReasonHangup
	case "NON-SMTP":
		m.Action, m.Reason = logs.ActProtocolError, ReasonNonSMTP
	case "BARE":
		m.Action, m.Reason = logs.ActProtocolError, ReasonProtocol
	case "COMMAND":
		m.Action = logs.ActProtocolError
		switch {
		case hasPrefix(s, "COMMAND PIPELINING"):
			m.Reason = ReasonPipelining
		case hasPrefix(s, "COMMAND TIME LIMIT"):
			m.Reason = ReasonTimeout
		default:
			m.Reason = ReasonCommandLimit
		}
	case "BLACKLISTED", "DENYLISTED":
		m.Action, m.Reason = logs.ActReject, ReasonClientHost
	case "DNSBL":
		// "DNSBL rank 5 for [addr]:port": scored, not yet refused; the
		// refusal, if any, follows as a NOQUEUE reject.
		m.Reason = ReasonRBL
	}
}

// parseDovecot reads the Dovecot lines found in mail.log; login failures
// of IMAP/POP3/submission become auth_fail with the remote address.
func parseDovecot(msg string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActOther
	if v, ok := field(msg, "rip="); ok {
		if a, ok := parseAddr(v); ok {
			ev.Src = a
		}
	}
	if v, ok := field(msg, "user="); ok {
		m.SASLUser = v
	}
	switch {
	case strings.Contains(msg, "-login: ") && (strings.Contains(msg, "auth failed") ||
		strings.Contains(msg, "Aborted login (auth failed") || strings.Contains(msg, "(auth failed")):
		m.Action, m.Reason = logs.ActAuthFail, ReasonSASL
	case strings.Contains(msg, "-login: Login: "):
		m.Action = logs.ActAuthOK
	}
	if !ev.Src.IsValid() && m.Action != logs.ActOther {
		m.Action = logs.ActOther
	}
}
