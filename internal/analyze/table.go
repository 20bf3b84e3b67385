package analyze

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// table is one grouping: a bounded map from key to counts. When it is full
// a new key replaces the least active of a few randomly sampled keys and
// inherits its count as the error bound (space-saving with a sampled
// minimum, as Redis' approximated LFU does), so memory is bounded at any
// cardinality while the heavy hitters, which are never the minimum, keep
// exact counts.
//
// Alongside, the table keeps a "hot" list: the keys whose count passed the
// current entry threshold. A snapshot reads only that list, so its cost
// does not grow with the number of keys tracked.
type table[K comparable, X any] struct {
	idx map[K]int32
	// With hash set, the table is indexed by a 64-bit hash of the key
	// instead (a flat, pointer-free index, and one hash per event when the
	// caller already has it).
	hash   func(K) uint64
	hx     hindex
	chunks [][]entry[K, X]
	n      int32
	max    int32
	hot    []int32
	hotCap int
	thr    int64
	rnd    uint64
	clone  func(K) K
	// evict, when set, is told about an entry before it is reused.
	evict func(e *entry[K, X])
	// cumulative ranks by count since the start instead of the longest window.
	cumulative bool
	samples    int
}

const chunkBits = 10

// entry is one key's counts. It is kept small: a table of a million
// addresses is a million of these.
//
// The fields every event touches come first (key, counts, the fine ring,
// then the extension, whose own first fields are its busiest), so an event
// costs as few cache lines as possible: an address's first two of three.
type entry[K comparable, X any] struct {
	key         K
	total       int64 // events since the key entered the table
	bytes       int64
	first, last int64 // Unix nanoseconds
	hot         bool  // read by every event: kept out of the last cache line
	hasErr      bool  // err is not 0: most events then need not read it
	// sampled: samples holds as many lines as kept, so only events whose
	// total is a power of two replace one (the list is in the last cache
	// line, which other events then need not read).
	sampled bool
	r       ring
	x       X
	err     int64 // events the key may have had before (space-saving bound)
	samples *[]string
}

func newTable[K comparable, X any](max, hotCap, samples int, cumulative bool, clone func(K) K) *table[K, X] {
	if hotCap > max/4 && max >= 8 {
		hotCap = max / 4
	}
	if hotCap < 1 {
		hotCap = 1
	}
	return &table[K, X]{
		idx: make(map[K]int32), max: int32(max), hotCap: hotCap, rnd: 0x9e3779b97f4a7c15,
		clone: clone, cumulative: cumulative, samples: samples,
	}
}

func (t *table[K, X]) at(i int32) *entry[K, X] {
	return &t.chunks[i>>chunkBits][i&(1<<chunkBits-1)]
}

// hint returns entry i when it holds k, else nil: i is an index
// remembered from an earlier lookup (-1: none), checked against the key
// because entries are reused for other keys.
func (t *table[K, X]) hint(i int32, k K) *entry[K, X] {
	if i < 0 || i >= t.n {
		return nil
	}
	if e := t.at(i); e.key == k {
		return e
	}
	return nil
}

// hashed makes the table index its keys by hash (see table.hash).
func (t *table[K, X]) hashed(hash func(K) uint64, size int) *table[K, X] {
	t.hash, t.idx = hash, nil
	t.hx.init(size)
	return t
}

// get returns the entry of k, creating it (and evicting another) if needed.
func (t *table[K, X]) get(k K, nowC int32) (int32, *entry[K, X]) {
	if t.hash != nil {
		return t.getH(k, t.hash(k), nowC)
	}
	if i, ok := t.idx[k]; ok {
		return i, t.at(i)
	}
	return t.insert(k, 0, nowC)
}

// lookup returns the index of k, or -1.
func (t *table[K, X]) lookup(k K) int32 {
	if t.hash == nil {
		if i, ok := t.idx[k]; ok {
			return i
		}
		return -1
	}
	return t.find(k, t.hash(k))
}

