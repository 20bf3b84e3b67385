package audit

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
	"github.com/miekg/dns"
)

// MailDNSOptions names the domain to check and the resolver to ask.
type MailDNSOptions struct {
	Domain string
	// Resolver is host:port of the DNS server to ask; empty means the first
	// nameserver in /etc/resolv.conf.
	Resolver string
	// DKIMSelectors are checked at SELECTOR._domainkey.DOMAIN. Selectors
	// cannot be discovered through DNS, so only the given ones are checked.
	DKIMSelectors []string
	// Timeout bounds every DNS exchange; DefaultTimeout when zero.
	Timeout time.Duration
}

// Severity of one mail-DNS finding.
const (
	SeverityOK      = "ok"
	SeverityWarn    = "warn"
	SeverityProblem = "problem"
	SeverityUnknown = "unknown"
)

// Finding is one thing the mail-DNS check found, with why it matters.
type Finding struct {
	Area     string `json:"area"`
	Severity string `json:"severity"`
	Text     string `json:"text"`
	Why      string `json:"why,omitempty"`
}

// MailDNSData is the structured result of the mail-DNS check.
type MailDNSData struct {
	Domain   string    `json:"domain"`
	Resolver string    `json:"resolver"`
	SPF      string    `json:"spf,omitempty"`
	DMARC    string    `json:"dmarc,omitempty"`
	MX       []MXHost  `json:"mx,omitempty"`
	Findings []Finding `json:"findings"`
}

// MXHost is one mail exchanger and the reverse DNS of its addresses.
type MXHost struct {
	Host      string      `json:"host"`
	Pref      uint16      `json:"preference"`
	Addresses []MXAddress `json:"addresses"`
}

// MXAddress is one address of an MX host with its PTR names and whether any
// of them resolves back to the address (forward-confirmed reverse DNS).
type MXAddress struct {
	Addr         string   `json:"addr"`
	PTR          []string `json:"ptr,omitempty"`
	ForwardMatch bool     `json:"forward_match"`
}

// Why texts, said once so every finding explains itself the same way.
const (
	whySPF       = "Without a strict SPF record anyone can send mail as this domain; receivers cannot refuse forgeries at the door, and the bounces of forged mail (backscatter) come back to your mailboxes."
	whyDMARC     = "DMARC tells receivers to reject mail that fails SPF and DKIM for this domain; without p=quarantine or p=reject, forged mail in your name is still delivered."
	whyDKIM      = "Without a DKIM key receivers cannot verify your signatures, so your genuine mail fails DMARC once forwarded."
	whyPTR       = "Receivers reject or junk mail from addresses whose reverse DNS is missing or does not resolve back; that includes the bounces your server sends."
	whyMX        = "The MX records say where mail for the domain goes; a broken MX makes senders queue and bounce."
	maxDNSQuery  = 120
	maxMXHosts   = 10
	maxAddrsPerH = 4
	maxPTRNames  = 3
	maxSPFLookup = 10
)

type dnsLookup struct {
	ctx      context.Context
	server   string
	client   *dns.Client
	tcp      *dns.Client
	queries  int
	failures int
	lines    []string
}

var errQueryBudget = errors.New("too many DNS queries for one check")

// lookup asks one question and returns the records of that type in the
// answer (following whatever CNAME chain the resolver included).
func (l *dnsLookup) lookup(name string, qtype uint16) ([]dns.RR, int, error) {
	if l.queries >= maxDNSQuery {
		return nil, 0, errQueryBudget
	}
	if err := l.ctx.Err(); err != nil {
		return nil, 0, err
	}
	l.queries++
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	r, _, err := l.client.ExchangeContext(l.ctx, m, l.server)
	if err == nil && r.Truncated {
		r, _, err = l.tcp.ExchangeContext(l.ctx, m, l.server)
	}
	qs := sanitize.Text(dns.Fqdn(name)) + " " + dns.TypeToString[qtype]
	if err != nil {
		l.failures++
		l.note("Q: %s: %v", qs, err)
		return nil, 0, err
	}
	var out []dns.RR
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	l.note("Q: %s: %s, %d records", qs, dns.RcodeToString[r.Rcode], len(out))
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		l.failures++
		return nil, r.Rcode, fmt.Errorf("%s answered %s", qs, dns.RcodeToString[r.Rcode])
	}
	return out, r.Rcode, nil
}

