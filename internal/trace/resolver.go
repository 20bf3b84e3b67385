package trace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/time/rate"
)

// errNXDOMAIN means the name does not exist: a definite "nothing here",
// cached like an empty answer.
var errNXDOMAIN = errors.New("no such name")

// maxAnswerRRs bounds how many records of one answer are looked at.
const maxAnswerRRs = 32

// resolver sends queries to the configured servers, one after another on
// failure, each server behind its own rate limit.
type resolver struct {
	servers  []string
	limiters map[string]*rate.Limiter
	udp, tcp *dns.Client
	timeout  time.Duration
	queries  atomic.Int64 // sent, for tests and statistics
}

func newResolver(servers []string, qps float64, burst int, timeout time.Duration) *resolver {
	r := &resolver{
		servers:  servers,
		limiters: map[string]*rate.Limiter{},
		udp:      &dns.Client{Net: "udp", Timeout: timeout, UDPSize: 1232},
		tcp:      &dns.Client{Net: "tcp", Timeout: timeout},
		timeout:  timeout,
	}
	for _, s := range servers {
		r.limiters[s] = rate.NewLimiter(rate.Limit(qps), burst)
	}
	return r
}

// query asks for name/qtype and returns the answer section. NXDOMAIN gives
// errNXDOMAIN; an empty NOERROR answer gives no records and no error.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if len(r.servers) == 0 {
		return nil, errors.New("no DNS resolver configured (use --resolver HOST:PORT or fix /etc/resolv.conf)")
	}
	var errs []error
	for _, srv := range r.servers {
		rrs, err := r.queryOne(ctx, srv, name, qtype)
		if err == nil || errors.Is(err, errNXDOMAIN) {
			return rrs, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (r *resolver) queryOne(ctx context.Context, srv, name string, qtype uint16) ([]dns.RR, error) {
	if err := r.limiters[srv].Wait(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", srv, err)
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	r.queries.Add(1)
	in, _, err := r.udp.ExchangeContext(qctx, m, srv)
	if err == nil && in.Truncated {
		r.queries.Add(1)
		in, _, err = r.tcp.ExchangeContext(qctx, m, srv)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s: timed out asking %s", srv, strings.TrimSuffix(name, "."))
		}
		return nil, fmt.Errorf("%s: %w", srv, err)
	}
	if in.Id != m.Id {
		return nil, fmt.Errorf("%s: answer for another query", srv)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, errNXDOMAIN
	default:
		return nil, fmt.Errorf("%s: %s", srv, dns.RcodeToString[in.Rcode])
	}
	ans := in.Answer
	if len(ans) > maxAnswerRRs {
		ans = ans[:maxAnswerRRs]
	}
	return ans, nil
}

// txt queries TXT records and returns each record's strings joined, as
// Cymru and Abusix split long values over several strings.
func (r *resolver) txt(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range rrs {
		t, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		var b strings.Builder
		for _, s := range t.Txt {
			if b.Len()+len(s) > maxTXTBytes {
				break
			}
			b.WriteString(s)
		}
		out = append(out, unescapeTXT(b.String()))
	}
	return out, nil
}

// unescapeTXT turns miekg/dns's presentation escapes (\" \\ \DDD) back
// into bytes so parsers see the data as sent; sanitizing comes later.
func unescapeTXT(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v < 256 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// flight coalesces concurrent calls for the same key into one.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

// do runs fn once for all callers of key that overlap in time.
func (f *flight) do(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flightCall{}
	}
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &flightCall{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()
	c.val, c.err = fn()
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
	return c.val, c.err
}

// systemResolvers reads the system's resolvers from resolv.conf.
func systemResolvers(path string) []string {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}
