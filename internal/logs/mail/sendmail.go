package mail

import (
	"net/netip"
	"strings"

	"github.com/irtui/irtui/internal/logs"
)

// parseSendmail reads the message of sm-mta/sendmail. Every line becomes an
// event; what carries nothing of interest is ActOther.
func parseSendmail(msg string, ev *logs.Event) {
	m := &ev.Mail
	m.Action = logs.ActOther
	body := msg
	// One or two queue ids: "s1GNXHYB005133: " or "QID: NEWQID: DSN: ...".
	if qid, rest, ok := sendmailQID(body); ok {
		m.QueueID = qid
		body = rest
		if _, rest2, ok := sendmailQID(body); ok && hasPrefix(rest2, "DSN: ") {
			body = rest2
		}
	}
	switch {
	case hasPrefix(body, "from="):
		m.From = angle(body[5:])
		if v, ok := field(body, "size="); ok {
			m.Size = atoi64(v)
		}
		if v, ok := field(body, "nrcpts="); ok {
			m.NRcpt = int(atoi64(v))
		}
		if a, ok := sendmailRelay(body); ok {
			ev.Src = a
		}
		m.Action = logs.ActQueued
		return
	case hasPrefix(body, "to="):
		sendmailDelivery(body, ev)
		return
	case hasPrefix(body, "ruleset="):
		sendmailRuleset(body, ev)
		return
	case hasPrefix(body, "AUTH failure"):
		m.Action, m.Reason = logs.ActAuthFail, ReasonSASL
		if v, ok := field(body, "user="); ok {
			m.SASLUser = v
		}
		if a, ok := sendmailRelay(body); ok {
			ev.Src = a
		}
		return
	case hasPrefix(body, "AUTH=server"):
		if a, ok := sendmailRelay(body); ok {
			ev.Src = a
		}
		if v, ok := field(body, "authid="); ok {
			m.SASLUser = v
			m.Action = logs.ActAuthOK
		}
		return
	case hasPrefix(body, "DSN: "):
		m.Action = logs.ActBackscatter
		return
	case hasPrefix(body, "STARTTLS=server"):
		if a, ok := sendmailRelay(body); ok {
			ev.Src = a
			if strings.Contains(body, "error:") || strings.Contains(body, "failed") {
				m.Action, m.Reason = logs.ActProtocolError, ReasonTLS
			}
		}
		return
	case hasPrefix(body, "lost input channel from "):
		if a, ok := sendmailHost(body[len("lost input channel from "):]); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonLostConnection
		}
		return
	case hasPrefix(body, "rejecting commands from "):
		if a, ok := sendmailHost(skipSpaces(body[len("rejecting commands from "):])); ok {
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonPregreet
		}
		return
	case hasPrefix(body, "<") && strings.Contains(body, ">... "):
		// "<user@x>... User unknown": a refused RCPT of the current session.
		end := strings.Index(body, ">... ")
		text := body[end+5:]
		if strings.Contains(text, "User unknown") || strings.Contains(text, "No such user") ||
			strings.Contains(text, "Relaying denied") || strings.Contains(text, "Unknown user") {
			m.Action = logs.ActReject
			m.Reason = classify(text)
			m.To = body[1:end]
		}
		return
	case hasPrefix(body, "tcpwrappers "):
		// "tcpwrappers (host, addr) rejection"
		if i := strings.LastIndex(body, ", "); i >= 0 {
			if end := strings.IndexByte(body[i+2:], ')'); end > 0 {
				if a, ok := parseAddr(body[i+2 : i+2+end]); ok {
					ev.Src = a
					m.Action, m.Reason = logs.ActReject, ReasonClientHost
				}
			}
		}
		return
	}
	// "[addr]: possible SMTP attack", "name [addr]: EXPN root [rejected]",
	// "name [addr] (may be forged) did not issue MAIL/EXPN/VRFY/ETRN ..."
	if a, rest, ok := sendmailHostRest(body); ok {
		rest = strings.TrimPrefix(rest, " (may be forged)")
		switch {
		case hasPrefix(rest, ": possible SMTP attack"):
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonSMTPAttack
			return
		case hasPrefix(rest, " did not issue "):
			ev.Src = a
			m.Action, m.Reason = logs.ActProtocolError, ReasonNoMail
			return
		case hasPrefix(rest, ": ") && strings.HasSuffix(rest, "[rejected]"):
			ev.Src = a
			m.Action, m.Reason = logs.ActReject, ReasonProbe
			return
		case hasPrefix(rest, ": "):
			ev.Src = a
			return
		}
	}
	if strings.Contains(body, "Relaying denied") {
		// A reject text without its ruleset= frame: the client is the last [addr].
		if i := strings.LastIndexByte(body, '['); i >= 0 {
			if a, _, ok := bracketed(body[i:]); ok {
				ev.Src = a
				m.Action, m.Reason = logs.ActReject, ReasonRelayDenied
			}
		}
		return
	}
	if strings.Contains(body, "timeout waiting for input from ") {
		m.Action, m.Reason = logs.ActProtocolError, ReasonTimeout
		if rest, ok := after(body, "input from "); ok {
			if a, ok := sendmailHost(rest); ok {
				ev.Src = a
			}
		}
	}
}