func (l *dnsLookup) note(format string, args ...any) {
	if len(l.lines) < maxTranscript {
		l.lines = append(l.lines, sanitize.Truncate(fmt.Sprintf(format, args...), 300))
	}
}

// txt returns the TXT records at name, each with its strings joined as RFC
// 7208 says (no separator).
func (l *dnsLookup) txt(name string) ([]string, int, error) {
	rrs, rcode, err := l.lookup(name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, rcode, err
}

// SystemResolver returns the first nameserver of /etc/resolv.conf as
// host:port.
func SystemResolver() (string, error) {
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", fmt.Errorf("cannot read /etc/resolv.conf: %v (give --resolver HOST:PORT)", err)
	}
	if len(cfg.Servers) == 0 {
		return "", errors.New("no nameserver in /etc/resolv.conf (give --resolver HOST:PORT)")
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}

// CheckMailDNS reads the domain's SPF, DMARC, DKIM and MX records and the
// reverse DNS of its mail servers, and says what is missing and why it
// matters for spoofing and backscatter.
func CheckMailDNS(ctx context.Context, opts MailDNSOptions) Result {
	res := Result{Check: "mail-dns", Target: opts.Domain, Verdict: Unknown}
	domain := strings.TrimSuffix(strings.ToLower(opts.Domain), ".")
	if !validDomain(domain) || !strings.Contains(domain, ".") {
		res.Summary = fmt.Sprintf("%q is not a domain name", sanitize.Text(opts.Domain))
		return res
	}
	res.Target = domain
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	server := opts.Resolver
	if server == "" {
		s, err := SystemResolver()
		if err != nil {
			res.Summary = err.Error()
			return res
		}
		server = s
	} else if s, err := HostPort(server, "53"); err == nil {
		server = s
	}
	l := &dnsLookup{
		ctx: ctx, server: server,
		client: &dns.Client{Net: "udp", Timeout: opts.Timeout},
		tcp:    &dns.Client{Net: "tcp", Timeout: opts.Timeout},
	}
	data := &MailDNSData{Domain: domain, Resolver: server}
	res.Data = data
	add := func(area, sev, text, why string) {
		data.Findings = append(data.Findings, Finding{Area: area, Severity: sev, Text: text, Why: why})
	}

	checkSPF(l, domain, data, add)
	checkDMARC(l, domain, data, add)
	if len(opts.DKIMSelectors) == 0 {
		add("DKIM", SeverityUnknown, "not checked: selectors cannot be discovered through DNS (give --dkim-selector NAME)", "")
	}
	for _, sel := range opts.DKIMSelectors {
		checkDKIM(l, domain, sel, add)
	}
	checkMX(l, domain, data, add)

	res.Transcript = l.lines
	problems, warns, unknown := 0, 0, 0
	var missing []string
	explained := map[string]bool{}
	for _, f := range data.Findings {
		line := fmt.Sprintf("%-5s %-7s %s", f.Area, f.Severity, f.Text)
		res.Details = append(res.Details, line)
		if f.Why != "" && f.Severity != SeverityOK && !explained[f.Why] {
			explained[f.Why] = true
			res.Details = append(res.Details, "              why: "+f.Why)
		}
		switch f.Severity {
		case SeverityProblem:
			problems++
			missing = append(missing, f.Area)
		case SeverityWarn:
			warns++
		case SeverityUnknown:
			if f.Area != "DKIM" || len(opts.DKIMSelectors) > 0 {
				unknown++
			}
		}
	}
	switch {
	case problems > 0:
		res.Verdict = Problem
		res.Summary = fmt.Sprintf("%d problems (%s), %d warnings", problems, strings.Join(dedupe(missing), ", "), warns)
	case unknown > 0 || l.failures > 0:
		res.Summary = fmt.Sprintf("some lookups failed (%d); no problems in what was answered", l.failures)
	default:
		res.Verdict = Fine
		res.Summary = fmt.Sprintf("SPF, DMARC and MX in order, %d warnings", warns)
	}
	return res
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// spfRecords returns the SPF records among a name's TXT records.
func spfRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		lt := strings.ToLower(t)
		if lt == "v=spf1" || strings.HasPrefix(lt, "v=spf1 ") {
			out = append(out, t)
		}
	}
	return out
}

