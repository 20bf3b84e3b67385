package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
	"github.com/miekg/dns"
)

// ResolverOptions says which DNS server to test and with which names.
type ResolverOptions struct {
	// Addr is host:port of the DNS server.
	Addr string
	// Timeout bounds every exchange; DefaultTimeout when zero.
	Timeout time.Duration
	// Name is a name the server is not authoritative for, asked with the
	// recursion-desired bit (default example.com).
	Name string
	// AnyName is asked with type ANY to measure amplification (default Name).
	// For an authoritative-only server, give one of its own zones.
	AnyName string
	// Burst is how many identical queries test for rate limiting (default 50).
	Burst int
	// FromThisHost marks a check made from the server's own host, which
	// resolvers usually serve: recursion then proves nothing about strangers.
	FromThisHost bool
}

// ResolverData holds the measurements behind a resolver verdict.
type ResolverData struct {
	Recursion RecursionProbe `json:"recursion"`
	Any       AnyProbe       `json:"any"`
	Burst     BurstProbe     `json:"burst"`
}

// RecursionProbe is the answer to one recursive query for a foreign name.
type RecursionProbe struct {
	Name      string `json:"name"`
	Answered  bool   `json:"answered"`
	Rcode     string `json:"rcode,omitempty"`
	RA        bool   `json:"ra"`
	AA        bool   `json:"aa"`
	Answers   int    `json:"answers"`
	Recursive bool   `json:"recursive"`
}

// AnyProbe measures the reply to an ANY query over UDP with EDNS0 4096.
type AnyProbe struct {
	Name          string  `json:"name"`
	Answered      bool    `json:"answered"`
	Rcode         string  `json:"rcode,omitempty"`
	Answers       int     `json:"answers"`
	Truncated     bool    `json:"truncated"`
	QueryBytes    int     `json:"query_bytes"`
	ResponseBytes int     `json:"response_bytes"`
	Factor        float64 `json:"amplification"`
	Minimal       bool    `json:"rfc8482_minimal"`
}

// BurstProbe counts what came back from a burst of identical queries.
type BurstProbe struct {
	Sent        int  `json:"sent"`
	Answered    int  `json:"answered"`
	Truncated   int  `json:"truncated"`
	Refused     int  `json:"refused"`
	Dropped     int  `json:"dropped"`
	RateLimited bool `json:"rate_limited"`
}

// AmplificationLimit is the response/query size ratio from which a server
// counts as a useful reflector for a DDoS.
const AmplificationLimit = 10.0

const maxDNSPacket = 65535

func (o *ResolverOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Name == "" {
		o.Name = "example.com."
	}
	o.Name = dns.Fqdn(o.Name)
	if o.AnyName == "" {
		o.AnyName = o.Name
	}
	o.AnyName = dns.Fqdn(o.AnyName)
	if o.Burst <= 0 {
		o.Burst = 50
	}
	if o.Burst > 500 {
		o.Burst = 500
	}
}

type dnsProbe struct {
	conn  net.Conn
	ctx   context.Context
	wait  time.Duration
	lines []string
	buf   []byte
}

func (p *dnsProbe) note(format string, args ...any) {
	if len(p.lines) < maxTranscript {
		p.lines = append(p.lines, sanitize.Truncate(fmt.Sprintf(format, args...), 300))
	}
}

func (p *dnsProbe) deadline(d time.Duration) time.Time {
	t := time.Now().Add(d)
	if cd, ok := p.ctx.Deadline(); ok && cd.Before(t) {
		t = cd
	}
	return t
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	return m
}

// exchange sends one query and waits for the reply with its ID, returning the
// reply and its size on the wire.
func (p *dnsProbe) exchange(q *dns.Msg) (*dns.Msg, int, int, error) {
	wire, err := q.Pack()
	if err != nil {
		return nil, 0, 0, err
	}
	if err := p.ctx.Err(); err != nil {
		return nil, len(wire), 0, err
	}
	_ = p.conn.SetDeadline(p.deadline(p.wait))
	if _, err := p.conn.Write(wire); err != nil {
		return nil, len(wire), 0, err
	}
	for {
		n, err := p.conn.Read(p.buf)
		if err != nil {
			return nil, len(wire), 0, err
		}
		r := new(dns.Msg)
		if err := r.Unpack(p.buf[:n]); err != nil || r.Id != q.Id || !r.Response {
			continue // a stray or mangled packet; keep waiting for ours
		}
		return r, len(wire), n, nil
	}
}