// sendmailQID splits "s1GNXHYB005133: rest": eight characters of encoded
// time and the process id, at least twelve alphanumerics ending in digits.
func sendmailQID(s string) (string, string, bool) {
	n := 0
	for n < len(s) && n < 24 && isAlnum(s[n]) {
		n++
	}
	if n < 12 || n+1 >= len(s) || s[n] != ':' || s[n+1] != ' ' {
		return "", s, false
	}
	for _, c := range []byte(s[n-4 : n]) {
		if !isDigit(c) {
			return "", s, false
		}
	}
	return s[:n], s[n+2:], true
}

// sendmailRelay reads the address from "relay=name [addr]" or "relay=[addr]".
func sendmailRelay(s string) (netip.Addr, bool) {
	v, ok := after(s, "relay=")
	if !ok {
		return netip.Addr{}, false
	}
	return sendmailHost(v)
}

// sendmailHost reads "name [addr]", "[addr]" or "name. [IPv6:addr]" at the
// start of s.
func sendmailHost(s string) (netip.Addr, bool) {
	a, _, ok := sendmailHostRest(s)
	return a, ok
}

func sendmailHostRest(s string) (netip.Addr, string, bool) {
	if len(s) > 0 && s[0] == '[' {
		return bracketed(s)
	}
	sp := strings.IndexByte(s, ' ')
	if sp <= 0 || sp > 260 || sp+1 >= len(s) || s[sp+1] != '[' {
		return netip.Addr{}, s, false
	}
	if strings.IndexByte(s[:sp], ',') >= 0 || strings.IndexByte(s[:sp], '=') >= 0 {
		return netip.Addr{}, s, false
	}
	return bracketed(s[sp+1:])
}

// sendmailDelivery reads "to=<x>, delay=..., mailer=esmtp, relay=mx. [addr], dsn=2.0.0, stat=Sent (...)".
func sendmailDelivery(s string, ev *logs.Event) {
	m := &ev.Mail
	m.To = angle(s[3:])
	m.DSN, _ = field(s, "dsn=")
	stat, _ := after(s, "stat=")
	mailer, _ := field(s, "mailer=")
	if v, ok := after(s, "relay="); ok {
		end := strings.Index(v, ", ")
		if end < 0 {
			end = len(v)
		}
		m.Relay = v[:end]
	}
	switch {
	case hasPrefix(m.DSN, "2"), m.DSN == "" && hasPrefix(stat, "Sent"):
		m.Action = logs.ActSent
	case hasPrefix(m.DSN, "4"), m.DSN == "" && hasPrefix(stat, "Deferred"):
		m.Action = logs.ActDeferred
	case hasPrefix(m.DSN, "5"), m.DSN == "" && stat != "":
		m.Action = logs.ActBounced
	}
	if m.Action == logs.ActSent || m.Action == logs.ActDeferred || m.Action == logs.ActBounced {
		switch mailer {
		case "local", "prog", "*file*", "*include*", "cyrusv2", "mda":
		default:
			if a, ok := sendmailHost(m.Relay); ok {
				m.Outbound = !isLocalAddr(a)
			}
		}
	}
}

// sendmailRuleset reads "ruleset=check_rcpt, arg1=<x>, relay=name [addr], reject=550 5.7.1 <x>... Relaying denied".
func sendmailRuleset(s string, ev *logs.Event) {
	m := &ev.Mail
	if a, ok := sendmailRelay(s); ok {
		ev.Src = a
	}
	rs, _ := field(s, "ruleset=")
	arg1, _ := field(s, "arg1=")
	if !ev.Src.IsValid() && rs == "check_relay" {
		if v, ok := field(s, "arg2="); ok {
			if a, ok := parseAddr(v); ok {
				ev.Src = a
			}
		}
	}
	text, ok := after(s, "reject=")
	if !ok {
		// ruleset=... discard / quarantine: not a refusal of the client.
		return
	}
	m.Action = logs.ActReject
	if len(text) > 4 && isDigit(text[0]) && text[3] == ' ' {
		rest := text[4:]
		if end := strings.IndexByte(rest, ' '); end > 0 && end < 12 && isDigit(rest[0]) {
			m.DSN = rest[:end]
		}
	}
	m.Reason = classify(text)
	switch rs {
	case "check_rcpt":
		m.To = arg1
	case "check_mail":
		m.From = arg1
		if m.Reason == ReasonOther {
			m.Reason = ReasonSender
		}
	case "check_relay":
		if m.Reason == ReasonOther {
			m.Reason = ReasonClientHost
		}
	}
}

func skipSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}
