package audit

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// startDNS serves mux over UDP and TCP on one loopback port, the way
// miekg/dns's own tests do: readiness via NotifyStartedFunc, errors on a
// buffered channel, shutdown at cleanup.
func startDNS(t *testing.T, mux *dns.ServeMux) string {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			_ = pc.Close()
			continue // port taken for TCP; try another
		}
		errs := make(chan error, 2)
		var started sync.WaitGroup
		started.Add(2)
		servers := []*dns.Server{
			{PacketConn: pc, Handler: mux, NotifyStartedFunc: started.Done},
			{Listener: ln, Handler: mux, NotifyStartedFunc: started.Done},
		}
		for _, s := range servers {
			go func() { errs <- s.ActivateAndServe() }()
		}
		started.Wait()
		t.Cleanup(func() {
			for _, s := range servers {
				_ = s.Shutdown()
			}
			for range servers {
				if err := <-errs; err != nil {
					t.Errorf("dns server: %v", err)
				}
			}
		})
		return pc.LocalAddr().String()
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return ""
}

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("bad test record %q: %v", s, err)
	}
	return r
}

// bigTXT is an RRset large enough to make ANY an amplifier.
func bigTXT(t testing.TB, name string) []dns.RR {
	var out []dns.RR
	for i := 0; i < 14; i++ {
		out = append(out, rr(t, name+` 300 IN TXT "`+strings.Repeat(string(rune('a'+i)), 200)+`"`))
	}
	return out
}

// resolverBehaviour describes a fake DNS server for the resolver tests.
type resolverBehaviour struct {
	recursive bool   // answer names outside own zone
	zone      string // authoritative zone ("" for none)
	minimal   bool   // RFC 8482 answer to ANY
	rateLimit int    // answer this many identical queries, then slip/drop
}

func (b resolverBehaviour) mux(t *testing.T) *dns.ServeMux {
	var mu sync.Mutex
	seen := map[string]int{}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		key := q.Name + dns.TypeToString[q.Qtype]
		if b.rateLimit > 0 {
			mu.Lock()
			seen[key]++
			n := seen[key]
			mu.Unlock()
			if n > b.rateLimit {
				if n%2 == 0 {
					return // dropped
				}
				m.Truncated = true // slipped
				_ = w.WriteMsg(m)
				return
			}
		}
		own := b.zone != "" && dns.IsSubDomain(b.zone, q.Name)
		switch {
		case own:
			m.Authoritative = true
		case b.recursive:
			m.RecursionAvailable = true
		default:
			m.Rcode = dns.RcodeRefused
			_ = w.WriteMsg(m)
			return
		}
		switch q.Qtype {
		case dns.TypeA:
			m.Answer = append(m.Answer, rr(t, q.Name+" 300 IN A 192.0.2.1"))
		case dns.TypeANY:
			if b.minimal {
				m.Answer = append(m.Answer, rr(t, q.Name+` 300 IN HINFO "RFC8482" ""`))
			} else {
				m.Answer = append(m.Answer, bigTXT(t, q.Name)...)
			}
		}
		writeSized(w, req, m)
	})
	return mux
}

// writeSized truncates a UDP reply to the size the client advertised, as a
// real server must, so resolvers behind it see honest TC bits.
func writeSized(w dns.ResponseWriter, req, m *dns.Msg) {
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}
