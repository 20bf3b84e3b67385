package audit

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
)

// RelayOptions says whom to ask and which outside addresses to pretend to
// be. The domains must be ones nobody receives mail for: the defaults are the
// reserved example domains, and nothing is ever sent (no DATA).
type RelayOptions struct {
	// Addr is host:port of the SMTP server.
	Addr string
	// Timeout bounds connecting and every reply; DefaultTimeout when zero.
	Timeout time.Duration
	// Helo is the name we greet with (default relay-test.example.com).
	Helo string
	// LocalPart is the user part of our made-up addresses (default relay-test).
	LocalPart string
	// FromDomain is the outside sender's domain (default example.org).
	FromDomain string
	// ToDomain is the outside recipient's domain (default example.net).
	ToDomain string
	// TargetDomain is a domain the server receives mail for, used by the
	// percent-hack, bang-path, quoted and source-route variants. Empty means
	// the name in the server's greeting, or its address as a domain literal.
	TargetDomain string
	// NoTLS skips the STARTTLS round even when the server offers it.
	NoTLS bool
	// FromThisHost marks a check made from the server's own host: servers
	// normally trust their own host, so an accepted relay then proves
	// nothing about strangers and is reported as unknown.
	FromThisHost bool
}

// RelayAttempt is one MAIL FROM / RCPT TO pair and how the server answered.
type RelayAttempt struct {
	Variant  string `json:"variant"`
	TLS      bool   `json:"tls"`
	From     string `json:"from"`
	To       string `json:"to"`
	MailCode int    `json:"mail_code,omitempty"`
	RcptCode int    `json:"rcpt_code,omitempty"`
	// Outcome is accepted, refused, temporary, sender-refused or not-tested.
	Outcome string `json:"outcome"`
}

// RelayData is the structured part of a relay result.
type RelayData struct {
	Greeting         string         `json:"greeting"`
	TargetDomain     string         `json:"target_domain"`
	StartTLSOffered  bool           `json:"starttls_offered"`
	TLSVersion       string         `json:"tls_version,omitempty"`
	CertificateCheck string         `json:"certificate_check,omitempty"`
	Attempts         []RelayAttempt `json:"attempts"`
}

// Outcomes of an attempt.
const (
	outcomeAccepted  = "accepted"
	outcomeRefused   = "refused"
	outcomeTemporary = "temporary"
	outcomeSender    = "sender-refused"
	outcomeNotTested = "not-tested"
)

const maxTranscript = 400

type smtpSession struct {
	conn     net.Conn
	br       *bufio.Reader
	timeout  time.Duration
	ctx      context.Context
	lines    []string
	overflow bool
}

func (s *smtpSession) note(format string, args ...any) {
	s.add("-- " + fmt.Sprintf(format, args...))
}

func (s *smtpSession) add(line string) {
	if len(s.lines) >= maxTranscript {
		s.overflow = true
		return
	}
	s.lines = append(s.lines, sanitize.Truncate(line, 300))
}

func (s *smtpSession) deadline() time.Time {
	d := time.Now().Add(s.timeout)
	if cd, ok := s.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

func (s *smtpSession) read() (Reply, error) {
	if err := s.ctx.Err(); err != nil {
		return Reply{}, err
	}
	_ = s.conn.SetDeadline(s.deadline())
	r, err := readReply(s.br)
	for i, l := range r.Lines {
		sep := "-"
		if i == len(r.Lines)-1 && err == nil {
			sep = " "
		}
		s.add(fmt.Sprintf("S: %03d%s%s", r.Code, sep, l))
	}
	if err != nil {
		s.note("read failed: %v", err)
	}
	return r, err
}

// cmd sends one command line. Every line we send is built from validated
// names, so it holds no CR or LF of anyone else's.
func (s *smtpSession) cmd(line string) (Reply, error) {
	if err := s.ctx.Err(); err != nil {
		return Reply{}, err
	}
	s.add("C: " + line)
	_ = s.conn.SetDeadline(s.deadline())
	if _, err := s.conn.Write([]byte(line + "\r\n")); err != nil {
		s.note("write failed: %v", err)
		return Reply{}, err
	}
	return s.read()
}

func (o *RelayOptions) defaults() error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	set := func(p *string, def string) {
		if *p == "" {
			*p = def
		}
	}
	set(&o.Helo, "relay-test.example.com")
	set(&o.LocalPart, "relay-test")
	set(&o.FromDomain, "example.org")
	set(&o.ToDomain, "example.net")
	for _, d := range []struct{ what, v string }{{"HELO name", o.Helo}, {"sender domain", o.FromDomain}, {"recipient domain", o.ToDomain}} {
		if !validDomain(d.v) {
			return fmt.Errorf("%s %q is not a domain name (letters, digits, '-' and '.')", d.what, d.v)
		}
	}
	if o.TargetDomain != "" && !validDomain(o.TargetDomain) {
		return fmt.Errorf("target domain %q is not a domain name", o.TargetDomain)
	}
	if !validLocalPart(o.LocalPart) {
		return fmt.Errorf("local part %q may hold only letters, digits, '-', '_' and '.'", o.LocalPart)
	}
	return nil
}

