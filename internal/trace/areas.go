package trace

import (
	"net/netip"
	"sync/atomic"
)

// areaSet marks the parts of the address space where the cache holds any
// origin entry: one bit per IPv4 /16, and one per IPv6 /32 folded onto
// 65,536 bits. An address whose bit is clear has no entry, so the cache
// answers "not cached" without its lock or a walk of the prefix table: the
// question the analyzer asks about nearly every address when no AS table
// is loaded. Bits are only ever set, before the entry they cover is
// inserted; a set bit over nothing (a collision, an entry since pruned)
// only sends the question the slow way.
type areaSet struct {
	v4 [areaWords]atomic.Uint64
	v6 [areaWords]atomic.Uint64
}

const areaWords = 1 << 16 / 64

// has reports whether an entry may cover ip.
func (s *areaSet) has(ip netip.Addr) bool {
	i, v4 := areaBit(ip)
	w := &s.v6
	if v4 {
		w = &s.v4
	}
	return w[i/64].Load()&(1<<(i%64)) != 0
}

// add marks every area p overlaps.
func (s *areaSet) add(p netip.Prefix) {
	first, v4 := areaBit(p.Addr())
	if !v4 {
		if p.Bits() >= 32 {
			s.v6[first/64].Or(1 << (first % 64))
			return
		}
		for i := range s.v6 {
			s.v6[i].Store(^uint64(0))
		}
		return
	}
	n := uint32(1)
	if b := p.Bits(); b < 16 {
		n = 1 << (16 - b)
		first &^= n - 1
	}
	for i := first; i < first+n; i++ {
		s.v4[i/64].Or(1 << (i % 64))
	}
}

// areaBit returns ip's bit: its IPv4 /16, or its IPv6 /32 hashed.
func areaBit(ip netip.Addr) (bit uint32, v4 bool) {
	b := ip.As16()
	if ip.Is4() {
		return uint32(b[12])<<8 | uint32(b[13]), true
	}
	k := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return (k * 0x9e3779b1) >> 16, false
}
