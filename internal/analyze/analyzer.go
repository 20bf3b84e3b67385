package analyze

import (
	"hash/maphash"
	"math/bits"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/sanitize"
)

// Analyzer owns all counting. It is the sink the ingest stage feeds:
// AddEvents may be called from several goroutines at once, and Snapshot
// from any goroutine while they run.
type Analyzer struct {
	cfg    Config
	clk    *clock
	shards []*shard
	pool   sync.Pool
	seed   maphash.Seed
	res    atomic.Pointer[resolverBox]
	web    *webPaths

	newest, oldest atomic.Int64
	parsed         atomic.Int64
	skipped        atomic.Int64
	malformed      atomic.Int64

	hmu     sync.Mutex         // guards what follows
	health  map[string]*health // by host, NUL, name
	byName  map[string]*health // the newest of each name, for callers without a host
	order   []string           // health keys in the order first seen
	formats map[string]*int64  // counters behind pointers: assigning to a map key would replace the key with the event's string
	recent  []RecentLine
	rpos    int
	bad     []BadLine
	bpos    int

	qmu    sync.Mutex // guards queues
	queues queues

	fmu   sync.Mutex
	found map[string]foundAt // finding ID → when first and last raised
}

type resolverBox struct{ r ASResolver }

type foundAt struct{ first, last time.Time }

// health is what the analyzer knows about one source.
type health struct {
	name, host, format string
	lines, malformed   int64
	newest             int64
	t                  trendRing
	err                string
}

const maxBad = 100

// New returns an analyzer with cfg (normalised; see DefaultConfig).
func New(cfg Config) *Analyzer {
	if err := cfg.normalize(); err != nil {
		// An invalid config from code (not a file) falls back to defaults
		// rather than failing ingestion.
		cfg = DefaultConfig()
		_ = cfg.normalize()
	}
	n := cfg.Shards
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
		if cfg.Cumulative {
			// Backfill's workers hand over whole batches, so one shard per
			// CPU rarely makes them wait, and fewer shards keep the
			// groupings every event touches in fewer cache lines.
			n = runtime.GOMAXPROCS(0)
		}
		n = min(n, 16)
	}
	a := &Analyzer{
		cfg:     cfg,
		clk:     newClock(cfg.Windows[0], cfg.Windows[len(cfg.Windows)-1], cfg.BaselineHalfLife),
		seed:    maphash.MakeSeed(),
		health:  make(map[string]*health),
		byName:  make(map[string]*health),
		formats: make(map[string]*int64),
		found:   make(map[string]foundAt),
	}
	a.clk.cumulative = cfg.Cumulative
	a.web = newWebPaths(&a.cfg)
	for i := 0; i < n; i++ {
		a.shards = append(a.shards, newShard(&a.cfg, n, a.clk, a.seed))
	}
	var homes atomic.Int32
	a.pool.New = func() any {
		// Scratch is kept per P, so its home shard is roughly the CPU's.
		return &scratch{order: make([][]int32, n), home: int(homes.Add(1)-1) % n}
	}
	if cfg.Recent > 0 {
		a.recent = make([]RecentLine, 0, cfg.Recent)
	}
	a.oldest.Store(0)
	return a
}

// Config returns the configuration in use.
func (a *Analyzer) Config() Config { return a.cfg }

// SetASResolver installs the enrichment that maps addresses to ASes. Until
// it is set every address is "AS unknown"; addresses already counted move
// to their AS as they are seen again.
func (a *Analyzer) SetASResolver(r ASResolver) {
	if r == nil {
		a.res.Store(nil)
		return
	}
	a.res.Store(&resolverBox{r})
}

func (a *Analyzer) resolver() ASResolver {
	if b := a.res.Load(); b != nil {
		return b.r
	}
	return nil
}

type scratch struct {
	pre   []pre
	buf   []byte
	order [][]int32
	home  int // the shard to start with
}

