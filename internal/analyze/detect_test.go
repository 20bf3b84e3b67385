package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/loggen"
	"github.com/irtui/irtui/internal/logs"
)

// sim feeds an analyzer second by second of data time: benign traffic
// always, an attack during the last part.
type sim struct {
	a     *Analyzer
	start time.Time
	batch []logs.Event
	web   *loggen.Web
	mail  *loggen.MailGen
	dns   *loggen.DNSGen
	// flooder is the single-source flood's address, for its check.
	flooder netip.Addr
}

func newSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	return &sim{
		a:     New(cfg),
		start: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
		web:   loggen.NewWeb(11, 3000, 0.1),
		mail:  loggen.NewMail(12, "mx", "shop.example"),
		dns:   loggen.NewDNS(13, "shop.example", netip.MustParseAddr("192.0.2.53")),
	}
}

func (s *sim) add(ev logs.Event) {
	ev.Source = "test"
	ev.Line = "line"
	s.batch = append(s.batch, ev)
	if len(s.batch) == 256 {
		s.flush()
	}
}

func (s *sim) flush() {
	s.a.AddEvents(s.batch)
	s.batch = s.batch[:0]
}

// run simulates secs seconds from second from: benign web at 20/s, one
// mail every 2 s, DNS at 10/s; attack(t, i) adds the attack's events.
func (s *sim) run(from, secs int, attack func(t time.Time)) {
	for sec := from; sec < from+secs; sec++ {
		base := s.start.Add(time.Duration(sec) * time.Second)
		for i := 0; i < 20; i++ {
			t := base.Add(time.Duration(i) * 50 * time.Millisecond)
			r := s.web.Benign(t)
			s.add(r.Event())
			if i%2 == 0 {
				d := s.dns.Benign(t)
				s.add(d.Event())
			}
		}
		if sec%2 == 0 {
			for _, m := range s.mail.Benign(base) {
				s.add(m.Event())
			}
		}
		if attack != nil {
			attack(base)
		}
	}
	s.flush()
}

func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func find(fs []Finding, kind string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

func covers(targets []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(targets, func(p netip.Prefix) bool { return p.Contains(ip) })
}

func TestBenignRaisesNothing(t *testing.T) {
	for _, cum := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Cumulative = cum
		s := newSim(t, cfg)
		s.run(0, 3600, nil)
		snap := s.a.Snapshot()
		if len(snap.Findings) != 0 {
			for _, f := range snap.Findings {
				t.Errorf("cumulative=%v: benign traffic raised %s: %s", cum, f.Kind, f.Summary)
			}
		}
		if snap.Total.Rate < 25 || snap.Total.Rate > 40 {
			t.Errorf("cumulative=%v: total rate %.1f/s, want about 32.5", cum, snap.Total.Rate)
		}
		if snap.Total.Baseline < 25 || snap.Total.Baseline > 40 {
			t.Errorf("cumulative=%v: total baseline %.1f/s, want about 32.5", cum, snap.Total.Baseline)
		}
	}
}

