package analyze

import (
	"math"
	"math/bits"
)

// distinct counts distinct sources of a group: exactly up to smallN of
// them, then with a 256-register HyperLogLog (about 6.5 % standard error),
// so a page hit by a million addresses costs 256 bytes, not a set.
type distinct struct {
	hll   *[hllM]uint8 // first: what every add reads
	n     int
	est   int // the last estimate; -1 when a register changed since
	small [smallN]uint64
}

// pow2neg[r] is 2^-r, for the HyperLogLog estimate.
var pow2neg = func() (t [65]float64) {
	for i := range t {
		t[i] = math.Ldexp(1, -i)
	}
	return
}()

const (
	smallN = 8
	hllP   = 8
	hllM   = 1 << hllP
)

// add counts the source whose hash is h.
func (d *distinct) add(h uint64) {
	if d.hll != nil {
		d.hllAdd(h)
		return
	}
	for i := 0; i < d.n; i++ {
		if d.small[i] == h {
			return
		}
	}
	if d.n < smallN {
		d.small[d.n] = h
		d.n++
		return
	}
	// The registers are filled before they are stored, so the first access
	// to the new array is a write (see prefault).
	var regs [hllM]uint8
	for i := 0; i < d.n; i++ {
		regAdd(&regs, d.small[i])
	}
	regAdd(&regs, h)
	d.hll = new([hllM]uint8)
	*d.hll = regs
	d.est = -1
}

func (d *distinct) hllAdd(h uint64) {
	if regAdd(d.hll, h) {
		d.est = -1
	}
}

// regAdd adds the hash h to HyperLogLog registers; it reports whether a
// register changed.
func regAdd(r *[hllM]uint8, h uint64) bool {
	j := h >> (64 - hllP)
	rho := uint8(bits.LeadingZeros64(h<<hllP|1<<(hllP-1)) + 1)
	if rho > r[j] {
		r[j] = rho
		return true
	}
	return false
}

// count returns the number of distinct sources (estimated beyond smallN).
func (d *distinct) count() int {
	if d == nil {
		return 0
	}
	if d.hll == nil {
		return d.n
	}
	if d.est >= 0 {
		return d.est
	}
	var sum float64
	zeros := 0
	for _, r := range d.hll {
		sum += pow2neg[r&63]
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	d.est = smallN + 1
	if n := int(est + 0.5); n > smallN {
		d.est = n
	}
	return d.est
}