// AddEvents counts a batch of events. It does not keep the slice nor any
// string in it beyond the call (what it keeps, it copies).
func (a *Analyzer) AddEvents(batch []logs.Event) {
	if len(batch) == 0 {
		return
	}
	sc := a.pool.Get().(*scratch)
	if cap(sc.pre) < len(batch) {
		sc.pre = make([]pre, len(batch))
	}
	sc.pre = sc.pre[:len(batch)]
	sc.buf = sc.buf[:0]
	for i := range sc.order {
		sc.order[i] = sc.order[i][:0]
	}
	var newest int64
	var oldest int64
	var skipped int64
	since := a.cfg.Since
	nsh := uint64(len(a.shards))
	first := &batch[0]
	uniform := true
	for i := range batch {
		ev := &batch[i]
		p := &sc.pre[i]
		*p = pre{}
		uniform = uniform && ev.Source == first.Source && ev.Host == first.Host && ev.Format == first.Format
		if ev.Kind == logs.KindNone || ev.Time.IsZero() || (!since.IsZero() && ev.Time.Before(since)) {
			p.skip = true
			skipped++
			continue
		}
		ns := ev.Time.UnixNano()
		p.ns, p.fe, p.ce = ns, a.clk.fine(ns), a.clk.coarse(ns)
		newest = max(newest, ns)
		if oldest == 0 || ns < oldest {
			oldest = ns
		}
		src := ev.Src.Unmap()
		p.src = src
		p.outside = true
		if src.IsValid() {
			p.srcH = addrHash(src)
			p.outside = !a.cfg.inside(src)
		}
		p.ks = int32(len(sc.buf))
		sc.buf = a.appendHost(sc.buf, ev.Host)
		hlen := int32(len(sc.buf)) - p.ks
		switch ev.Kind {
		case logs.KindHTTP:
			if h := &ev.HTTP; p.outside {
				p.login = h.Action == logs.WebAuthFail || ((h.Method == "POST" || h.Status == 401 || h.Status == 403) && a.web.isLogin(h.Path))
				p.probe = a.web.isProbe(h.Path)
			}
			if ev.HTTP.Action == "" {
				vh := ev.HTTP.Vhost
				if len(vh) > 255 {
					vh = vh[:255]
				}
				path := ev.HTTP.Path
				if len(path) > maxKeyLen {
					path = path[:maxKeyLen]
				}
				sc.buf = AppendPage(sc.buf, vh, path)
				p.hlen = hlen
				p.vlen = hlen + int32(len(vh))
				p.pageH64 = maphash.Bytes(a.seed, sc.buf[p.ks:])
				p.pageH = uint32(p.pageH64)
				p.page = true
			}
		case logs.KindMail:
			act := ev.Mail.Action
			if act == "" {
				act = logs.ActOther
			}
			sc.buf = append(sc.buf, act...)
			if ev.Mail.Reason != "" && act == logs.ActReject {
				sc.buf = append(sc.buf, '/')
				sc.buf = append(sc.buf, ev.Mail.Reason[:min(len(ev.Mail.Reason), 64)]...)
			}
		case logs.KindDNS:
			q := ev.DNS.QName
			if len(q) > 255 {
				q = q[:255]
			}
			for len(q) > 1 && q[len(q)-1] == '.' {
				q = q[:len(q)-1]
			}
			for j := 0; j < len(q); j++ {
				c := q[j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				sc.buf = append(sc.buf, c)
			}
		}
		p.ke = int32(len(sc.buf))
		if p.ke == p.ks+hlen { // no key (an error-log line, a query without a name): no host prefix alone either
			sc.buf = sc.buf[:p.ks]
			p.ke = p.ks
		}
		if ev.Kind == logs.KindMail && ev.Mail.QueueID != "" {
			a.qmu.Lock()
			p.ob, p.obN = a.queues.link(ev.Host, ev, src)
			a.qmu.Unlock()
			if p.obN > 0 && a.cfg.inside(p.ob) {
				p.obN = 0 // the operator's own clients (and filters reinjecting) are no target
			}
		}
		s := 0
		if k := src; k.IsValid() || p.obN > 0 {
			if !k.IsValid() {
				k = p.ob // a delivery is counted where its client lives
			}
			hi, _ := bits.Mul64(shardKey(k), nsh)
			s = int(hi)
		}
		sc.order[s] = append(sc.order[s], int32(i))
	}
	if newest != 0 {
		a.noteTimes(oldest, newest)
	}

	// Each share is counted by this call, taking the shards as they come
	// free, starting from this CPU's own: two callers at once work on
	// different shards instead of queueing on one lock. A share is not
	// handed to the goroutine that holds its shard: its events are in this
	// CPU's cache, and on the 1 M-line report benchmark counting them here
	// took 4 % less CPU than handing them over.
	n := len(a.shards)
	var pending uint64
	for s, o := range sc.order {
		if len(o) > 0 {
			pending |= 1 << s
		}
	}
	var spinning time.Time
	for pending != 0 {
		progressed := false
		for k := range n {
			s := (sc.home + k) % n
			if pending&(1<<s) == 0 {
				continue
			}
			sh := a.shards[s]
			if !sh.mu.TryLock() {
				continue
			}
			sh.count(a, batch, sc.pre, sc.buf, sc.order[s])
			sh.mu.Unlock()
			pending &^= 1 << s
			progressed = true
		}
		if progressed {
			spinning = time.Time{}
		} else if pending != 0 {
			// Every shard left is busy, most often for less time than
			// sleeping and being woken takes: try again for a while,
			// then wait for one.
			now := time.Now()
			if spinning.IsZero() {
				spinning = now
			}
			if now.Sub(spinning) < spinFor {
				runtime.Gosched()
				continue
			}
			spinning = time.Time{}
			s := bits.TrailingZeros64(pending)
			sh := a.shards[s]
			sh.mu.Lock()
			sh.count(a, batch, sc.pre, sc.buf, sc.order[s])
			sh.mu.Unlock()
			pending &^= 1 << s
		}
	}
	a.parsed.Add(int64(len(batch)) - skipped)
	a.skipped.Add(skipped)
	a.noteBatch(batch, sc.pre, uniform)
	a.pool.Put(sc)
}

// spinFor is how long AddEvents tries again for a busy shard before it
// sleeps on its lock. Another caller holds a shard for one share of a
// batch, about 100 µs in a backfill, and sleeping and being woken often
// took longer than that: on the 1 M-line report benchmark, trying again
// for 100 µs took the median wall time from 354 to 338-342 ms, for about
// the same CPU time (300 µs and 1 ms did no better).
const spinFor = 100 * time.Microsecond

// maxHostLen bounds the host prefix of a key: fleet host names are the
// operator's own, but a long one should not crowd out the page.
const maxHostLen = 64

// appendHost appends the "host " prefix that splits a grouping by fleet
// host (Config.SplitByHost); this host's own events ("") stay unprefixed.
func (a *Analyzer) appendHost(dst []byte, host string) []byte {
	if !a.cfg.SplitByHost || host == "" {
		return dst
	}
	host = host[:min(len(host), maxHostLen)]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == ' ' || c < 0x20 || c == 0x7f {
			c = '_' // the space ends the prefix; control bytes never reach a key
		}
		dst = append(dst, c)
	}
	return append(dst, ' ')
}