// CheckRelay holds one SMTP conversation with the server and reports whether
// it relays mail from an outside sender to an outside recipient, trying the
// classic address tricks in plain text and again after STARTTLS. It never
// sends DATA: each attempt ends with RSET.
func CheckRelay(ctx context.Context, opts RelayOptions) (res Result) {
	res = Result{Check: "relay", Target: opts.Addr, Verdict: Unknown}
	if err := opts.defaults(); err != nil {
		res.Summary = err.Error()
		return res
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		res.Summary = fmt.Sprintf("bad address %q: %v (use HOST or HOST:PORT)", opts.Addr, err)
		return res
	}
	data := &RelayData{Attempts: []RelayAttempt{}}
	res.Data = data
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		res.Summary = fmt.Sprintf("cannot connect: %v (is an SMTP server listening there, and does a firewall let this host in?)", err)
		return res
	}
	s := &smtpSession{conn: conn, br: bufio.NewReaderSize(conn, maxReplyLine+2), timeout: opts.Timeout, ctx: ctx}
	defer func() {
		_ = s.conn.Close()
		if s.overflow {
			s.lines = append(s.lines, "-- transcript cut: too long")
		}
		res.Transcript = s.lines
	}()
	s.note("connected to %s from %s", conn.RemoteAddr(), conn.LocalAddr())
	greet, err := s.read()
	if err != nil {
		res.Summary = "no greeting from the server: " + err.Error()
		return res
	}
	if len(greet.Lines) > 0 {
		data.Greeting = sanitize.Truncate(greet.Lines[0], 200)
	}
	switch greet.Class() {
	case 2:
	case 5:
		res.Verdict = Fine
		res.Summary = fmt.Sprintf("the server refuses this client outright (%d at greeting)", greet.Code)
		return res
	default:
		res.Summary = fmt.Sprintf("the server is not accepting mail right now (%d at greeting); try again later", greet.Code)
		return res
	}
	data.TargetDomain = opts.TargetDomain
	if data.TargetDomain == "" {
		data.TargetDomain = targetFromGreeting(greet, host, conn.RemoteAddr())
	}
	ext, err := s.hello(opts.Helo)
	if err != nil {
		res.Summary = "the server did not accept EHLO or HELO: " + err.Error()
		return res
	}
	data.StartTLSOffered = ext["STARTTLS"]
	s.attempts(&opts, data, false)
	if data.StartTLSOffered && !opts.NoTLS && !s.broken(data) {
		if err := s.startTLS(host, data); err != nil {
			s.note("STARTTLS failed: %v", err)
			res.Details = append(res.Details, "STARTTLS was offered but failed: "+sanitize.Text(err.Error()))
		} else if _, err := s.hello(opts.Helo); err == nil {
			s.attempts(&opts, data, true)
		}
	}
	if s.ctx.Err() == nil {
		_, _ = s.cmd("QUIT")
	}
	judgeRelay(&res, &opts, data)
	return res
}

// broken reports whether the last attempt lost the connection.
func (s *smtpSession) broken(data *RelayData) bool {
	n := len(data.Attempts)
	return n > 0 && data.Attempts[n-1].Outcome == outcomeNotTested
}