// find returns the index of k, whose hash is h, in a hashed table, or -1.
func (t *table[K, X]) find(k K, h uint64) int32 {
	tag := tagOf(h)
	x := &t.hx
	for p := tag & x.mask; ; p = (p + 1) & x.mask {
		s := x.slots[p]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == tag {
			if i := int32(uint32(s)) - 1; t.at(i).key == k {
				return i
			}
		}
	}
}

// getH is get for a hashed table, with h = t.hash(k).
func (t *table[K, X]) getH(k K, h uint64, nowC int32) (int32, *entry[K, X]) {
	if i := t.find(k, h); i >= 0 {
		return i, t.at(i)
	}
	return t.insert(k, h, nowC)
}

// setIdx indexes entry i under key k (hash h when the table is hashed).
func (t *table[K, X]) setIdx(k K, h uint64, i int32) {
	if t.hash == nil {
		t.idx[k] = i
		return
	}
	t.hx.add(tagOf(h), i)
}

// unIdx removes entry i, holding key k, from the index.
func (t *table[K, X]) unIdx(k K, i int32) {
	if t.hash == nil {
		delete(t.idx, k)
		return
	}
	t.hx.remove(tagOf(t.hash(k)), i)
}

// insert adds k, known to be absent.
func (t *table[K, X]) insert(k K, h uint64, nowC int32) (int32, *entry[K, X]) {
	if t.clone != nil {
		k = t.clone(k)
	}
	if t.n < t.max {
		i := t.n
		if int(i>>chunkBits) == len(t.chunks) {
			size := 1 << chunkBits
			if t.max < int32(size) {
				size = int(t.max)
			}
			t.chunks = append(t.chunks, make([]entry[K, X], size))
		}
		t.n++
		e := t.at(i)
		e.key = k
		t.setIdx(k, h, i)
		return i, e
	}
	i := t.victim(nowC)
	e := t.at(i)
	if t.evict != nil {
		t.evict(e)
	}
	if e.hot {
		t.unhot(i)
	}
	t.unIdx(e.key, i)
	score := t.score(e, nowC)
	e.r.reset() // a live table's coarse buckets are reused, not reallocated
	*e = entry[K, X]{key: k, err: score, hasErr: score != 0, r: e.r}
	t.setIdx(k, h, i)
	return i, e
}

// victim samples a few entries and returns the least active one that is
// not hot.
func (t *table[K, X]) victim(nowC int32) int32 {
	best, bestScore := int32(-1), int64(-1)
	for tries := 0; tries < 32 && (tries < 5 || best < 0); tries++ {
		t.rnd ^= t.rnd << 13
		t.rnd ^= t.rnd >> 7
		t.rnd ^= t.rnd << 17
		hi, _ := bits.Mul64(t.rnd, uint64(t.n))
		i := int32(hi)
		e := t.at(i)
		if e.hot {
			continue
		}
		if s := t.score(e, nowC); best < 0 || s < bestScore || (s == bestScore && e.last < t.at(best).last) {
			best, bestScore = i, s
		}
	}
	if best < 0 { // everything sampled was hot: take the first hot entry's slot
		best = t.hot[0]
	}
	return best
}

// score ranks entries: events over the longest window, or since the start.
func (t *table[K, X]) score(e *entry[K, X], nowC int32) int64 {
	s := e.total
	if !t.cumulative {
		s = e.r.long(nowC)
	}
	if e.hasErr { // err is in a cache line an event does not otherwise read
		s += e.err
	}
	return s
}

// count records n events of size bytes at time ns in entry i.
func (t *table[K, X]) count(c *clock, i int32, e *entry[K, X], ns int64, fe, ce int32, n uint32, bytes int64, line string) {
	e.r.add(c, fe, ce, n)
	e.total += int64(n)
	e.bytes += bytes
	if e.first == 0 || ns < e.first {
		e.first = ns
	}
	if ns > e.last {
		e.last = ns
	}
	if !e.hot {
		if s := t.score(e, ce); s > t.thr {
			e.hot = true
			t.hot = append(t.hot, i)
			if len(t.hot) > 2*t.hotCap {
				t.prune(ce)
			}
		}
	}
	if e.hot && line != "" && t.samples > 0 && (!e.sampled || e.total&(e.total-1) == 0) {
		t.sample(e, line)
	}
}

