// Package loggen writes realistic logs: web access lines (combined and
// vhost_combined), Postfix mail lines and BIND query lines, for benchmarks,
// tests and drills. Each record is a plain struct; an Append function
// formats one record as one line into a []byte without allocating, and an
// Event method gives the logs.Event a parser should make of that line, so a
// test can check a detector without depending on a parser.
package loggen

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// HTTP is one web request.
type HTTP struct {
	Time    time.Time
	Src     netip.Addr
	User    string // "" is written as "-"
	Vhost   string // vhost_combined only
	Method  string
	Path    string // with the query string, as requested
	Proto   string
	Status  int
	Bytes   int64
	Referer string
	UA      string
}

// AppendCombined appends r as an Apache/nginx combined line, with its newline.
func AppendCombined(dst []byte, r *HTTP) []byte {
	dst = appendAddr(dst, r.Src)
	dst = append(dst, " - "...)
	if r.User == "" {
		dst = append(dst, '-')
	} else {
		dst = append(dst, r.User...)
	}
	dst = append(dst, " ["...)
	dst = appendCLF(dst, r.Time)
	dst = append(dst, "] \""...)
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = appendQuoted(dst, r.Path)
	dst = append(dst, ' ')
	dst = append(dst, r.Proto...)
	dst = append(dst, "\" "...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ' ')
	if r.Bytes == 0 {
		dst = append(dst, '-')
	} else {
		dst = strconv.AppendInt(dst, r.Bytes, 10)
	}
	dst = append(dst, " \""...)
	if r.Referer == "" {
		dst = append(dst, '-')
	} else {
		dst = appendQuoted(dst, r.Referer)
	}
	dst = append(dst, "\" \""...)
	dst = appendQuoted(dst, r.UA)
	return append(dst, "\"\n"...)
}

// AppendVhostCombined appends r as an Apache vhost_combined line.
func AppendVhostCombined(dst []byte, r *HTTP) []byte {
	dst = append(dst, r.Vhost...)
	dst = append(dst, ":443 "...)
	return AppendCombined(dst, r)
}

// Event returns what a combined parser makes of r.
func (r *HTTP) Event() logs.Event {
	path, query := r.Path, ""
	for i := 0; i < len(path); i++ {
		if path[i] == '?' {
			path, query = r.Path[:i], r.Path[i+1:]
			break
		}
	}
	return logs.Event{
		Time: r.Time.UTC(), Src: r.Src, Kind: logs.KindHTTP, Format: "combined",
		HTTP: logs.HTTPFields{Method: r.Method, Path: path, Query: query, Proto: r.Proto, Status: r.Status,
			Bytes: r.Bytes, Vhost: r.Vhost, UA: r.UA, Referer: r.Referer},
	}
}

// MailKind says which Postfix message a Mail record is.
type MailKind uint8

// The Postfix messages the generator writes.
const (
	MailConnect      MailKind = iota // smtpd: connect from
	MailDisconnect                   // smtpd: disconnect from
	MailReceived                     // smtpd: QUEUEID: client=, then accepted
	MailQmgr                         // qmgr: QUEUEID: from=<>, size=, nrcpt=
	MailDelivered                    // local delivery: status=sent to a mailbox
	MailSent                         // smtp: status=sent to a remote relay (outbound)
	MailRelayDenied                  // smtpd: NOQUEUE: reject: Relay access denied
	MailAuthFail                     // smtpd: SASL LOGIN authentication failed
	MailUnknownUser                  // smtpd: NOQUEUE: reject: User unknown (from=<> is backscatter)
	MailBounceNotice                 // bounce: sender non-delivery notification
)

// Mail is one Postfix log line.
type Mail struct {
	Time     time.Time
	Host     string // this server's host name in the syslog header
	Kind     MailKind
	PID      int
	Src      netip.Addr // the SMTP client, for smtpd lines
	Client   string     // its reverse name, "unknown" when none
	QueueID  string
	From, To string
	Helo     string
	SASLUser string
	Size     int64
	Relay    string // host[addr]:port for MailSent
}

