package trace

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// Every address inside a marked prefix must be reported: a miss there
// would hide a cached answer.
func TestAreaSetCoversPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s areaSet
	randAddr := func(v4 bool) netip.Addr {
		if v4 {
			return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		}
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return netip.AddrFrom16(b)
	}
	if s.has(netip.MustParseAddr("192.0.2.1")) || s.has(netip.MustParseAddr("2001:db8::1")) {
		t.Fatal("an empty set has an area")
	}
	var prefixes []netip.Prefix
	for i := range 300 {
		v4 := i%2 == 0
		max := 128
		if v4 {
			max = 32
		}
		p, err := randAddr(v4).Prefix(r.IntN(max + 1))
		if err != nil {
			t.Fatal(err)
		}
		if i < 290 && p.Bits() < 12 {
			continue // keep most of the space unmarked
		}
		s.add(p)
		prefixes = append(prefixes, p)
	}
	for _, p := range prefixes {
		for range 50 {
			// an address of p: its bits, then random ones
			a := randAddr(p.Addr().Is4())
			a16, p16 := a.As16(), p.Addr().As16()
			bits := p.Bits()
			if p.Addr().Is4() {
				bits += 96
			}
			for i := 0; i < bits; i++ {
				m := byte(0x80 >> (i % 8))
				a16[i/8] = a16[i/8]&^m | p16[i/8]&m
			}
			in := netip.AddrFrom16(a16)
			if p.Addr().Is4() {
				in = in.Unmap()
			}
			if !p.Contains(in) {
				t.Fatalf("test bug: %s not in %s", in, p)
			}
			if !s.has(in) {
				t.Fatalf("%s is inside %s but its area is unmarked", in, p)
			}
		}
	}
	// 198.18.0.0/15 marks both /16s and nothing around them.
	var s2 areaSet
	s2.add(netip.MustParsePrefix("198.18.0.0/15"))
	for a, want := range map[string]bool{"198.18.5.5": true, "198.19.255.1": true, "198.17.0.1": false, "198.20.0.1": false} {
		if got := s2.has(netip.MustParseAddr(a)); got != want {
			t.Errorf("has(%s) = %v, want %v", a, got, want)
		}
	}
}