// CopiesStrings reports that the analyzer keeps no string of an event
// beyond AddEvents or AddMalformed: keys, samples and recent lines are
// copied (see ingest.StringCopier).
func (a *Analyzer) CopiesStrings() bool { return true }

// noteTimes advances the data clock.
func (a *Analyzer) noteTimes(oldest, newest int64) {
	for {
		cur := a.newest.Load()
		if newest <= cur || a.newest.CompareAndSwap(cur, newest) {
			break
		}
	}
	for {
		cur := a.oldest.Load()
		if (cur != 0 && oldest >= cur) || a.oldest.CompareAndSwap(cur, oldest) {
			break
		}
	}
	// The baseline's history starts at the oldest event seen.
	fe := a.clk.fine(oldest)
	for {
		cur := atomic.LoadInt32(&a.clk.start)
		if (cur != 0 && fe >= cur) || atomic.CompareAndSwapInt32(&a.clk.start, cur, fe) {
			break
		}
	}
}

const recentPerBatch = 256

// noteBatch updates source health, format counts and the ring of recent
// lines. uniform tells that every event has the first one's source, host
// and format, as a batch read from one file usually has: then the events,
// long out of cache by now, are not read again one by one.
func (a *Analyzer) noteBatch(batch []logs.Event, pres []pre, uniform bool) {
	a.hmu.Lock()
	defer a.hmu.Unlock()
	var h *health
	var fmtName string
	var fmtN *int64
	// parsed notes n events of format f parsed from h's source.
	parsed := func(f string, n int64) {
		if f != "" && h.format != f {
			h.format = strings.Clone(f)
		}
		if fmtN == nil || f != fmtName {
			fmtName = f
			if fmtN = a.formats[f]; fmtN == nil {
				fmtN = new(int64)
				a.formats[strings.Clone(f)] = fmtN
			}
		}
		*fmtN += n
	}
	each := batch // the events to read one by one
	if uniform {
		ev := &batch[0]
		h = a.sourceLocked(ev.Source, ev.Host)
		h.lines += int64(len(batch))
		var n int64
		for i := range pres {
			if !pres[i].skip {
				h.newest = max(h.newest, pres[i].ns)
				h.t.add(pres[i].fe, 1)
				n++
			}
		}
		if n > 0 {
			parsed(ev.Format, n)
		}
		each = nil
	}
	for i := range each {
		ev := &each[i]
		if h == nil || h.name != ev.Source || h.host != ev.Host {
			h = a.sourceLocked(ev.Source, ev.Host)
		}
		h.lines++
		if pres[i].skip {
			continue
		}
		h.newest = max(h.newest, pres[i].ns)
		h.t.add(pres[i].fe, 1)
		parsed(ev.Format, 1)
	}
	if cap(a.recent) == 0 {
		return
	}
	start := max(0, len(batch)-min(recentPerBatch, cap(a.recent)))
	// One copy of all kept lines, sliced: one allocation per batch.
	var sb strings.Builder
	for i := start; i < len(batch); i++ {
		if !pres[i].skip {
			sb.WriteString(clipLen(batch[i].Line))
		}
	}
	all := sb.String()
	off := 0
	for i := start; i < len(batch); i++ {
		if pres[i].skip {
			continue
		}
		ev := &batch[i]
		l := len(clipLen(ev.Line))
		if h == nil || h.name != ev.Source || h.host != ev.Host {
			h = a.sourceLocked(ev.Source, ev.Host)
		}
		r := RecentLine{Time: ev.Time, Source: h.name, Src: ev.Src, Kind: ev.Kind.String(), Line: all[off : off+l]}
		off += l
		if len(a.recent) < cap(a.recent) {
			a.recent = append(a.recent, r)
		} else {
			a.recent[a.rpos] = r
			a.rpos = (a.rpos + 1) % len(a.recent)
		}
	}
}