// AppendPostfix appends m as a Postfix line with an RFC 3164 syslog header.
func AppendPostfix(dst []byte, m *Mail) []byte {
	dst = appendSyslog(dst, m.Time, m.Host)
	prog := "postfix/smtpd"
	switch m.Kind {
	case MailQmgr:
		prog = "postfix/qmgr"
	case MailDelivered:
		prog = "postfix/local"
	case MailSent:
		prog = "postfix/smtp"
	case MailBounceNotice:
		prog = "postfix/bounce"
	}
	dst = append(dst, prog...)
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(m.PID), 10)
	dst = append(dst, "]: "...)
	client := func(dst []byte) []byte {
		if m.Client == "" {
			dst = append(dst, "unknown"...)
		} else {
			dst = append(dst, m.Client...)
		}
		dst = append(dst, '[')
		dst = appendAddr(dst, m.Src)
		return append(dst, ']')
	}
	env := func(dst []byte) []byte {
		dst = append(dst, "; from=<"...)
		dst = append(dst, m.From...)
		dst = append(dst, "> to=<"...)
		dst = append(dst, m.To...)
		dst = append(dst, "> proto=ESMTP helo=<"...)
		dst = append(dst, m.Helo...)
		return append(dst, '>')
	}
	switch m.Kind {
	case MailConnect:
		dst = append(dst, "connect from "...)
		dst = client(dst)
	case MailDisconnect:
		dst = append(dst, "disconnect from "...)
		dst = client(dst)
		dst = append(dst, " ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"...)
	case MailReceived:
		dst = append(dst, m.QueueID...)
		dst = append(dst, ": client="...)
		dst = client(dst)
		if m.SASLUser != "" {
			dst = append(dst, ", sasl_method=PLAIN, sasl_username="...)
			dst = append(dst, m.SASLUser...)
		}
	case MailQmgr:
		dst = append(dst, m.QueueID...)
		dst = append(dst, ": from=<"...)
		dst = append(dst, m.From...)
		dst = append(dst, ">, size="...)
		dst = strconv.AppendInt(dst, m.Size, 10)
		dst = append(dst, ", nrcpt=1 (queue active)"...)
	case MailDelivered:
		dst = append(dst, m.QueueID...)
		dst = append(dst, ": to=<"...)
		dst = append(dst, m.To...)
		dst = append(dst, ">, relay=local, delay=0.05, delays=0.03/0/0/0.02, dsn=2.0.0, status=sent (delivered to mailbox)"...)
	case MailSent:
		dst = append(dst, m.QueueID...)
		dst = append(dst, ": to=<"...)
		dst = append(dst, m.To...)
		dst = append(dst, ">, relay="...)
		dst = append(dst, m.Relay...)
		dst = append(dst, ", delay=0.9, delays=0.1/0/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK queued)"...)
	case MailRelayDenied:
		dst = append(dst, "NOQUEUE: reject: RCPT from "...)
		dst = client(dst)
		dst = append(dst, ": 554 5.7.1 <"...)
		dst = append(dst, m.To...)
		dst = append(dst, ">: Relay access denied"...)
		dst = env(dst)
	case MailAuthFail:
		dst = append(dst, "warning: "...)
		dst = client(dst)
		dst = append(dst, ": SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username="...)
		dst = append(dst, m.SASLUser...)
	case MailUnknownUser:
		dst = append(dst, "NOQUEUE: reject: RCPT from "...)
		dst = client(dst)
		dst = append(dst, ": 550 5.1.1 <"...)
		dst = append(dst, m.To...)
		dst = append(dst, ">: Recipient address rejected: User unknown in virtual mailbox table"...)
		dst = env(dst)
	case MailBounceNotice:
		dst = append(dst, m.QueueID...)
		dst = append(dst, ": sender non-delivery notification: "...)
		dst = append(dst, m.Helo...) // the queue ID of the notification
	}
	return append(dst, '\n')
}