func TestFindings(t *testing.T) {
	type check func(t *testing.T, s *sim, snap *Snapshot)
	cases := []struct {
		kind   string
		setup  func(s *sim) func(time.Time)
		verify check
	}{
		{"page_flood", func(s *sim) func(time.Time) {
			f := s.web.NewPageFlood(300)
			return func(t time.Time) {
				for i := 0; i < 100; i++ {
					r := f.Next(t.Add(time.Duration(i) * 10 * time.Millisecond))
					s.add(r.Event())
				}
			}
		}, func(t *testing.T, s *sim, snap *Snapshot) {
			f := find(snap.Findings, "page_flood")
			if len(f.Targets) < 100 {
				t.Errorf("page flood targets %d, want most of the 300 bots", len(f.Targets))
			}
			im := s.a.Impact(f.Targets)
			if im.AttackCovered < 0.8 || im.BaselineCut > 0.05 {
				t.Errorf("impact of blocking the page flood's targets: %+v", im)
			}
			if len(snap.Clusters) == 0 || snap.Clusters[0].Size < 250 {
				t.Errorf("clusters %+v, want the botnet as the first", snap.Clusters)
			}
		}},
		{"single_source_flood", func(s *sim) func(time.Time) {
			f := s.web.NewSingleFlood()
			s.flooder = f.IP
			return func(t time.Time) {
				for i := 0; i < 40; i++ {
					r := f.Next(t.Add(time.Duration(i) * 25 * time.Millisecond))
					s.add(r.Event())
				}
			}
		}, func(t *testing.T, s *sim, snap *Snapshot) {
			f := find(snap.Findings, "single_source_flood")
			if len(f.Targets) != 1 || !covers(f.Targets, s.flooder) {
				t.Errorf("targets %v, want exactly the flooder %v", f.Targets, s.flooder)
			}
			if snap.IPs[0].Key != s.flooder.String() || len(snap.IPs[0].Samples) == 0 {
				t.Errorf("top address %+v, want the flooder with sample lines", snap.IPs[0])
			}
		}},
		{"http_bruteforce", func(s *sim) func(time.Time) {
			b := s.web.NewLoginBruteforce(5)
			return func(t time.Time) {
				for i := 0; i < 3; i++ {
					r := b.Next(t.Add(time.Duration(i) * 100 * time.Millisecond))
					s.add(r.Event())
				}
			}
		}, nil},
		{"scanner", func(s *sim) func(time.Time) {
			sc := s.web.NewScanner()
			return func(t time.Time) { r := sc.Next(t); s.add(r.Event()) }
		}, nil},
		{"mail_relay", func(s *sim) func(time.Time) {
			ips := s.mail.Addrs.In(10, 2)
			return func(t time.Time) {
				m := s.mail.RelayAttempt(t, ips[t.Second()%len(ips)])
				s.add(m.Event())
			}
		}, nil},
		{"smtp_auth_bruteforce", func(s *sim) func(time.Time) {
			ips := s.mail.Addrs.In(30, 30)
			return func(t time.Time) {
				for i := 0; i < 3; i++ {
					m := s.mail.AuthFailure(t, ips[(t.Second()*3+i)%len(ips)])
					s.add(m.Event())
				}
			}
		}, func(t *testing.T, s *sim, snap *Snapshot) {
			f := find(snap.Findings, "smtp_auth_bruteforce")
			// 30 addresses in one /24: folded into the prefix.
			if len(f.Targets) != 1 || f.Targets[0].Bits() != 24 {
				t.Errorf("targets %v, want the one /24", f.Targets)
			}
		}},
		{"outbound_spike", func(s *sim) func(time.Time) {
			return func(t time.Time) {
				for i := 0; i < 5; i++ {
					for _, m := range s.mail.Outbound(t) {
						s.add(m.Event())
					}
				}
			}
		}, nil},
		{"backscatter", func(s *sim) func(time.Time) {
			ips := s.mail.Addrs.In(50, 1)
			return func(t time.Time) {
				for i := 0; i < 4; i++ {
					m := s.mail.Backscatter(t, ips[(t.Second()+i)%len(ips)])
					s.add(m.Event())
				}
			}
		}, nil},
		{"dns_open_resolver", func(s *sim) func(time.Time) {
			ips := s.dns.Addrs.In(20, 1)
			return func(t time.Time) {
				d := s.dns.Denied(t, ips[t.Second()%len(ips)])
				s.add(d.Event())
			}
		}, nil},
		{"dns_amplification", func(s *sim) func(time.Time) {
			ips := s.dns.Addrs.In(50, 1)
			return func(t time.Time) {
				for i := 0; i < 30; i++ {
					d := s.dns.Any(t.Add(time.Duration(i)*30*time.Millisecond), ips[i%len(ips)])
					s.add(d.Event())
				}
			}
		}, nil},
	}
	for _, tc := range cases {
		for _, cum := range []bool{false, true} {
			name := tc.kind + "/live"
			if cum {
				name = tc.kind + "/report"
			}
			t.Run(name, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Cumulative = cum
				s := newSim(t, cfg)
				s.run(0, 1800, nil)
				if fs := s.a.Snapshot().Findings; len(fs) != 0 {
					t.Fatalf("findings before the attack: %v", kinds(fs))
				}
				s.run(1800, 120, tc.setup(s))
				snap := s.a.Snapshot()
				f := find(snap.Findings, tc.kind)
				if f == nil {
					t.Fatalf("no %s finding; got %v", tc.kind, kinds(snap.Findings))
				}
				if f.Summary == "" || len(f.Evidence) == 0 || len(f.Ports) == 0 {
					t.Errorf("finding lacks summary, evidence or ports: %+v", f)
				}
				if tc.kind != "outbound_spike" && len(f.Targets) == 0 {
					t.Errorf("finding has no targets: %+v", f)
				}
				if f.First.IsZero() || f.Last.Before(f.First) {
					t.Errorf("first %v last %v", f.First, f.Last)
				}
				// Only the attack's own kind, and the floods that come with
				// a burst, may be raised.
				for _, g := range snap.Findings {
					if g.Kind != tc.kind && g.Kind != "single_source_flood" && g.Kind != "distributed_flood" {
						t.Errorf("unexpected %s alongside %s: %s", g.Kind, tc.kind, g.Summary)
					}
				}
				if tc.verify != nil {
					tc.verify(t, s, snap)
				}
			})
		}
	}
}

