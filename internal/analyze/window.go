package analyze

import (
	"math"
	"sync/atomic"
	"time"
)

// Every group keeps two small rings of counts instead of a list of event
// times: nFine buckets spanning the shortest window (its rate and trend)
// and nCoarse buckets spanning the longest (its event count). Buckets are
// rotated lazily when the group is touched or read, on the data clock, so
// an idle group costs nothing and a replayed log behaves like a live one.
const (
	nFine      = 6
	nCoarse    = 12
	trendSlots = 60 // the whole-traffic and per-source trends are longer
)

// epochBase is the origin of bucket numbers, so they fit in an int32.
var epochBase = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// clock converts event times to bucket numbers and holds the baseline's
// smoothing constants. It is set up once and read without locks.
type clock struct {
	fineW, coarseW int64 // bucket widths in nanoseconds
	shortSec       float64
	alpha          float64 // EWMA weight of one closed fine bucket
	pow            [256]float64
	start          int32 // the first fine bucket seen; set once, before any ring is used
	damp           float64
	cumulative     bool
}

func newClock(short, long, halfLife time.Duration) *clock {
	c := &clock{fineW: int64(short) / nFine, coarseW: int64(long) / nCoarse, shortSec: short.Seconds()}
	if c.coarseW < c.fineW {
		c.coarseW = c.fineW
	}
	// alpha such that the weight of the past halves every halfLife.
	c.alpha = 1 - math.Pow(0.5, float64(c.fineW)/float64(halfLife))
	for i := range c.pow {
		c.pow[i] = math.Pow(1-c.alpha, float64(i))
	}
	c.damp = 4
	return c
}

// fine returns the fine bucket of t (Unix nanoseconds); never 0 for a real time.
func (c *clock) fine(t int64) int32 {
	d := t - epochBase
	if d < 0 {
		return 1
	}
	return int32(d/c.fineW) + 1
}

func (c *clock) coarse(t int64) int32 {
	d := t - epochBase
	if d < 0 {
		return 1
	}
	return int32(d/c.coarseW) + 1
}

// decay returns (1-alpha)^k.
func (c *clock) decay(k int32) float64 {
	if k <= 0 {
		return 1
	}
	if int(k) < len(c.pow) {
		return c.pow[k]
	}
	return math.Pow(1-c.alpha, float64(k))
}

// correct removes the EWMA's start-up bias: every group's past is counted
// from the first event the analyzer saw, so a page that existed from the
// start gets its true baseline at once while one that appeared with an
// attack keeps a baseline near zero.
func (c *clock) correct(e float64, now int32) float64 {
	st := atomic.LoadInt32(&c.start)
	k := now - st
	if st == 0 || k <= 0 {
		return 0
	}
	w := 1 - c.decay(k)
	if w <= 0 {
		return e
	}
	return e / w
}

// base returns a group's baseline in events per fine bucket. Live, it is
// the EWMA. Over files (cumulative), where parallel readers deliver events
// out of order, it is the group's average rate over the input before the
// shortest window: total minus the window's count, spread over the time
// from the first event to the window's start.
func (c *clock) base(r *ring, total int64, now int32) float64 {
	if !c.cumulative {
		return r.baseline(c, now)
	}
	span := int64(now-nFine+1) - int64(atomic.LoadInt32(&c.start))
	if span <= 0 {
		return 0
	}
	return float64(max(total-r.short(now), 0)) / float64(span)
}

// warm reports whether enough history exists at now to trust baselines.
func (c *clock) warm(now int32) bool {
	st := atomic.LoadInt32(&c.start)
	return st != 0 && now-st >= nFine
}

// ring holds the windowed counts and the baseline of one group.
type ring struct {
	fe, ce int32   // bucket numbers of the newest slots; 0 = empty
	ewma   float32 // events per fine bucket, biased (see clock.correct)
	fine   [nFine]uint32
	// coarse is allocated by the first live count: a report (cumulative)
	// has no longest window, and its entries are 36 bytes smaller without
	// it, which is one cache line less per address touched.
	coarse *[nCoarse]uint32
}

// coarseRing returns r's coarse buckets, allocating them.
func (r *ring) coarseRing() *[nCoarse]uint32 {
	if r.coarse == nil {
		r.coarse = new([nCoarse]uint32)
	}
	return r.coarse
}

// detach gives r its own copy of the coarse buckets, after r was copied
// from a ring that goes on counting.
func (r *ring) detach() {
	if r.coarse != nil {
		c := *r.coarse
		r.coarse = &c
	}
}

// reset empties r, keeping its coarse buckets' memory for reuse.
func (r *ring) reset() {
	co := r.coarse
	if co != nil {
		*co = [nCoarse]uint32{}
	}
	*r = ring{coarse: co}
}

// add counts n events in the buckets fe, ce.
func (r *ring) add(c *clock, fe, ce int32, n uint32) {
	if fe > r.fe {
		r.advance(c, fe)
	}
	if fe > r.fe-nFine {
		r.fine[fe%nFine] += n
	}
	if c.cumulative { // a report counts since the start: no longest window
		return
	}
	co := r.advanceCoarse(ce)
	if ce > r.ce-nCoarse {
		co[ce%nCoarse] += n
	}
}

