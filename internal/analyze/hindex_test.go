package analyze

import (
	"math/rand/v2"
	"testing"
)

// TestHindex adds and removes entries under few distinct tags (so probe
// runs collide, wrap around the end and shift back on removal) and checks
// every live entry is still found from its tag and no removed one is.
func TestHindex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x hindex
	x.init(0)
	live := map[int32]uint32{}
	var next int32
	for step := range 20000 {
		if len(live) > 0 && r.IntN(3) == 0 {
			for i, tag := range live { // any one
				x.remove(tag, i)
				delete(live, i)
				break
			}
		} else {
			tag := uint32(r.IntN(40)) * 0x01000007 // distinct low and high bits
			x.add(tag, next)
			live[next] = tag
			next++
		}
		if step%97 != 0 {
			continue
		}
		if x.n != len(live) {
			t.Fatalf("step %d: %d indexed, want %d", step, x.n, len(live))
		}
		for i, tag := range live {
			if !x.has(tag, i) {
				t.Fatalf("step %d: entry %d (tag %#x) not found", step, i, tag)
			}
		}
	}
}

// has reports whether entry i is indexed under tag.
func (x *hindex) has(tag uint32, i int32) bool {
	want := uint64(tag)<<32 | uint64(uint32(i)+1)
	for p := tag & x.mask; x.slots[p] != 0; p = (p + 1) & x.mask {
		if x.slots[p] == want {
			return true
		}
	}
	return false
}