func TestDistributedFloodNeedsASes(t *testing.T) {
	cfg := DefaultConfig()
	s := newSim(t, cfg)
	f := s.web.NewPageFlood(400)
	res := fakeResolver{}
	for i, ip := range f.IPs {
		res[ip] = uint32(64500 + i%2)
	}
	s.a.SetASResolver(res)
	s.run(0, 1800, nil)
	s.run(1800, 120, func(t time.Time) {
		for i := 0; i < 200; i++ {
			r := f.Next(t.Add(time.Duration(i) * 5 * time.Millisecond))
			s.add(r.Event())
		}
	})
	snap := s.a.Snapshot()
	d := find(snap.Findings, "distributed_flood")
	if d == nil {
		t.Fatalf("no distributed_flood; got %v", kinds(snap.Findings))
	}
	var bot int
	for _, g := range snap.ASes {
		if g.ASN >= 64500 && g.ASN <= 64501 && g.ASName == "BOTNET-AS" && g.Rate > 50 && g.Baseline < 5 {
			bot++
		}
	}
	if bot != 2 {
		t.Errorf("ASes %+v, want both botnet ASes at about 100/s over a low baseline", snap.ASes)
	}
	for _, p := range d.Targets {
		if p.Bits() == 32 {
			t.Errorf("distributed flood targets should be prefixes: %v", p)
		}
	}
}

type fakeResolver map[netip.Addr]uint32

func (f fakeResolver) ASOf(ip netip.Addr) (uint32, string, string, bool) {
	if n, ok := f[ip]; ok {
		return n, "BOTNET-AS", "ZZ", true
	}
	return 0, "", "", false
}

// epochResolver knows what it was told, counts the questions and moves its
// epoch when it learns.
type epochResolver struct {
	mu    sync.Mutex
	as    map[netip.Addr]uint32
	epoch uint64
	calls map[netip.Addr]int
}

func (r *epochResolver) ASOf(ip netip.Addr) (uint32, string, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[ip]++
	n, ok := r.as[ip]
	return n, "TEST-AS", "ZZ", ok
}

func (r *epochResolver) ASEpoch() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// TestResolverEpoch checks that an address the resolver could not answer
// is not asked for again while its epoch stays, and is once it moves:
// then its counts move to its AS, live and in a report.
func TestResolverEpoch(t *testing.T) {
	for _, cum := range []bool{false, true} {
		t.Run(fmt.Sprint("cumulative=", cum), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Cumulative = cum
			a := New(cfg)
			res := &epochResolver{as: map[netip.Addr]uint32{}, calls: map[netip.Addr]int{}}
			a.SetASResolver(res)
			at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
			var ips []netip.Addr
			for i := range 20 {
				ips = append(ips, netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}))
			}
			feed := func(rounds int) {
				for range rounds {
					var batch []logs.Event
					for _, ip := range ips {
						at = at.Add(100 * time.Millisecond)
						batch = append(batch, logs.Event{Time: at, Src: ip, Kind: logs.KindHTTP, HTTP: logs.HTTPFields{Path: "/", Status: 200}})
					}
					a.AddEvents(batch)
				}
			}
			feed(50)
			for _, ip := range ips {
				if res.calls[ip] != 1 {
					t.Fatalf("%v asked %d times while the epoch stayed, want 1", ip, res.calls[ip])
				}
				res.as[ip] = 64500
			}
			res.epoch++
			feed(50)
			// Live, each is asked once more as its count reaches 64; a
			// report asks when the snapshot sums the addresses.
			for _, ip := range ips {
				if res.calls[ip] > 2 {
					t.Errorf("%v asked %d times before the snapshot, want at most 2", ip, res.calls[ip])
				}
			}
			s := a.Snapshot()
			var found bool
			for _, g := range s.ASes {
				if g.ASN == 64500 {
					found = true
					if g.Events != 2000 || g.Sources != 20 {
						t.Errorf("AS64500: %d events from %d sources, want 2000 from 20", g.Events, g.Sources)
					}
				} else if g.Events != 0 {
					t.Errorf("%s keeps %d events", g.Key, g.Events)
				}
			}
			if !found {
				t.Errorf("no AS64500 in %+v", s.ASes)
			}
		})
	}
}