// spfPolicy is what an SPF record (with its includes and redirect) amounts to.
type spfPolicy struct {
	lookups int
	all     string // qualifier of the final "all": "-", "~", "?", "+" or "" for none
	ptr     bool
	macros  bool
	errs    []string
}

func checkSPF(l *dnsLookup, domain string, data *MailDNSData, add func(string, string, string, string)) {
	txts, rcode, err := l.txt(domain)
	if err != nil {
		add("SPF", SeverityUnknown, "TXT lookup failed: "+sanitize.Text(err.Error()), "")
		return
	}
	if rcode == dns.RcodeNameError {
		add("SPF", SeverityProblem, domain+" does not exist (NXDOMAIN)", "")
		return
	}
	recs := spfRecords(txts)
	switch len(recs) {
	case 0:
		add("SPF", SeverityProblem, "no SPF record (TXT v=spf1) at "+domain, whySPF)
		return
	case 1:
	default:
		add("SPF", SeverityProblem, fmt.Sprintf("%d SPF records: receivers treat that as a permanent error and ignore SPF", len(recs)), whySPF)
		return
	}
	data.SPF = sanitize.Truncate(recs[0], 500)
	p := &spfPolicy{}
	evalSPF(l, recs[0], 0, p, true)
	text := fmt.Sprintf("%s (%d DNS lookups)", data.SPF, p.lookups)
	switch p.all {
	case "-":
		add("SPF", SeverityOK, text+": ends -all, forgeries fail", "")
	case "~":
		add("SPF", SeverityWarn, text+": ends ~all (softfail): forgeries are only marked, pair it with DMARC p=reject or use -all", whySPF)
	case "?":
		add("SPF", SeverityProblem, text+": ends ?all (neutral): it protects nothing", whySPF)
	case "+":
		add("SPF", SeverityProblem, text+": ends +all: it authorises the whole Internet to send as "+domain, whySPF)
	default:
		add("SPF", SeverityProblem, text+": no all mechanism: mail from anywhere else is neutral", whySPF)
	}
	if p.lookups > maxSPFLookup {
		add("SPF", SeverityProblem, fmt.Sprintf("%d DNS lookups, more than the 10 RFC 7208 allows: receivers stop with a permanent error", p.lookups), whySPF)
	}
	if p.ptr {
		add("SPF", SeverityWarn, "uses the ptr mechanism, which RFC 7208 says not to use (slow, unreliable)", "")
	}
	if p.macros {
		add("SPF", SeverityWarn, "uses macros; their lookups were counted but not followed", "")
	}
	for _, e := range p.errs {
		add("SPF", SeverityWarn, e, "")
	}
}

// evalSPF counts the DNS lookups of an SPF record, following include and
// redirect as receivers do, and records the top-level all qualifier.
func evalSPF(l *dnsLookup, rec string, depth int, p *spfPolicy, top bool) {
	if depth > maxSPFLookup {
		return
	}
	redirect := ""
	sawAll := false
	for _, term := range strings.Fields(rec)[1:] {
		lt := strings.ToLower(term)
		if name, val, ok := strings.Cut(lt, "="); ok && !strings.ContainsAny(name, ":/") {
			if name == "redirect" {
				p.lookups++
				redirect = val
			}
			continue
		}
		q := "+"
		if c := lt[0]; c == '+' || c == '-' || c == '~' || c == '?' {
			q, lt = string(c), lt[1:]
		}
		mech, arg, _ := strings.Cut(lt, ":")
		mech, _, _ = strings.Cut(mech, "/")
		switch mech {
		case "all":
			sawAll = true
			if top {
				p.all = q
			}
		case "include":
			p.lookups++
			if strings.Contains(arg, "%") {
				p.macros = true
				continue
			}
			if p.lookups > maxSPFLookup || arg == "" {
				continue
			}
			txts, _, err := l.txt(arg)
			recs := spfRecords(txts)
			if err != nil || len(recs) != 1 {
				p.errs = append(p.errs, fmt.Sprintf("include:%s has %d SPF records (receivers fail it)", sanitize.Text(arg), len(recs)))
				continue
			}
			evalSPF(l, recs[0], depth+1, p, false)
		case "a", "mx", "ptr", "exists":
			p.lookups++
			if mech == "ptr" {
				p.ptr = true
			}
			if strings.Contains(arg, "%") {
				p.macros = true
			}
		}
	}
	// RFC 7208 6.1: redirect is ignored when the record has an all.
	if redirect != "" && !sawAll && p.lookups <= maxSPFLookup {
		if strings.Contains(redirect, "%") {
			p.macros = true
			return
		}
		txts, _, err := l.txt(redirect)
		recs := spfRecords(txts)
		if err != nil || len(recs) != 1 {
			p.errs = append(p.errs, fmt.Sprintf("redirect=%s has %d SPF records (receivers fail it)", sanitize.Text(redirect), len(recs)))
			return
		}
		evalSPF(l, recs[0], depth+1, p, top)
	}
}