func describe(r *dns.Msg) string {
	var flags []string
	if r.Authoritative {
		flags = append(flags, "aa")
	}
	if r.RecursionAvailable {
		flags = append(flags, "ra")
	}
	if r.Truncated {
		flags = append(flags, "tc")
	}
	return fmt.Sprintf("%s flags=[%s] answers=%d", dns.RcodeToString[r.Rcode], strings.Join(flags, " "), len(r.Answer))
}

// CheckResolver asks the DNS server, over one UDP socket, whether it resolves
// names for strangers, how much bigger its ANY answer is than the question,
// and whether it slows down a burst of identical queries.
func CheckResolver(ctx context.Context, opts ResolverOptions) Result {
	opts.defaults()
	res := Result{Check: "resolver", Target: opts.Addr, Verdict: Unknown}
	data := &ResolverData{}
	res.Data = data
	d := net.Dialer{Timeout: opts.Timeout}
	conn, err := d.DialContext(ctx, "udp", opts.Addr)
	if err != nil {
		res.Summary = fmt.Sprintf("cannot reach %s: %v", opts.Addr, err)
		return res
	}
	defer func() { _ = conn.Close() }()
	p := &dnsProbe{conn: conn, ctx: ctx, wait: opts.Timeout, buf: make([]byte, maxDNSPacket)}

	rec := &data.Recursion
	rec.Name = opts.Name
	r, _, _, err := p.exchange(query(opts.Name, dns.TypeA))
	if err != nil {
		p.note("Q: %s A +rd: no answer: %v", opts.Name, err)
	} else {
		rec.Answered, rec.Rcode, rec.RA, rec.AA, rec.Answers = true, dns.RcodeToString[r.Rcode], r.RecursionAvailable, r.Authoritative, len(r.Answer)
		p.note("Q: %s A +rd: %s", opts.Name, describe(r))
		for i, rr := range r.Answer {
			if i == 5 {
				p.note("   … %d more", len(r.Answer)-5)
				break
			}
			p.note("   %s", rr.String())
		}
		rec.Recursive = !r.Authoritative && (r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 ||
			r.Rcode == dns.RcodeNameError && r.RecursionAvailable ||
			r.Rcode == dns.RcodeServerFailure && r.RecursionAvailable)
	}

	anyp := &data.Any
	anyp.Name = opts.AnyName
	q := query(opts.AnyName, dns.TypeANY)
	r, qn, rn, err := p.exchange(q)
	anyp.QueryBytes = qn
	if err != nil {
		p.note("Q: %s ANY +rd (EDNS0 4096): no answer: %v", opts.AnyName, err)
	} else {
		anyp.Answered, anyp.Rcode, anyp.Answers, anyp.Truncated, anyp.ResponseBytes = true, dns.RcodeToString[r.Rcode], len(r.Answer), r.Truncated, rn
		if qn > 0 {
			anyp.Factor = float64(rn) / float64(qn)
		}
		for _, rr := range r.Answer {
			if h, ok := rr.(*dns.HINFO); ok && strings.EqualFold(h.Cpu, "RFC8482") {
				anyp.Minimal = true
			}
		}
		p.note("Q: %s ANY +rd (EDNS0 4096): %s, %d bytes for a %d-byte query (x%.1f)", opts.AnyName, describe(r), rn, qn, anyp.Factor)
	}

	if rec.Answered || anyp.Answered {
		p.burst(&opts, &data.Burst)
	}

	res.Transcript = p.lines
	judgeResolver(&res, &opts, data)
	return res
}

