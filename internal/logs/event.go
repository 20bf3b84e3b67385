// Package logs owns what irtui reads: the sources it follows (files, rotated
// siblings, standard input, commands, remote hosts), and the Event every log
// line becomes. Parsers for each family of formats live in sub-packages
// (web, mail, dns, syslog) and are gathered by the formats package.
package logs

import (
	"net/netip"
	"time"
)

// Kind says which family of service a line came from.
type Kind uint8

// The kinds of events. KindNone marks a line no parser understood.
const (
	KindNone Kind = iota
	KindHTTP
	KindMail
	KindDNS
)

// String returns the name used in JSON output ("http", "mail", "dns").
func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindMail:
		return "mail"
	case KindDNS:
		return "dns"
	}
	return ""
}

// Mail actions. Every mail event carries exactly one of these in MailFields.Action.
const (
	ActConnect       = "connect"
	ActDisconnect    = "disconnect"
	ActReject        = "reject"
	ActAuthFail      = "auth_fail"
	ActAuthOK        = "auth_ok"
	ActProtocolError = "protocol_error"
	ActQueued        = "queued"
	ActSent          = "sent"
	ActBounced       = "bounced"
	ActDeferred      = "deferred"
	ActBackscatter   = "backscatter"
	ActOther         = "other"
)

// Web error-log actions, carried in HTTPFields.Action for lines of the
// Apache and nginx error logs. Access-log lines leave Action empty.
const (
	WebAuthFail  = "auth_fail"
	WebDenied    = "denied"      // client denied by server configuration / access forbidden by rule
	WebNotFound  = "not_found"   // file does not exist: probes
	WebModSec    = "modsecurity" // ModSecurity denial
	WebRateLimit = "rate_limit"  // nginx limiting requests
	WebError     = "error"       // any other error-log line
)

// Event is one understood log line. Strings usually point into the line
// they were parsed from, so an Event costs no allocation beyond the line.
type Event struct {
	Time   time.Time  // UTC, honouring the line's own offset
	Src    netip.Addr // the client; invalid when the line has none (outbound mail, queue runs)
	Kind   Kind
	Format string // the name of the format that parsed the line
	Source string // where the line came from (a path, "-", a command, ssh://host/path)
	Host   string // the fleet host the line came from; "" for this host
	LineNo int64  // 1-based line number within Source
	Line   string // the raw line, attacker-controlled: sanitize before showing

	HTTP HTTPFields
	Mail MailFields
	DNS  DNSFields
}

// HTTPFields are the fields of web access and error-log lines. Status to
// Action share a cache line of an Event: the analyzer reads them all for
// every request.
type HTTPFields struct {
	Method  string
	Path    string // without the query string, as logged
	Query   string // without the leading '?'
	Proto   string
	Status  int   // 0 when the line has none (error logs)
	Bytes   int64 // response bytes, 0 for "-"
	Vhost   string
	UA      string
	Action  string // error logs only: one of the Web* constants
	Referer string
	Level   string // error logs only: error, warn, notice, ...
	Module  string // error logs only: core, auth_basic, ...
	Message string // error logs only
}

// MailFields are the fields of Postfix, Sendmail and Exim lines.
type MailFields struct {
	Program  string // postfix/smtpd, sm-mta, exim
	Action   string // one of the Act* constants
	Reason   string // classified reason: relay_denied, rbl, helo, sender, recipient_unknown, client_host, ...
	From     string
	To       string
	Helo     string
	SASLUser string
	QueueID  string
	Relay    string
	DSN      string
	Size     int64
	NRcpt    int
	Outbound bool // delivered to a remote relay (not local)
}

// DNSFields are the fields of BIND query and security lines.
type DNSFields struct {
	QName  string
	QType  string
	QClass string
	RD     bool   // recursion desired ('+' flag)
	Denied bool   // query (cache) denied, zone transfer denied, refused
	Action string // query, denied, xfer_denied, ...
}

// Line is one raw line handed from a source to the parsing stage.
type Line struct {
	Text   string
	Source string
	Host   string
	No     int64
	// Truncated is set when the line was longer than MaxLineBytes and cut.
	Truncated bool
}

// MaxLineBytes is the longest line kept; the rest is dropped and counted.
const MaxLineBytes = 64 << 10