// dmarcTags parses "v=DMARC1; p=reject; rua=…" into lower-case tag names.
func dmarcTags(rec string) map[string]string {
	tags := map[string]string{}
	for _, part := range strings.Split(rec, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			tags[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return tags
}

func checkDMARC(l *dnsLookup, domain string, data *MailDNSData, add func(string, string, string, string)) {
	txts, _, err := l.txt("_dmarc." + domain)
	if err != nil {
		add("DMARC", SeverityUnknown, "TXT lookup failed: "+sanitize.Text(err.Error()), "")
		return
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		add("DMARC", SeverityProblem, "no DMARC record at _dmarc."+domain, whyDMARC)
		return
	case 1:
	default:
		add("DMARC", SeverityProblem, fmt.Sprintf("%d DMARC records: receivers ignore them all", len(recs)), whyDMARC)
		return
	}
	data.DMARC = sanitize.Truncate(recs[0], 500)
	tags := dmarcTags(recs[0])
	switch strings.ToLower(tags["p"]) {
	case "reject":
		add("DMARC", SeverityOK, data.DMARC+": p=reject", "")
	case "quarantine":
		add("DMARC", SeverityOK, data.DMARC+": p=quarantine", "")
	case "none":
		add("DMARC", SeverityWarn, data.DMARC+": p=none only monitors; forged mail is still delivered", whyDMARC)
	default:
		add("DMARC", SeverityProblem, data.DMARC+": no valid p= policy", whyDMARC)
	}
	if pct, ok := tags["pct"]; ok {
		if n, err := strconv.Atoi(pct); err == nil && n < 100 {
			add("DMARC", SeverityWarn, fmt.Sprintf("pct=%d: the policy applies to only %d%% of failing mail", n, n), whyDMARC)
		}
	}
	if tags["rua"] == "" {
		add("DMARC", SeverityWarn, "no rua= address: you get no reports of who sends as your domain", "")
	}
}

func checkDKIM(l *dnsLookup, domain, selector string, add func(string, string, string, string)) {
	if !validDomain(selector) {
		add("DKIM", SeverityUnknown, fmt.Sprintf("selector %q is not a DNS label", sanitize.Text(selector)), "")
		return
	}
	name := selector + "._domainkey." + domain
	txts, _, err := l.txt(name)
	if err != nil {
		add("DKIM", SeverityUnknown, name+": lookup failed: "+sanitize.Text(err.Error()), "")
		return
	}
	var rec string
	for _, t := range txts {
		if strings.Contains(strings.ToLower(t), "p=") {
			rec = t
			break
		}
	}
	if rec == "" {
		add("DKIM", SeverityProblem, "no DKIM key at "+name, whyDKIM)
		return
	}
	tags := dmarcTags(rec)
	p := strings.Join(strings.Fields(tags["p"]), "")
	if p == "" {
		add("DKIM", SeverityWarn, name+": key revoked (empty p=)", whyDKIM)
		return
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		add("DKIM", SeverityProblem, name+": p= is not valid base64", whyDKIM)
		return
	}
	k := strings.ToLower(tags["k"])
	if k == "" || k == "rsa" {
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			add("DKIM", SeverityProblem, name+": p= is not an RSA public key", whyDKIM)
			return
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			add("DKIM", SeverityProblem, name+": k=rsa but the key is not RSA", whyDKIM)
			return
		}
		bits := rk.N.BitLen()
		switch {
		case bits < 1024:
			add("DKIM", SeverityProblem, fmt.Sprintf("%s: RSA key of %d bits; receivers ignore keys under 1024 bits", name, bits), whyDKIM)
		case bits < 2048:
			add("DKIM", SeverityWarn, fmt.Sprintf("%s: RSA key of %d bits; use 2048", name, bits), "")
		default:
			add("DKIM", SeverityOK, fmt.Sprintf("%s: RSA key of %d bits", name, bits), "")
		}
		return
	}
	add("DKIM", SeverityOK, fmt.Sprintf("%s: %s key published", name, sanitize.Text(k)), "")
}

func checkMX(l *dnsLookup, domain string, data *MailDNSData, add func(string, string, string, string)) {
	rrs, rcode, err := l.lookup(domain, dns.TypeMX)
	if err != nil {
		add("MX", SeverityUnknown, "MX lookup failed: "+sanitize.Text(err.Error()), "")
		return
	}
	if rcode == dns.RcodeNameError {
		add("MX", SeverityProblem, domain+" does not exist (NXDOMAIN)", whyMX)
		return
	}
	var hosts []MXHost
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		hosts = append(hosts, MXHost{Host: strings.ToLower(mx.Mx), Pref: mx.Preference})
	}
	if len(hosts) == 1 && hosts[0].Host == "." {
		add("MX", SeverityOK, "null MX (RFC 7505): the domain receives no mail", "")
		return
	}
	if len(hosts) == 0 {
		add("MX", SeverityWarn, "no MX records: senders fall back to the domain's own address (implicit MX)", whyMX)
		hosts = []MXHost{{Host: dns.Fqdn(domain)}}
	}
	if len(hosts) > maxMXHosts {
		add("MX", SeverityWarn, fmt.Sprintf("%d MX hosts; checked the first %d", len(hosts), maxMXHosts), "")
		hosts = hosts[:maxMXHosts]
	}
	for i := range hosts {
		h := &hosts[i]
		name := sanitize.Text(h.Host)
		var addrs []netip.Addr
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			rrs, _, err := l.lookup(h.Host, qt)
			if err != nil {
				continue
			}
			for _, rr := range rrs {
				if a, ok := rrAddr(rr); ok {
					addrs = append(addrs, a)
				}
			}
		}
		if len(addrs) == 0 {
			add("MX", SeverityProblem, name+" has no A or AAAA record", whyMX)
			continue
		}
		if len(addrs) > maxAddrsPerH {
			addrs = addrs[:maxAddrsPerH]
		}
		for _, a := range addrs {
			h.Addresses = append(h.Addresses, checkPTR(l, name, a, add))
		}
	}
	data.MX = hosts
	if len(hosts) > 0 {
		var names []string
		for _, h := range hosts {
			names = append(names, sanitize.Text(h.Host))
		}
		add("MX", SeverityOK, "MX: "+strings.Join(names, ", "), "")
	}
}