func clipLen(s string) string {
	if len(s) > 4096 {
		return s[:4096]
	}
	return s
}

// sourceLocked returns the health of a source of a host: the same path on
// two fleet hosts is two sources.
func (a *Analyzer) sourceLocked(name, host string) *health {
	key := host + "\x00" + name
	h := a.health[key]
	if h == nil {
		if len(a.health) >= 4096 { // a pathological number of sources: fold
			key = "\x00(other sources)"
			if h = a.health[key]; h != nil {
				return h
			}
			name, host = "(other sources)", ""
		}
		h = &health{name: strings.Clone(name), host: strings.Clone(host)}
		key = strings.Clone(key)
		a.health[key] = h
		a.order = append(a.order, key)
		a.byName[h.name] = h
	}
	return h
}

// sourceAnyLocked returns the health of a source whose host the caller
// does not know (malformed lines, source errors): this host's, else the
// last host's source of that name.
func (a *Analyzer) sourceAnyLocked(name string) *health {
	if h := a.health["\x00"+name]; h != nil {
		return h
	}
	if h := a.byName[name]; h != nil {
		return h
	}
	return a.sourceLocked(name, "")
}

// AddMalformed counts a line no parser understood and keeps a bounded sample.
func (a *Analyzer) AddMalformed(source string, lineNo int64, reason, line string) {
	a.malformed.Add(1)
	a.hmu.Lock()
	defer a.hmu.Unlock()
	h := a.sourceAnyLocked(source)
	h.lines++
	h.malformed++
	b := BadLine{Source: h.name, LineNo: lineNo, Reason: strings.Clone(reason[:min(len(reason), 128)]), Line: clip(line)}
	if len(a.bad) < maxBad {
		a.bad = append(a.bad, b)
	} else {
		a.bad[a.bpos] = b
		a.bpos = (a.bpos + 1) % maxBad
	}
}

// SourceError records the last error of a source (a file that vanished, a
// permission problem), shown with its health.
func (a *Analyzer) SourceError(source, msg string) {
	a.hmu.Lock()
	defer a.hmu.Unlock()
	a.sourceAnyLocked(source).err = sanitize.Truncate(msg, 300)
}

// Newest returns the time of the newest event (the data clock).
func (a *Analyzer) Newest() time.Time {
	if n := a.newest.Load(); n != 0 {
		return time.Unix(0, n).UTC()
	}
	return time.Time{}
}

// isTarget reports whether an address may be proposed as a block target.
func (a *Analyzer) isTarget(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsUnspecified() && !a.cfg.allowed(ip)
}
