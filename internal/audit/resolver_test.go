package audit

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestResolverAgainstGoServers(t *testing.T) {
	cases := []struct {
		name        string
		b           resolverBehaviour
		anyName     string
		want        Verdict
		summary     string
		rateLimited bool
		minFactor   float64
	}{
		{"open", resolverBehaviour{recursive: true}, "", Problem, "OPEN RESOLVER", false, AmplificationLimit},
		{"closed", resolverBehaviour{}, "", Fine, "refuses recursion", false, 0},
		{"open and rate limited", resolverBehaviour{recursive: true, rateLimit: 5}, "", Problem, "OPEN RESOLVER", true, 0},
		{"authoritative amplifier", resolverBehaviour{zone: "example.org."}, "example.org", Problem, "AMPLIFIER: ANY example.org. is answered", false, AmplificationLimit},
		{"authoritative for the probe name, big ANY", resolverBehaviour{zone: "example.com."}, "", Problem, "AMPLIFIER", false, AmplificationLimit},
		{"authoritative, minimal ANY", resolverBehaviour{zone: "example.org.", minimal: true}, "example.org", Fine, "refuses recursion", false, 0},
		{"authoritative, big ANY, rate limited", resolverBehaviour{zone: "example.org.", rateLimit: 3}, "example.org", Fine, "refuses recursion", true, AmplificationLimit},
		{"authoritative for the probe name", resolverBehaviour{zone: "example.com.", minimal: true}, "", Unknown, "authoritative for example.com.", false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := startDNS(t, c.b.mux(t))
			r := CheckResolver(context.Background(), ResolverOptions{Addr: addr, Timeout: 2 * time.Second, AnyName: c.anyName})
			d := r.Data.(*ResolverData)
			if r.Verdict != c.want || !strings.Contains(r.Summary, c.summary) {
				t.Fatalf("verdict %v %q, want %v %q\n%s", r.Verdict, r.Summary, c.want, c.summary, strings.Join(r.Transcript, "\n"))
			}
			if d.Burst.RateLimited != c.rateLimited {
				t.Errorf("rate limited %v, want %v: %+v", d.Burst.RateLimited, c.rateLimited, d.Burst)
			}
			if d.Burst.Sent != 50 {
				t.Errorf("burst sent %d, want 50", d.Burst.Sent)
			}
			if d.Any.Factor < c.minFactor {
				t.Errorf("amplification x%.1f, want at least x%.1f", d.Any.Factor, c.minFactor)
			}
		})
	}
}

func TestResolverAmplificationFigures(t *testing.T) {
	addr := startDNS(t, resolverBehaviour{recursive: true}.mux(t))
	r := CheckResolver(context.Background(), ResolverOptions{Addr: addr, Timeout: 2 * time.Second})
	a := r.Data.(*ResolverData).Any
	// 14 TXT records of 200 bytes: the reply is near 3 kB, the query
	// (example.com. ANY with an OPT record) 40 bytes.
	if a.QueryBytes != 40 || a.ResponseBytes < 2900 || a.ResponseBytes > 4096 {
		t.Errorf("query %d bytes, response %d bytes", a.QueryBytes, a.ResponseBytes)
	}
	if want := float64(a.ResponseBytes) / float64(a.QueryBytes); a.Factor != want {
		t.Errorf("factor %v, want %v", a.Factor, want)
	}
}

func TestResolverFromThisHost(t *testing.T) {
	addr := startDNS(t, resolverBehaviour{recursive: true}.mux(t))
	r := CheckResolver(context.Background(), ResolverOptions{Addr: addr, Timeout: 2 * time.Second, FromThisHost: true})
	if r.Verdict != Unknown {
		t.Errorf("verdict %v, want unknown: %s", r.Verdict, r.Summary)
	}
}

func TestResolverSilent(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	start := time.Now()
	r := CheckResolver(context.Background(), ResolverOptions{Addr: pc.LocalAddr().String(), Timeout: 300 * time.Millisecond})
	if r.Verdict != Unknown || !strings.Contains(r.Summary, "no answer") {
		t.Errorf("verdict %v %q", r.Verdict, r.Summary)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if r.Data.(*ResolverData).Burst.Sent != 0 {
		t.Error("burst sent to a server that never answered")
	}
}