func rrAddr(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(v.A.To4())
		return a, ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA.To16())
		return a, ok
	}
	return netip.Addr{}, false
}

// checkPTR looks up the PTR names of one MX address and whether one of them
// resolves back to it.
func checkPTR(l *dnsLookup, host string, a netip.Addr, add func(string, string, string, string)) MXAddress {
	out := MXAddress{Addr: a.String()}
	rev, err := dns.ReverseAddr(a.String())
	if err != nil {
		return out
	}
	rrs, _, err := l.lookup(rev, dns.TypePTR)
	if err != nil {
		add("PTR", SeverityUnknown, fmt.Sprintf("%s (%s): PTR lookup failed", host, a), "")
		return out
	}
	for i, rr := range rrs {
		if i == maxPTRNames {
			break
		}
		out.PTR = append(out.PTR, sanitize.Truncate(rr.(*dns.PTR).Ptr, 255))
	}
	if len(out.PTR) == 0 {
		add("PTR", SeverityProblem, fmt.Sprintf("%s (%s) has no PTR record", host, a), whyPTR)
		return out
	}
	for _, name := range out.PTR {
		qt := dns.TypeA
		if a.Is6() {
			qt = dns.TypeAAAA
		}
		rrs, _, err := l.lookup(name, qt)
		if err != nil {
			continue
		}
		for _, rr := range rrs {
			if b, ok := rrAddr(rr); ok && b == a {
				out.ForwardMatch = true
			}
		}
		if out.ForwardMatch {
			add("PTR", SeverityOK, fmt.Sprintf("%s (%s) -> %s -> %s: forward-confirmed", host, a, name, a), "")
			return out
		}
	}
	add("PTR", SeverityProblem, fmt.Sprintf("%s (%s) -> %s, which does not resolve back to %s", host, a, strings.Join(out.PTR, ", "), a), whyPTR)
	return out
}
