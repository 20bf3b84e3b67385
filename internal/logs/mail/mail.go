// Package mail parses mail server logs: Postfix, Sendmail and Exim, and
// the neighbours that share their log files on real hosts (Dovecot,
// Roundcube, the nginx mail proxy).
//
// Every parser scans bytes once, without regular expressions, and slices
// the line for every string field, so an event costs no allocation.
package mail

import (
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/syslog"
)

// Reasons carried in MailFields.Reason. Rejects are classified by why the
// server refused; protocol errors and auth failures by what went wrong.
const (
	ReasonRelayDenied      = "relay_denied"      // Relay access denied, relay not permitted
	ReasonRBL              = "rbl"               // blocked using / listed in a DNS blocklist
	ReasonHelo             = "helo"              // Helo command rejected
	ReasonSender           = "sender"            // Sender address rejected, sender verify failed
	ReasonRecipientUnknown = "recipient_unknown" // User unknown, undeliverable, unrouteable address
	ReasonRecipient        = "recipient"         // any other recipient refusal (policy)
	ReasonClientHost       = "client_host"       // Client host rejected, connect ACL, tcpwrappers
	ReasonGreylist         = "greylist"          // temporary greylisting refusal
	ReasonContent          = "content"           // header/body checks, milters, spam scanners
	ReasonRateLimit        = "rate_limit"        // connection or message rate limits
	ReasonPipelining       = "pipelining"        // improper pipelining, SMTP synchronization error
	ReasonPregreet         = "pregreet"          // client talked before the greeting
	ReasonNonSMTP          = "non_smtp"          // HTTP or binary junk sent to an SMTP port
	ReasonLostAfterAuth    = "lost_after_auth"   // dropped the connection right after AUTH: password guessing
	ReasonLostConnection   = "lost_connection"   // dropped the connection at any other step
	ReasonTimeout          = "timeout"           // command or data timeout
	ReasonTooManyErrors    = "too_many_errors"   // too many errors or unknown commands
	ReasonCommandLimit     = "command_limit"     // postscreen command count or length limit
	ReasonHangup           = "hangup"            // postscreen: hung up during the tests
	ReasonNoMail           = "no_mail"           // connected and left without sending MAIL
	ReasonTLS              = "tls"               // TLS handshake failure
	ReasonProtocol         = "protocol"          // other SMTP protocol errors (AUTH not advertised, ...)
	ReasonSMTPAttack       = "smtp_attack"       // Sendmail "possible SMTP attack"
	ReasonProbe            = "probe"             // VRFY/EXPN probing
	ReasonSASL             = "sasl"              // SASL authentication failure
	ReasonAuthFailed       = "auth_failed"       // disconnect summary with failed AUTH commands (auth=0/1)
	ReasonExpired          = "expired"           // message expired in the queue and was returned
	ReasonOther            = "other"             // refused for a reason not classified above
)

// Formats lists the mail formats. Sendmail and Roundcube come before
// Postfix so that a file holding only their lines, which the lenient Postfix
// format also reads, is named for what it is when detection ties.
func Formats() []logs.Format {
	return []logs.Format{
		{Name: "sendmail", Kind: logs.KindMail,
			Doc: "Sendmail (sm-mta, sendmail) through syslog: rejects, relaying denied, AUTH failures, SMTP attacks, deliveries",
			New: func(o logs.Options) logs.Parser { return newSyslogMail(o, familySendmail) }},
		{Name: "roundcube", Kind: logs.KindMail,
			Doc: "Roundcube webmail errors and userlogins logs: IMAP login failures, messages sent",
			New: func(o logs.Options) logs.Parser { return newRoundcube(o) }},
		{Name: "postfix", Kind: logs.KindMail,
			Doc: "Postfix through syslog or journald (and the Sendmail, Dovecot and Roundcube lines that share mail.log): connects, rejects, SASL, postscreen, deliveries",
			New: func(o logs.Options) logs.Parser { return newSyslogMail(o, familyPostfix) }},
		{Name: "exim", Kind: logs.KindMail,
			Doc: "Exim mainlog (or Exim through syslog): rejected RCPT, authenticator failed, protocol errors, arrivals, deliveries, bounces",
			New: func(o logs.Options) logs.Parser { return newExim(o) }},
		{Name: "nginx-mail", Kind: logs.KindMail,
			Doc: "nginx mail proxy (error-log lines of the mail module): connections, login failures and successes",
			New: func(o logs.Options) logs.Parser { return newNginxMail(o) }},
	}
}