// Event returns what the Postfix parser makes of m.
func (m *Mail) Event() logs.Event {
	ev := logs.Event{Time: m.Time.UTC(), Kind: logs.KindMail, Format: "postfix"}
	f := &ev.Mail
	f.Program, f.QueueID, f.From, f.To, f.Helo, f.SASLUser = "postfix/smtpd", m.QueueID, m.From, m.To, m.Helo, m.SASLUser
	switch m.Kind {
	case MailConnect:
		ev.Src, f.Action = m.Src, logs.ActConnect
	case MailDisconnect:
		ev.Src, f.Action = m.Src, logs.ActDisconnect
	case MailReceived: // smtpd's "client=" line: the queue ID is born, nothing decided yet
		ev.Src, f.Action = m.Src, logs.ActOther
	case MailQmgr:
		f.Program, f.Action, f.Size, f.NRcpt = "postfix/qmgr", logs.ActQueued, m.Size, 1
	case MailDelivered:
		f.Program, f.Action, f.Relay, f.DSN = "postfix/local", logs.ActSent, "local", "2.0.0"
	case MailSent:
		f.Program, f.Action, f.Relay, f.DSN, f.Outbound = "postfix/smtp", logs.ActSent, m.Relay, "2.0.0", true
	case MailRelayDenied:
		ev.Src, f.Action, f.Reason, f.DSN = m.Src, logs.ActReject, "relay_denied", "5.7.1"
	case MailAuthFail:
		ev.Src, f.Action, f.Reason = m.Src, logs.ActAuthFail, "sasl"
	case MailUnknownUser:
		ev.Src, f.Action, f.Reason, f.DSN = m.Src, logs.ActReject, "recipient_unknown", "5.1.1"
	case MailBounceNotice:
		f.Program, f.Action = "postfix/bounce", logs.ActBackscatter
	}
	return ev
}

// DNS is one BIND query or denied-query line.
type DNS struct {
	Time   time.Time
	Src    netip.Addr
	Port   int
	QName  string
	QType  string
	RD     bool
	Denied bool
	Server netip.Addr // the address the query arrived at
}

// AppendBind appends d as a BIND 9.11+ query-log line (or a security
// line for a denied query).
func AppendBind(dst []byte, d *DNS) []byte {
	dst = d.Time.UTC().AppendFormat(dst, "02-Jan-2006 15:04:05.000")
	dst = append(dst, " client @0x7f3a4c00"...)
	dst = strconv.AppendInt(dst, int64(d.Port&0xfff), 16)
	dst = append(dst, ' ')
	dst = appendAddr(dst, d.Src)
	dst = append(dst, '#')
	dst = strconv.AppendInt(dst, int64(d.Port), 10)
	dst = append(dst, " ("...)
	dst = append(dst, d.QName...)
	dst = append(dst, "): "...)
	if d.Denied {
		dst = append(dst, "query (cache) '"...)
		dst = append(dst, d.QName...)
		dst = append(dst, '/')
		dst = append(dst, d.QType...)
		dst = append(dst, "/IN' denied\n"...)
		return dst
	}
	dst = append(dst, "query: "...)
	dst = append(dst, d.QName...)
	dst = append(dst, " IN "...)
	dst = append(dst, d.QType...)
	if d.RD {
		dst = append(dst, " +E(0)K ("...)
	} else {
		dst = append(dst, " -E(0)K ("...)
	}
	dst = appendAddr(dst, d.Server)
	return append(dst, ")\n"...)
}

// Event returns what the BIND parser makes of d.
func (d *DNS) Event() logs.Event {
	ev := logs.Event{Time: d.Time.UTC(), Src: d.Src, Kind: logs.KindDNS, Format: "bind-query"}
	ev.DNS = logs.DNSFields{QName: d.QName, QType: d.QType, QClass: "IN", RD: d.RD, Denied: d.Denied, Action: "query"}
	if d.Denied {
		ev.DNS.Action = "denied"
	}
	return ev
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, '-')
	}
	return a.AppendTo(dst)
}

// appendCLF appends 10/Oct/2000:13:55:36 +0000.
func appendCLF(dst []byte, t time.Time) []byte {
	return t.AppendFormat(dst, "02/Jan/2006:15:04:05 -0700")
}

// appendSyslog appends an RFC 3164 header "Mar  3 10:00:01 host ".
func appendSyslog(dst []byte, t time.Time, host string) []byte {
	dst = t.AppendFormat(dst, "Jan _2 15:04:05 ")
	dst = append(dst, host...)
	return append(dst, ' ')
}

// appendQuoted appends s escaped the way Apache escapes request fields.
func appendQuoted(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"
