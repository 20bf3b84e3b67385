package block

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
)

// benchAddrs returns n distinct addresses from 2001:db8:ff::/48 (the
// documentation ranges hold only 768 IPv4 addresses).
func benchAddrs(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	base := netip.MustParseAddr("2001:db8:ff::").As16()
	for i := range out {
		a := base
		a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)+1
		out[i] = netip.PrefixFrom(netip.AddrFrom16(a), 128)
	}
	return out
}

// BenchmarkBlock100k measures what an operator waits for: planning,
// writing and fsyncing the journal, and loading 100,000 addresses into the
// firewall in one batch, inside a throwaway namespace.
func BenchmarkBlock100k(b *testing.B) {
	for _, be := range backends {
		b.Run(be, func(b *testing.B) {
			needFirewall(b, be)
			l := newLab(b)
			targets := benchAddrs(100000)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := l.engine(b, be)
				p, err := e.Plan(ctx, Request{Targets: targets, Why: "benchmark"})
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(ctx, p); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := e.UnblockAll(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkPerAddressIptables is fail2ban's default style for comparison:
// one ip6tables -I process per address, 1,000 addresses per op.
func BenchmarkPerAddressIptables(b *testing.B) {
	needFirewall(b, "iptables")
	l := newLab(b)
	targets := benchAddrs(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, t := range targets {
			runIn(b, l.srv, "", "ip6tables", "-w", "-I", "INPUT", "-s", t.Addr().String(), "-j", "DROP")
		}
		b.StopTimer()
		runIn(b, l.srv, "", "ip6tables", "-F", "INPUT")
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/1e9*100, "s/100k-extrapolated")
}

// BenchmarkLookup measures a customer's TCP connection (connect, banner,
// close) while N other addresses are blocked: sets stay flat, a chain of
// one rule per address grows with N.
func BenchmarkLookup(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{
		{"none", 0}, {"nft-set-10", 10}, {"nft-set-100k", 100000}, {"ipset-10", 10}, {"ipset-100k", 100000},
		{"rules-10", 10}, {"rules-1k", 1000}, {"rules-5k", 5000},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := newLabFor(b, c.name)
			targets := benchAddrs(c.n)
			switch {
			case strings.HasPrefix(c.name, "nft"), strings.HasPrefix(c.name, "ipset"):
				be := "nft"
				if strings.HasPrefix(c.name, "ipset") {
					be = "iptables"
				}
				e := l.engine(b, be)
				p, err := e.Plan(context.Background(), Request{Targets: targets})
				if err != nil {
					b.Fatal(err)
				}
				if err := e.Apply(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			case strings.HasPrefix(c.name, "rules"):
				var sb strings.Builder
				sb.WriteString("*filter\n")
				for _, t := range targets {
					fmt.Fprintf(&sb, "-A INPUT -s %s -j DROP\n", t.Addr())
				}
				sb.WriteString("COMMIT\n")
				runIn(b, l.srv, sb.String(), "ip6tables-restore", "--noflush")
			}
			b.ResetTimer()
			err := testkit.InNetns(l.cust, func() error {
				d := net.Dialer{Timeout: time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.cust6, 0))}
				dst := netip.AddrPortFrom(l.srvCust6, 25).String()
				for i := 0; i < b.N; i++ {
					conn, err := d.Dial("tcp", dst)
					if err != nil {
						return err
					}
					if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
						return err
					}
					conn.Close()
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

func newLabFor(b *testing.B, name string) *lab {
	switch {
	case strings.HasPrefix(name, "nft"):
		needFirewall(b, "nft")
	default:
		needFirewall(b, "iptables")
	}
	return newLab(b)
}

// BenchmarkPlanApply100kNoFirewall is irtui's own share of a 100k block
// (parse-free: plan, guard, rules text, journal with fsync) on the dry-run
// backend, so it runs anywhere.
func BenchmarkPlanApply100kNoFirewall(b *testing.B) {
	benchPlanApply100k(b, func() Backend { return &DryRun{} })
}

// benchPlanApply100k plans and applies a block of 100,000 addresses on a
// fresh journal each time, with backends made by newBackend.
func benchPlanApply100k(b *testing.B, newBackend func() Backend) {
	targets := benchAddrs(100000)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		j, err := OpenJournal(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		g, _ := NewGuard(GuardOptions{Env: func(string) string { return "" }, OwnAddrs: func() ([]netip.Prefix, error) { return nil, nil }})
		e := &Engine{Backend: newBackend(), Journal: j, Guard: g, Who: "bench"}
		b.StartTimer()
		p, err := e.Plan(ctx, Request{Targets: targets})
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Rules()
		if err := e.Apply(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNFTPrepare100k(b *testing.B) {
	targets := benchAddrs(100000)
	now := time.Now()
	blk := &Block{Rule: Rule{Action: Drop}, Targets: targets, Expires: now.Add(time.Hour)}
	for i := 0; i < b.N; i++ {
		want := wantState([]*Block{blk}, true)
		bt, err := (&NFT{}).Prepare(want, newInstalled(), now)
		if err != nil || bt.Empty() {
			b.Fatal(err)
		}
	}
}

// emptyNFT is the nft backend over a firewall that holds nothing of irtui's
// and applies nothing: what irtui itself spends on a block.
type emptyNFT struct{ NFT }

func (emptyNFT) Installed(context.Context) (*Installed, error) { return newInstalled(), nil }
func (emptyNFT) Exec(context.Context, Batch) error             { return nil }

// BenchmarkPlanApplyNFT100k is irtui's share of blocking 100,000 addresses
// with nftables: plan, rules text, journal with fsync; not nft's own.
func BenchmarkPlanApplyNFT100k(b *testing.B) {
	benchPlanApply100k(b, func() Backend { return &emptyNFT{} })
}