// Malformed reasons.
var (
	errNotMail     = logs.Malformed("not a mail program")
	errNotSendmail = logs.Malformed("not a sendmail line")
	errNotExim     = logs.Malformed("not an exim line")
	errEmpty       = logs.Malformed("empty line")
)

// family says which program a syslog mail parser is named for.
type family uint8

const (
	familyPostfix family = iota
	familySendmail
)

// syslogMail reads mail programs' syslog lines. The Postfix flavour also
// reads the other mail programs found in the same mail.log; the Sendmail
// flavour reads Sendmail only.
type syslogMail struct {
	hdr    *syslog.Parser
	family family
	rc     *roundcube
}

func newSyslogMail(o logs.Options, f family) *syslogMail {
	p := &syslogMail{hdr: syslog.New(o), family: f}
	if f == familyPostfix {
		p.rc = newRoundcube(o)
	}
	return p
}

// reset clears what a mail parser sets, so an Event can be reused.
func reset(ev *logs.Event) {
	ev.Time, ev.Src, ev.Kind, ev.Format = time.Time{}, netip.Addr{}, logs.KindNone, ""
	ev.Mail = logs.MailFields{}
}

func (p *syslogMail) Parse(line string, ev *logs.Event) error {
	reset(ev)
	line = trimEnd(line)
	if line == "" {
		return errEmpty
	}
	var h syslog.Header
	if err := p.hdr.Parse(line, &h); err != nil {
		if p.rc != nil && len(line) > 0 && line[0] == '[' {
			return p.rc.Parse(line, ev)
		}
		return err
	}
	ev.Time = h.Time
	ev.Kind = logs.KindMail
	ev.Mail.Program = h.Program
	msg := h.Message
	switch {
	case isPostfix(h.Program):
		if p.family != familyPostfix {
			return errNotSendmail
		}
		ev.Format = "postfix"
		parsePostfix(service(h.Program), msg, ev)
		return nil
	case isSendmail(h.Program):
		ev.Format = "sendmail"
		parseSendmail(msg, ev)
		return nil
	}
	if p.family != familyPostfix {
		return errNotSendmail
	}
	switch {
	case h.Program == "dovecot" || strings.HasPrefix(h.Program, "dovecot/"):
		ev.Format = "dovecot"
		parseDovecot(msg, ev)
		return nil
	case h.Program == "exim" || h.Program == "exim4":
		ev.Format = "exim"
		if !parseEximSyslog(msg, ev, p.hdr) {
			return errNotExim
		}
		return nil
	case isMailNeighbour(h.Program):
		ev.Format = "postfix"
		ev.Mail.Action = logs.ActOther
		return nil
	}
	return errNotMail
}

// isPostfix matches postfix/smtpd, postfix-incoming/smtpd,
// postfix/submission/smtpd, postfix/postfix-script and bare "postfix".
func isPostfix(prog string) bool {
	return strings.HasPrefix(prog, "postfix")
}

// service is the last part of a Postfix program name: "smtpd" in
// "postfix/submission/smtpd".
func service(prog string) string {
	if i := strings.LastIndexByte(prog, '/'); i >= 0 {
		return prog[i+1:]
	}
	return prog
}

func isSendmail(prog string) bool {
	return prog == "sendmail" || strings.HasPrefix(prog, "sm-")
}

// isMailNeighbour names programs that write to mail.log beside the MTA and
// whose lines are understood as "other" rather than malformed.
func isMailNeighbour(prog string) bool {
	switch prog {
	case "amavis", "amavisd", "amavisd-new", "opendkim", "opendmarc", "spamd", "spamc",
		"postgrey", "policyd-spf", "policyd", "saslauthd", "clamsmtpd", "clamd",
		"milter-greylist", "mailman", "procmail", "imapd", "pop3d", "imapd-ssl", "pop3d-ssl",
		"courierpop3login", "courierpop3d", "postlicyd", "sqlgrey", "rspamd", "fetchmail":
		return true
	}
	return false
}

// trimEnd drops a CR left by CRLF files and the run of commas a damaged
// CSV export appends (no mail program ends a line with a comma).
func trimEnd(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		if c == '\r' || c == '\n' || c == ',' {
			s = s[:len(s)-1]
			continue
		}
		break
	}
	return s
}

