// Package tracetest runs a small authoritative-looking DNS server on
// loopback (UDP and TCP on one port) for tests of code that looks up Team
// Cymru, Abusix and PTR data. It answers only what a test put in it,
// counts every query, and can delay, fail or hand-craft answers.
package tracetest

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a DNS server on 127.0.0.1 serving a test's records.
type Server struct {
	Addr string // HOST:PORT, the same for UDP and TCP

	mu       sync.Mutex
	records  map[key][]dns.RR
	rcodes   map[string]int
	delays   map[string]time.Duration
	handlers map[string]dns.HandlerFunc
	counts   map[key]int
	total    int
}

type key struct {
	name  string
	qtype uint16
}

// Start starts a server on 127.0.0.1 (a free port, UDP and TCP) with a
// fresh mux, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		records:  map[key][]dns.RR{},
		rcodes:   map[string]int{},
		delays:   map[string]time.Duration{},
		handlers: map[string]dns.HandlerFunc{},
		counts:   map[key]int{},
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", s.serve)

	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("tracetest: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("tracetest: no port free for both UDP and TCP: %v", err)
	}
	s.Addr = pc.LocalAddr().String()

	errc := make(chan error, 2)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: mux}, {Listener: ln, Handler: mux}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			t.Fatalf("tracetest: server did not start: %v", err)
		}
		t.Cleanup(func() { srv.Shutdown() })
	}
	return s
}

func fqdn(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// Add adds records written in zone-file syntax ("name 60 IN TXT ...").
func (s *Server) Add(t testing.TB, rrs ...string) {
	t.Helper()
	for _, text := range rrs {
		rr, err := dns.NewRR(text)
		if err != nil {
			t.Fatalf("tracetest: bad record %q: %v", text, err)
		}
		s.AddRR(rr)
	}
}

// AddRR adds one record as it is (for data zone-file syntax cannot say).
func (s *Server) AddRR(rr dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{fqdn(rr.Header().Name), rr.Header().Rrtype}
	s.records[k] = append(s.records[k], rr)
}

// TXT adds one TXT record of name holding the given strings.
func (s *Server) TXT(name string, strs ...string) {
	s.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: strs})
}

// Rcode makes every query for name answer rcode (e.g. dns.RcodeServerFailure).
func (s *Server) Rcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcodes[fqdn(name)] = rcode
}

// Delay makes queries for name wait d before the answer.
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[fqdn(name)] = d
}

// Handle answers queries for name with fn (raw or malformed answers).
func (s *Server) Handle(name string, fn dns.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[fqdn(name)] = fn
}

// Count returns how many queries for name and qtype arrived.
func (s *Server) Count(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key{fqdn(name), qtype}]
}

// CountSuffix returns how many queries of qtype for names under suffix
// arrived.
func (s *Server) CountSuffix(suffix string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	suffix = fqdn(suffix)
	n := 0
	for k, c := range s.counts {
		if k.qtype == qtype && strings.HasSuffix(k.name, suffix) {
			n += c
		}
	}
	return n
}

// Total returns how many queries arrived.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func (s *Server) serve(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.counts[key{name, q.Qtype}]++
	s.total++
	delay := s.delays[name]
	h := s.handlers[name]
	rcode, hasRcode := s.rcodes[name]
	rrs := append([]dns.RR(nil), s.records[key{name, q.Qtype}]...)
	exists := len(rrs) > 0
	if !exists {
		for k := range s.records {
			if k.name == name {
				exists = true
				break
			}
		}
	}
	s.mu.Unlock()

	if delay > 0 {
		time.Sleep(delay)
	}
	if h != nil {
		h(w, r)
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	switch {
	case hasRcode:
		m.Rcode = rcode
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = rrs
	}
	if w.LocalAddr().Network() == "udp" {
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}
