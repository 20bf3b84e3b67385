package crowdsec

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func decisions(n int) []NewDecision {
	ds := make([]NewDecision, n)
	for i := range ds {
		// 198.18.0.0/15 would be outside the documentation ranges; spread
		// over 2001:db8::/32 instead, which holds any n.
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
		ds[i] = NewDecision{Prefix: netip.PrefixFrom(a, 128), Duration: time.Hour, Scenario: "irtui: bench"}
	}
	return ds
}

// BenchmarkRenderAlert renders the one request that carries a batch.
func BenchmarkRenderAlert(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		ds := decisions(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := RenderAlert("m", ds, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLAPI measures a real LAPI (crowdsec 1.4.6, SQLite): pushing a
// batch of decisions in one request, listing irtui's decisions, and
// removing one decision by ID (unblock sends one such request per
// decision).
func BenchmarkLAPI(b *testing.B) {
	l := startLAPI(b)
	c := client(b, l.Machine(b, "bench"), nil)
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		body, err := RenderAlert("bench", decisions(n), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("push-%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.AddAlerts(ctx, []byte(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	var ds []IrtuiDecision
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			var err error
			if ds, err = c.Decisions(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(ds)), "decisions")
	})
	b.Run("delete-one", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if i >= len(ds) {
				b.Fatal("ran out of decisions")
			}
			if err := c.DeleteDecision(ctx, ds[i].ID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