// parseAddr reads an IP literal as logged by mail servers: plain, with an
// "IPv6:" prefix, with a %zone (dropped), IPv4-mapped IPv6 (unmapped).
func parseAddr(s string) (netip.Addr, bool) {
	if len(s) > 5 && (s[:5] == "IPv6:" || s[:5] == "ipv6:") {
		s = s[5:]
	}
	if len(s) == 0 || len(s) > 64 {
		return netip.Addr{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			s = s[:i]
			break
		}
		// Anything else than an address fails here, before ParseAddr
		// would allocate an error for it.
		if !(isDigit(c) || c == '.' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'f')) {
			return netip.Addr{}, false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// bracketed reads "[addr]" at the start of s and returns the address and
// what follows the closing bracket.
func bracketed(s string) (netip.Addr, string, bool) {
	if len(s) < 3 || s[0] != '[' {
		return netip.Addr{}, s, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return netip.Addr{}, s, false
	}
	a, ok := parseAddr(s[1:end])
	return a, s[end+1:], ok
}

// skipPort drops ":port" after an address.
func skipPort(s string) string {
	if len(s) > 1 && s[0] == ':' && isDigit(s[1]) {
		i := 1
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return s[i:]
	}
	return s
}

// isLocalAddr says whether a relay address stays on this host or network.
func isLocalAddr(a netip.Addr) bool {
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified()
}

// cut returns what follows the first sep in s.
func after(s, sep string) (string, bool) {
	i := strings.Index(s, sep)
	if i < 0 {
		return "", false
	}
	return s[i+len(sep):], true
}

// angle reads "<x>" or a bare word at the start of s (up to ',' or space)
// and returns the address without brackets.
func angle(s string) string {
	if len(s) > 0 && s[0] == '<' {
		if end := strings.IndexByte(s, '>'); end >= 0 {
			return s[1:end]
		}
		return s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ',' || s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

// field returns the value of "key=" in s, where key starts s or follows a
// space or comma; the value ends at ',' or ' ' (or '>' for "<...>").
func field(s, key string) (string, bool) {
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], key)
		if i < 0 {
			return "", false
		}
		i += off
		if i == 0 || s[i-1] == ' ' || s[i-1] == ',' {
			v := s[i+len(key):]
			if len(v) > 0 && v[0] == '<' {
				if end := strings.IndexByte(v, '>'); end >= 0 {
					return v[1:end], true
				}
				return v[1:], true
			}
			for j := 0; j < len(v); j++ {
				if v[j] == ',' || v[j] == ' ' {
					return v[:j], true
				}
			}
			return v, true
		}
		off = i + len(key)
	}
	return "", false
}

// atoi64 reads leading decimal digits.
func atoi64(s string) int64 {
	var v int64
	for i := 0; i < len(s) && i < 18 && isDigit(s[i]); i++ {
		v = v*10 + int64(s[i]-'0')
	}
	return v
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// classify maps a reject text to a Reason. The checks run from the most
// specific wording to the most general.
func classify(text string) string {
	switch {
	case containsAny(text, "blocked using", "is in a black list", "is in an RBL", "listed at", "listed in",
		"RBL", "blacklisted", "Blocked - see", "dnsbl", "spamhaus"):
		return ReasonRBL
	case containsAny(text, "Relay access denied", "relay not permitted", "Relaying denied", "Relaying temporarily denied",
		"relaying denied", "Relay not permitted"):
		return ReasonRelayDenied
	case containsAny(text, "Helo command rejected", "HELO", "EHLO", "helo"):
		return ReasonHelo
	case containsAny(text, "reylist", "Greylisted", "try again later"):
		return ReasonGreylist
	case containsAny(text, "Sender address rejected", "sender verify", "Sender verify", "Domain of sender address",
		"Sender domain", "sender address"):
		return ReasonSender
	case containsAny(text, "User unknown", "undeliverable address", "Unrouteable address", "Unknown user",
		"unknown user", "No Such User", "No such user", "does not exist", "unknown in", "user unknown"):
		return ReasonRecipientUnknown
	case containsAny(text, "Recipient address rejected"):
		return ReasonRecipient
	case containsAny(text, "Client host rejected", "tcpwrappers", "Access denied", "access denied"):
		return ReasonClientHost
	case containsAny(text, "rate limit", "ratelimit", "too many connections", "Too many"):
		return ReasonRateLimit
	case containsAny(text, "pipelining", "Pipelining"):
		return ReasonPipelining
	case containsAny(text, "local_scan", "content rejected", "Message content", "spam", "Spam", "virus",
		"Virus", "milter", "Command rejected", "Data command rejected"):
		return ReasonContent
	}
	return ReasonOther
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