// hello sends EHLO, falling back to HELO for servers without ESMTP, and
// returns the extension keywords offered.
func (s *smtpSession) hello(name string) (map[string]bool, error) {
	r, err := s.cmd("EHLO " + name)
	if err != nil {
		return nil, err
	}
	ext := map[string]bool{}
	if r.Class() == 2 {
		for _, l := range r.Lines[1:] {
			kw, _, _ := strings.Cut(l, " ")
			ext[strings.ToUpper(kw)] = true
		}
		return ext, nil
	}
	r, err = s.cmd("HELO " + name)
	if err != nil {
		return nil, err
	}
	if r.Class() != 2 {
		return nil, fmt.Errorf("HELO answered %d", r.Code)
	}
	return ext, nil
}

func (s *smtpSession) startTLS(host string, data *RelayData) error {
	r, err := s.cmd("STARTTLS")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return fmt.Errorf("server answered %d to STARTTLS", r.Code)
	}
	cfg := &tls.Config{
		// This audit tests relaying, not certificates: a self-signed or
		// expired certificate must not stop us from seeing what the server
		// accepts after the upgrade. The output says so.
		InsecureSkipVerify: true, //nolint:gosec // see above
		MinVersion:         tls.VersionTLS10,
	}
	if _, err := netip.ParseAddr(host); err != nil {
		cfg.ServerName = host
	}
	tc := tls.Client(s.conn, cfg)
	_ = s.conn.SetDeadline(s.deadline())
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return err
	}
	st := tc.ConnectionState()
	data.TLSVersion = tls.VersionName(st.Version)
	data.CertificateCheck = "not verified (this audit tests relaying, not certificates)"
	s.note("TLS established: %s, %s; certificate NOT verified: this audit tests relaying, not certificates",
		tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	s.conn = tc
	s.br = bufio.NewReaderSize(tc, maxReplyLine+2)
	return nil
}

type relayVariant struct {
	name     string
	from, to string
}

func variants(o *RelayOptions, target string) []relayVariant {
	lp := o.LocalPart
	outFrom := lp + "@" + o.FromDomain
	outTo := lp + "@" + o.ToDomain
	return []relayVariant{
		{"outside to outside", outFrom, outTo},
		{"empty sender", "", outTo},
		{"sender in the server's own domain", lp + "@" + target, outTo},
		{"percent hack", outFrom, lp + "%" + o.ToDomain + "@" + target},
		{"bang path", outFrom, o.ToDomain + "!" + lp + "@" + target},
		{"quoted local part with @", outFrom, `"` + outTo + `"@` + target},
		{"source route", outFrom, "@" + target + ":" + outTo},
	}
}

func (s *smtpSession) attempts(o *RelayOptions, data *RelayData, overTLS bool) {
	for _, v := range variants(o, data.TargetDomain) {
		a := RelayAttempt{Variant: v.name, TLS: overTLS, From: v.from, To: v.to, Outcome: outcomeNotTested}
		r, err := s.cmd("MAIL FROM:<" + v.from + ">")
		if err != nil {
			data.Attempts = append(data.Attempts, a)
			return
		}
		a.MailCode = r.Code
		if r.Class() != 2 {
			a.Outcome = outcomeSender
		} else {
			r, err = s.cmd("RCPT TO:<" + v.to + ">")
			if err != nil {
				data.Attempts = append(data.Attempts, a)
				return
			}
			a.RcptCode = r.Code
			switch r.Class() {
			case 2:
				a.Outcome = outcomeAccepted
			case 4:
				a.Outcome = outcomeTemporary
			default:
				a.Outcome = outcomeRefused
			}
		}
		data.Attempts = append(data.Attempts, a)
		if r.Code == 421 {
			s.note("the server is closing the connection")
			data.Attempts = append(data.Attempts, RelayAttempt{Variant: "(rest)", TLS: overTLS, Outcome: outcomeNotTested})
			return
		}
		if _, err := s.cmd("RSET"); err != nil {
			data.Attempts = append(data.Attempts, RelayAttempt{Variant: "(rest)", TLS: overTLS, Outcome: outcomeNotTested})
			return
		}
	}
}