// advanceCoarse moves the coarse ring on to bucket ce, if later, emptying
// the buckets between, and returns the buckets.
func (r *ring) advanceCoarse(ce int32) *[nCoarse]uint32 {
	co := r.coarseRing()
	if ce > r.ce {
		k := ce - r.ce
		if r.ce == 0 || k > nCoarse {
			k = nCoarse
		}
		for i := int32(1); i <= k; i++ {
			co[(r.ce+i)%nCoarse] = 0
		}
		r.ce = ce
	}
	return co
}

// closeBucket folds one closed bucket of count n into an EWMA. A bucket far
// above the baseline is folded in ten times slower, so an attack does not
// quickly become the new normal.
func (c *clock) closeBucket(e float64, n uint32, at int32) float64 {
	a := c.alpha
	if c.warm(at) {
		if b := c.correct(e, at); float64(n) > c.damp*b+4 {
			a /= 10
		}
	}
	return a*float64(n) + (1-a)*e
}

// advance moves the fine ring to bucket to, closing the buckets between.
func (r *ring) advance(c *clock, to int32) {
	if r.fe == 0 {
		r.fe = to
		return
	}
	if !c.cumulative { // over files the baseline is an average (see base)
		e := c.closeBucket(float64(r.ewma), r.fine[r.fe%nFine], r.fe)
		e *= c.decay(to - r.fe - 1)
		r.ewma = float32(e)
	}
	k := to - r.fe
	if k > nFine {
		k = nFine
	}
	for i := int32(1); i <= k; i++ {
		r.fine[(r.fe+i)%nFine] = 0
	}
	r.fe = to
}

// fineAt returns the count of fine bucket e as seen from the ring.
func (r *ring) fineAt(e int32) uint32 {
	if e <= 0 || e > r.fe || e <= r.fe-nFine {
		return 0
	}
	return r.fine[e%nFine]
}

// short returns the events in the shortest window ending at fine bucket now.
func (r *ring) short(now int32) int64 {
	var s int64
	for e := now - nFine + 1; e <= now; e++ {
		s += int64(r.fineAt(e))
	}
	return s
}

// long returns the events in the longest window ending at coarse bucket now.
func (r *ring) long(now int32) int64 {
	if r.coarse == nil {
		return 0
	}
	var s int64
	for e := now - nCoarse + 1; e <= now; e++ {
		if e > 0 && e <= r.ce && e > r.ce-nCoarse {
			s += int64(r.coarse[e%nCoarse])
		}
	}
	return s
}

// baseline returns the group's baseline at fine bucket now, in events per
// fine bucket, without changing the ring.
func (r *ring) baseline(c *clock, now int32) float64 {
	if r.fe == 0 {
		return 0
	}
	e := float64(r.ewma)
	if now > r.fe {
		e = c.closeBucket(e, r.fine[r.fe%nFine], r.fe)
		e *= c.decay(now - r.fe - 1)
	}
	return c.correct(e, now)
}

// trend returns the per-second rate of each fine bucket up to now, oldest first.
func (r *ring) trend(c *clock, now int32) []float64 {
	out := make([]float64, nFine)
	w := float64(c.fineW) / 1e9
	for i := range out {
		out[i] = float64(r.fineAt(now-nFine+1+int32(i))) / w
	}
	return out
}

// merge adds o's counts into r (both rotated to the same buckets first);
// used when an address's AS becomes known and its history moves from
// "AS unknown" to its AS. sign is +1 or -1.
func (r *ring) merge(c *clock, o *ring, sign int) {
	if o.fe == 0 {
		return
	}
	if r.fe < o.fe {
		r.advance(c, o.fe)
	}
	for e := o.fe - nFine + 1; e <= o.fe; e++ {
		if e > r.fe-nFine && e <= r.fe {
			r.fine[e%nFine] = addSigned(r.fine[e%nFine], o.fineAt(e), sign)
		}
	}
	if o.coarse != nil {
		co := r.advanceCoarse(o.ce)
		for e := o.ce - nCoarse + 1; e <= o.ce; e++ {
			if e > 0 && e > r.ce-nCoarse && e <= r.ce {
				co[e%nCoarse] = addSigned(co[e%nCoarse], o.coarse[e%nCoarse], sign)
			}
		}
	}
	v := float64(r.ewma) + float64(sign)*float64(o.ewma)*c.decay(r.fe-o.fe)
	if v < 0 {
		v = 0
	}
	r.ewma = float32(v)
}

func addSigned(a, b uint32, sign int) uint32 {
	if sign > 0 {
		return a + b
	}
	if b > a {
		return 0
	}
	return a - b
}

// trendRing is a longer ring of fine buckets, for the whole traffic and
// for each source's health line.
type trendRing struct {
	slots [trendSlots]uint32
	e     int32
}

func (t *trendRing) add(fe int32, n uint32) {
	if fe > t.e {
		k := fe - t.e
		if t.e == 0 || k > trendSlots {
			k = trendSlots
		}
		for i := int32(1); i <= k; i++ {
			t.slots[(t.e+i)%trendSlots] = 0
		}
		t.e = fe
	}
	if fe > t.e-trendSlots {
		t.slots[fe%trendSlots] += n
	}
}

func (t *trendRing) at(e int32) uint32 {
	if e <= 0 || e > t.e || e <= t.e-trendSlots {
		return 0
	}
	return t.slots[e%trendSlots]
}

// mergeInto adds t's buckets into dst, indexed from now-trendSlots+1.
func (t *trendRing) mergeInto(dst []float64, now int32) {
	for i := range dst {
		dst[i] += float64(t.at(now - int32(len(dst)) + 1 + int32(i)))
	}
}