// burst sends identical copies of one query as fast as the socket allows,
// then counts the replies: missing or truncated replies mean the server
// limits its response rate (BIND and NSD RRL slip with TC, unbound drops).
func (p *dnsProbe) burst(o *ResolverOptions, b *BurstProbe) {
	q := query(o.Name, dns.TypeA)
	wire, err := q.Pack()
	if err != nil {
		return
	}
	_ = p.conn.SetDeadline(p.deadline(p.wait))
	for i := 0; i < o.Burst; i++ {
		if _, err := p.conn.Write(wire); err != nil {
			break
		}
		b.Sent++
	}
	// Replies to a burst arrive within milliseconds; waiting the full
	// timeout would only make the check slow.
	wait := min(p.wait, 2*time.Second)
	_ = p.conn.SetReadDeadline(p.deadline(wait))
	got := 0
	for got < b.Sent {
		n, err := p.conn.Read(p.buf)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
				p.note("burst: read failed: %v", err)
			}
			break
		}
		r := new(dns.Msg)
		if r.Unpack(p.buf[:n]) != nil || r.Id != q.Id || !r.Response {
			continue
		}
		got++
		switch {
		case r.Truncated:
			b.Truncated++
		case r.Rcode == dns.RcodeRefused:
			b.Refused++
		default:
			b.Answered++
		}
	}
	b.Dropped = b.Sent - got
	b.RateLimited = b.Sent > 0 && b.Dropped+b.Truncated >= max(5, b.Sent/10)
	p.note("burst: %d identical queries for %s A: %d answered, %d refused, %d truncated (TC), %d unanswered",
		b.Sent, o.Name, b.Answered, b.Refused, b.Truncated, b.Dropped)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func judgeResolver(res *Result, o *ResolverOptions, d *ResolverData) {
	rec, anyp, b := d.Recursion, d.Any, d.Burst
	if !rec.Answered && !anyp.Answered {
		res.Summary = "no answer over UDP (is a DNS server listening there, and does a firewall let this host in?)"
		return
	}
	amplifies := anyp.Answered && anyp.Factor >= AmplificationLimit && !b.RateLimited
	switch {
	case rec.Recursive && o.FromThisHost:
		res.Verdict = Unknown
		res.Summary = "resolves names for this host, which resolvers usually serve; audit it from a machine outside your networks to see what strangers get"
	case rec.Recursive:
		res.Verdict = Problem
		res.Summary = fmt.Sprintf("OPEN RESOLVER: answered a recursive query for %s from a stranger", rec.Name)
		res.Details = append(res.Details,
			"Open resolvers are the amplifiers of DNS reflection attacks: spoofed queries make your server flood someone else, in your name.",
			"Fix: answer recursion only for your own networks (BIND: allow-recursion { localnets; }; unbound: access-control; or turn recursion off on an authoritative server).")
	case amplifies:
		res.Verdict = Problem
		res.Summary = fmt.Sprintf("AMPLIFIER: ANY %s is answered %.0fx bigger than the query, with no rate limiting", anyp.Name, anyp.Factor)
		if rec.AA {
			res.Details = append(res.Details, fmt.Sprintf("Recursion not tested: the server is authoritative for %s (pick another name with --name).", rec.Name))
		}
		res.Details = append(res.Details, "Large unlimited answers make an authoritative server a reflector too: answer ANY minimally (RFC 8482) and enable response rate limiting.")
	case rec.AA:
		res.Verdict = Unknown
		res.Summary = fmt.Sprintf("the server is authoritative for %s, so recursion was not tested: pick a name it does not serve (--name)", rec.Name)
	case rec.Answered:
		res.Verdict = Fine
		res.Summary = fmt.Sprintf("refuses recursion for strangers (%s", rec.Rcode)
		if !rec.RA {
			res.Summary += ", no RA flag"
		}
		res.Summary += ")"
	default:
		res.Summary = "no answer to the recursive query; cannot tell whether it recurses"
	}
	if anyp.Answered {
		line := fmt.Sprintf("ANY %s: %s, %d answers, %d bytes for %d (amplification x%.1f)", anyp.Name, anyp.Rcode, anyp.Answers, anyp.ResponseBytes, anyp.QueryBytes, anyp.Factor)
		if anyp.Minimal {
			line += ", minimal RFC 8482 answer"
		}
		res.Details = append(res.Details, line)
	}
	if b.Sent > 0 {
		line := fmt.Sprintf("burst of %d identical queries: %d answered, %d refused, %d truncated, %d unanswered", b.Sent, b.Answered, b.Refused, b.Truncated, b.Dropped)
		if b.RateLimited {
			line += ": rate limited"
		} else {
			line += ": no rate limiting seen (consider RRL: BIND rate-limit, NSD rrl, unbound ip-ratelimit)"
		}
		res.Details = append(res.Details, line)
	}
}
