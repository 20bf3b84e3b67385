package analyze

import "unsafe"

// hindex maps the 64-bit hashes of a table's keys to entry indexes: open
// addressing with linear probing over one flat array of 8-byte slots (the
// hash's top half beside the index), so finding an address usually reads
// one cache line where a Go map reads a control word and then a slot. Keys
// whose hashes collide take a slot each; the table checks the entry's key.
type hindex struct {
	slots []uint64 // tag<<32 | index+1; 0 is a free slot
	mask  uint32
	n     int
}

func (x *hindex) init(size int) {
	c := 16
	for c < 2*size {
		c <<= 1
	}
	x.slots = prefault(make([]uint64, c))
	x.mask = uint32(c - 1)
	x.n = 0
}

// tagOf is the part of a hash the index keeps; its low bits are also the
// slot where probing starts, so a slot can be moved without the key.
func tagOf(h uint64) uint32 { return uint32(h >> 32) }

// add indexes entry i under tag.
func (x *hindex) add(tag uint32, i int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.put(uint64(tag)<<32 | uint64(uint32(i)+1))
	x.n++
}

func (x *hindex) put(s uint64) {
	p := uint32(s>>32) & x.mask
	for x.slots[p] != 0 {
		p = (p + 1) & x.mask
	}
	x.slots[p] = s
}

func (x *hindex) grow() {
	old := x.slots
	x.slots = prefault(make([]uint64, 2*len(old)))
	x.mask = uint32(len(x.slots) - 1)
	for _, s := range old {
		if s != 0 {
			x.put(s)
		}
	}
}

// remove drops entry i, indexed under tag; the slots after it that probed
// past it move back, so no lookup ever has to skip a hole.
func (x *hindex) remove(tag uint32, i int32) {
	want := uint64(tag)<<32 | uint64(uint32(i)+1)
	p := tag & x.mask
	for x.slots[p] != want {
		if x.slots[p] == 0 {
			return
		}
		p = (p + 1) & x.mask
	}
	x.n--
	j := p
	for {
		j = (j + 1) & x.mask
		s := x.slots[j]
		if s == 0 {
			break
		}
		if reachable(p, j, uint32(s>>32)&x.mask) {
			continue
		}
		x.slots[p] = s
		p = j
	}
	x.slots[p] = 0
}

// reachable reports whether the entry in slot j of a linearly probed table,
// whose probe starts at slot home, is still found once slot hole (before j
// in probe order) is emptied: if not, it must move back into the hole.
func reachable[T uint32 | uint64](hole, j, home T) bool {
	if hole <= j {
		return hole < home && home <= j
	}
	return hole < home || home <= j // the probe wrapped round the end
}

// prefault writes one element of every memory page of s, which is fresh
// from make, and returns it. Lookups read an index before anything is put
// in it, and the kernel maps a page read before any write to its shared
// zero page; the first write then faults again and flushes the page from
// both CPUs' TLBs. Writing first costs one fault a page instead: on the
// 1 M-line report benchmark, a third of the page-fault time went to such
// second faults.
func prefault[T any](s []T) []T {
	var zero T
	step := max(1, pageBytes/int(unsafe.Sizeof(zero)))
	for i := 0; i < len(s); i += step {
		s[i] = zero
	}
	return s
}

// pageBytes is the smallest page size of the platforms irtui runs on.
const pageBytes = 4096

// fpTable maps fingerprints (never 0) to values: open addressing over a
// power-of-two table fixed at creation, where a deletion moves back the
// entries that probed past the hole. The caller keeps it at most half
// full.
type fpTable[V any] struct {
	fps  []uint64 // 0: a free slot
	vals []V
	n    int
}

// newFPTable returns an empty table of slots (a power of two) slots; its
// fingerprints are read before any is written, so they are prefaulted
// (values are read only where a fingerprint was written).
func newFPTable[V any](slots int) *fpTable[V] {
	return &fpTable[V]{fps: prefault(make([]uint64, slots)), vals: make([]V, slots)}
}

// get returns the value under fp.
func (t *fpTable[V]) get(fp uint64) (V, bool) {
	mask := uint64(len(t.fps) - 1)
	for p := fp & mask; ; p = (p + 1) & mask {
		switch t.fps[p] {
		case fp:
			return t.vals[p], true
		case 0:
			var zero V
			return zero, false
		}
	}
}

// put adds v under fp, which is absent.
func (t *fpTable[V]) put(fp uint64, v V) {
	mask := uint64(len(t.fps) - 1)
	p := fp & mask
	for t.fps[p] != 0 {
		p = (p + 1) & mask
	}
	t.fps[p], t.vals[p] = fp, v
	t.n++
}

// del drops fp and its value.
func (t *fpTable[V]) del(fp uint64) {
	mask := uint64(len(t.fps) - 1)
	p := fp & mask
	for t.fps[p] != fp {
		if t.fps[p] == 0 {
			return
		}
		p = (p + 1) & mask
	}
	t.n--
	j := p
	for {
		j = (j + 1) & mask
		f := t.fps[j]
		if f == 0 {
			break
		}
		if reachable(p, j, f&mask) {
			continue
		}
		t.fps[p], t.vals[p] = f, t.vals[j]
		p = j
	}
	var zero V
	t.fps[p], t.vals[p] = 0, zero
}

// all calls f for every fingerprint and its value.
func (t *fpTable[V]) all(f func(fp uint64, v V)) {
	for i, fp := range t.fps {
		if fp != 0 {
			f(fp, t.vals[i])
		}
	}
}