func judgeRelay(res *Result, o *RelayOptions, data *RelayData) {
	var accepted, refused, temporary, sender []string
	for _, a := range data.Attempts {
		label := a.Variant
		if a.TLS {
			label += " (after STARTTLS)"
		}
		switch a.Outcome {
		case outcomeAccepted:
			accepted = append(accepted, fmt.Sprintf("%s: RCPT TO:<%s> accepted (%d)", label, sanitize.Text(a.To), a.RcptCode))
		case outcomeRefused:
			refused = append(refused, label)
		case outcomeTemporary:
			temporary = append(temporary, fmt.Sprintf("%s: temporarily refused (%d)", label, a.RcptCode))
		case outcomeSender:
			sender = append(sender, fmt.Sprintf("%s: sender <%s> refused (%d)", label, sanitize.Text(a.From), a.MailCode))
		}
	}
	if data.CertificateCheck != "" {
		res.Details = append(res.Details, "STARTTLS: "+data.TLSVersion+", certificate "+data.CertificateCheck)
	}
	switch {
	case len(accepted) > 0:
		res.Details = append(res.Details, accepted...)
		if o.FromThisHost {
			res.Verdict = Unknown
			res.Summary = "relays for this host, which servers usually trust; audit it from a machine outside your networks to see what strangers get"
			return
		}
		res.Verdict = Problem
		res.Summary = fmt.Sprintf("OPEN RELAY: accepted %d of %d relay attempts from a stranger", len(accepted), len(data.Attempts))
		res.Details = append(res.Details,
			"Spammers use open relays to send through you: your address lands on blocklists and your own mail stops being delivered.",
			"Fix: only relay for authenticated users and your own networks (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; check mynetworks).",
			"This check never sends DATA; a server that accepts RCPT and refuses after DATA still shows as open here: confirm in its log.")
		if isLoopbackAddr(res.Target) {
			res.Details = append(res.Details, "Tested from this host: if the server trusts local clients (mynetworks), strangers may still be refused; repeat from outside.")
		}
	case len(refused) > 0:
		res.Verdict = Fine
		res.Summary = fmt.Sprintf("refuses relaying: %d attempts refused", len(refused))
		if data.StartTLSOffered && data.TLSVersion != "" {
			res.Summary += " (in plain text and after STARTTLS)"
		}
		res.Details = append(res.Details, temporary...)
		res.Details = append(res.Details, sender...)
	case len(temporary) > 0:
		res.Summary = "the server only answered with temporary errors (greylisting?); run the audit again in a few minutes"
		res.Details = append(res.Details, temporary...)
		res.Details = append(res.Details, sender...)
	case len(sender) > 0:
		res.Summary = "the server refused every sender, so relaying could not be tested (it may need STARTTLS or a known HELO name)"
		res.Details = append(res.Details, sender...)
	default:
		res.Summary = "the conversation ended before any relay attempt was answered"
	}
}

// targetFromGreeting picks the domain for the address tricks: the name the
// server calls itself, or its address as a domain literal.
func targetFromGreeting(greet Reply, host string, remote net.Addr) string {
	if len(greet.Lines) > 0 {
		name, _, _ := strings.Cut(greet.Lines[0], " ")
		if validDomain(name) && strings.Contains(name, ".") {
			return name
		}
	}
	if validDomain(host) && strings.Contains(host, ".") {
		if _, err := netip.ParseAddr(host); err != nil {
			return host
		}
	}
	if ta, ok := remote.(*net.TCPAddr); ok {
		a := ta.AddrPort().Addr().Unmap()
		if a.Is6() {
			return "[IPv6:" + a.String() + "]"
		}
		return "[" + a.String() + "]"
	}
	return "[" + host + "]"
}

// validDomain accepts host names made of letters, digits, '-' and '.', which
// is all we ever put on an SMTP command line.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// errNoTarget is returned when a command needs a host and got none.
var errNoTarget = errors.New("no target given")

// HostPort adds the default port to a target given as HOST, [V6] or V6.
func HostPort(target string, port string) (string, error) {
	if target == "" {
		return "", errNoTarget
	}
	if _, _, err := net.SplitHostPort(target); err == nil {
		return target, nil
	}
	t := strings.TrimSuffix(strings.TrimPrefix(target, "["), "]")
	if strings.ContainsAny(t, "[]/ ") {
		return "", fmt.Errorf("%q is not HOST or HOST:PORT", target)
	}
	return net.JoinHostPort(t, port), nil
}