// absorb adds another entry's counts (ring, totals, times) into entry i,
// as if its events had been counted here.
func (t *table[K, X]) absorb(c *clock, i int32, e *entry[K, X], r *ring, total, bytes, first, last int64) {
	e.r.merge(c, r, +1)
	e.total += total
	e.bytes += bytes
	if e.first == 0 || (first != 0 && first < e.first) {
		e.first = first
	}
	e.last = max(e.last, last)
	if !e.hot {
		if s := t.score(e, r.ce); s > t.thr {
			e.hot = true
			t.hot = append(t.hot, i)
			if len(t.hot) > 2*t.hotCap {
				t.prune(r.ce)
			}
		}
	}
}

// sample keeps the first lines of a hot key and refreshes one now and then
// (at counts that are powers of two), so a flood costs no allocation per line.
func (t *table[K, X]) sample(e *entry[K, X], line string) {
	if e.samples == nil {
		s := make([]string, 0, t.samples)
		e.samples = &s
	}
	s := *e.samples
	switch {
	case len(s) < t.samples:
		*e.samples = append(s, clip(line))
		e.sampled = len(s)+1 == t.samples
	case e.total&(e.total-1) == 0:
		copy(s[1:], s[2:])
		s[len(s)-1] = clip(line)
	}
}

// clip copies a raw line for keeping, bounded in length.
func clip(line string) string {
	const maxKept = 1024
	if len(line) > maxKept {
		line = line[:maxKept]
	}
	return strings.Clone(line)
}

// prune cuts the hot list back to hotCap entries and raises the entry
// threshold to the smallest score kept.
func (t *table[K, X]) prune(nowC int32) {
	type sc struct {
		i int32
		s int64
	}
	all := make([]sc, len(t.hot))
	for j, i := range t.hot {
		all[j] = sc{i, t.score(t.at(i), nowC)}
	}
	slices.SortFunc(all, func(a, b sc) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	keep := min(t.hotCap, len(all))
	t.hot = t.hot[:0]
	for j, a := range all {
		if j < keep {
			t.hot = append(t.hot, a.i)
			continue
		}
		e := t.at(a.i)
		e.hot = false
		e.samples, e.sampled = nil, false
	}
	if keep == t.hotCap && keep > 0 {
		t.thr = all[keep-1].s
	} else {
		t.thr = 0
	}
}

func (t *table[K, X]) unhot(i int32) {
	for j, h := range t.hot {
		if h == i {
			t.hot = append(t.hot[:j], t.hot[j+1:]...)
			break
		}
	}
	t.at(i).hot = false
}

// refresh lowers the entry threshold when the hot list's counts decayed, so
// that in live mode a newly active key can enter after an older one went quiet.
func (t *table[K, X]) refresh(nowC int32) {
	if len(t.hot) < t.hotCap {
		t.thr = 0
		return
	}
	minS := int64(-1)
	for _, i := range t.hot {
		if s := t.score(t.at(i), nowC); minS < 0 || s < minS {
			minS = s
		}
	}
	if minS < t.thr {
		t.thr = minS
	}
}

// each calls f for every entry; used by Impact, which must see them all.
func (t *table[K, X]) each(f func(e *entry[K, X])) {
	for i := int32(0); i < t.n; i++ {
		f(t.at(i))
	}
}

func cloneString(s string) string { return strings.Clone(s) }

// addrHash mixes an address into 64 bits (for distinct counting and shards).
func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	return mix64(hi*0x9e3779b97f4a7c15 ^ mix64(lo))
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
