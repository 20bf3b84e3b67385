package analyze

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// extra is what a table's per-key extension must offer a snapshot.
type extra[X any] interface {
	sources() int
	// frozen returns a copy that shares nothing the table still mutates.
	frozen() X
}

func (x ipX) frozen() ipX {
	if x.cl != nil {
		x.cl = &cluster{fp: x.cl.fp}
	}
	return x
}
func (x noX) frozen() noX   { return x }
func (x grpX) frozen() grpX { return grpX{} }
func (x pfxX) frozen() pfxX { return x }
func (x asX) frozen() asX   { return x }
func (x pageX) frozen() pageX {
	y := pageX{vlen: x.vlen, hlen: x.hlen}
	if x.top != nil {
		t := *x.top
		y.top = &t
	}
	return y
}

// counts are a group's numbers as read at one moment.
type counts struct {
	total, err, bytes int64
	first, last       int64
	short, long       int64
	base              float64 // events per fine bucket
	trend             [nFine]uint32
	src               int
	samples           []string
}

func (c *counts) add(o *counts) {
	c.total += o.total
	c.err += o.err
	c.bytes += o.bytes
	if c.first == 0 || (o.first != 0 && o.first < c.first) {
		c.first = o.first
	}
	c.last = max(c.last, o.last)
	c.short += o.short
	c.long += o.long
	c.base += o.base
	for i := range c.trend {
		c.trend[i] += o.trend[i]
	}
	c.src += o.src
	if len(c.samples) < 3 {
		c.samples = append(c.samples, o.samples[:min(len(o.samples), 3-len(c.samples))]...)
	}
}

type row[K comparable, X any] struct {
	key K
	x   X
	counts
}

// extract reads the hot entries of t.
func extract[K comparable, X extra[X]](t *table[K, X], c *clock, nowF, nowC int32, out []row[K, X]) []row[K, X] {
	t.refresh(nowC)
	for _, i := range t.hot {
		out = append(out, rowOfEntry(t.at(i), c, nowF, nowC))
	}
	return out
}

// rowOfEntry copies an entry's counts at nowF and nowC.
func rowOfEntry[K comparable, X extra[X]](e *entry[K, X], c *clock, nowF, nowC int32) row[K, X] {
	r := row[K, X]{key: e.key, x: e.x.frozen()}
	r.total, r.err, r.bytes, r.first, r.last = e.total, e.err, e.bytes, e.first, e.last
	r.short, r.long, r.base = e.r.short(nowF), e.r.long(nowC), c.base(&e.r, e.total, nowF)
	for j := range r.trend {
		r.trend[j] = e.r.fineAt(nowF - nFine + 1 + int32(j))
	}
	r.src = e.x.sources()
	if e.samples != nil {
		r.samples = slices.Clone(*e.samples)
	}
	return r
}

// classRows sums a shard's status codes into status classes, which are
// not counted apart: that was a second table count for every request.
// Every code is read, hot or not; the code table holds them all (at most
// 1000 codes, in room for 1024), so the sums are exact.
func classRows(t *table[int, grpX], c *clock, nowF, nowC int32) []row[string, grpX] {
	var out []row[string, grpX]
	var at [10]int // index+1 in out of each class
	t.each(func(e *entry[int, grpX]) {
		r := rowOfEntry(e, c, nowF, nowC)
		k := e.key / 100
		if at[k] == 0 {
			out = append(out, row[string, grpX]{key: statusClass(e.key), counts: r.counts})
			at[k] = len(out)
			return
		}
		out[at[k]-1].add(&r.counts)
	})
	return out
}

// sumLazy returns the busiest prefixes and ASes of a shard that counts
// them lazily, summed from its addresses (see shard.lazy): as many as the
// tables' hot lists would hold; and, from the same pass, the addresses'
// fingerprint groups. Addresses whose AS is not known yet are asked for
// once more first.
func (s *shard) sumLazy(a *Analyzer, nowF, nowC int32) ([]row[netip.Prefix, pfxX], []row[uint32, asX], *fpGroups) {
	c := a.clk
	res := a.resolver()
	var epoch uint32
	if res != nil {
		epoch = resolverEpoch(res)
	}
	idx := make(map[[2]uint64]int, s.ips.n)
	// An IPv6 address has two prefixes: room for them up front, since
	// growing copies every row (untouched capacity costs nothing).
	rows := make([]row[netip.Prefix, pfxX], 0, s.ips.n*3/2)
	asIdx := map[uint32]int{}
	var asRows []row[uint32, asX]
	gs := newFPGroups(s.ips.n)
	for i := int32(0); i < s.ips.n; i++ {
		e := s.ips.at(i)
		if res != nil && e.x.unasked(epoch) {
			if n := askAS(res, e, epoch); n != 0 {
				e.x.asn = n
			}
		}
		gs.add(i, e)
		one := counts{total: e.total, err: e.err, bytes: e.bytes, first: e.first, last: e.last,
			short: e.r.short(nowF), long: e.r.long(nowC), base: c.base(&e.r, e.total, nowF), src: 1}
		for j := range one.trend {
			one.trend[j] = e.r.fineAt(nowF - nFine + 1 + int32(j))
		}
		p1, p2 := Prefixes(e.key)
		for _, pf := range [2]netip.Prefix{p1, p2} {
			if !pf.IsValid() {
				continue
			}
			k := prefixBits(pf)
			j, ok := idx[k]
			if !ok {
				j = len(rows)
				idx[k] = j
				rows = append(rows, row[netip.Prefix, pfxX]{key: pf})
			}
			r := &rows[j]
			r.add(&one)
			r.x.n++
			if e.x.asn != 0 {
				r.x.asn = e.x.asn
			}
		}
		r := rowOf(asIdx, &asRows, e.x.asn)
		r.add(&one)
		r.x.n++
	}
	return busiest(a, rows, 2*s.pfx.hotCap, cmpPrefix), busiest(a, asRows, 2*s.ases.hotCap, cmp.Compare[uint32]), gs
}

// prefixBits is a masked prefix as a map key: its 128 bits (IPv4 as
// IPv4-mapped) with its length in the low byte, which is 0 in every
// prefix summed (/24, /48, /64). A map keyed so hashes 16 plain bytes
// where a netip.Prefix key costs more.
func prefixBits(p netip.Prefix) [2]uint64 {
	b := p.Addr().As16()
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]) | uint64(p.Bits())}
}

// rowOf returns k's row in rows, whose indexes idx holds, adding it when
// missing; the pointer holds until the next row is added.
func rowOf[K comparable, X any](idx map[K]int, rows *[]row[K, X], k K) *row[K, X] {
	j, ok := idx[k]
	if !ok {
		j = len(*rows)
		idx[k] = j
		*rows = append(*rows, row[K, X]{key: k})
	}
	return &(*rows)[j]
}

// busiest returns the n busiest rows, busiest first. It keeps the n best
// seen so far in a heap whose root is the least of them, so most rows cost
// one comparison instead of a place in a sort of them all.
func busiest[K comparable, X any](a *Analyzer, rows []row[K, X], n int, compare func(K, K) int) []row[K, X] {
	// before reports whether row i ranks before row j.
	before := func(i, j int32) bool {
		x, y := &rows[i], &rows[j]
		if c := cmp.Compare(a.events(&y.counts), a.events(&x.counts)); c != 0 {
			return c < 0
		}
		if c := cmp.Compare(y.short, x.short); c != 0 {
			return c < 0
		}
		return compare(x.key, y.key) < 0
	}
	h := make([]int32, 0, min(n, len(rows)))
	// down restores the heap (the root ranks last) below position k.
	down := func(k int) {
		for {
			c := 2*k + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && before(h[c], h[c+1]) {
				c++
			}
			if !before(h[k], h[c]) {
				return
			}
			h[k], h[c] = h[c], h[k]
			k = c
		}
	}
	for i := range rows {
		r := int32(i)
		switch {
		case len(h) < n:
			h = append(h, r)
			for k := len(h) - 1; k > 0; {
				p := (k - 1) / 2
				if !before(h[p], h[k]) {
					break
				}
				h[k], h[p] = h[p], h[k]
				k = p
			}
		case n > 0 && before(r, h[0]):
			h[0] = r
			down(0)
		}
	}
	slices.SortFunc(h, func(i, j int32) int {
		if before(i, j) {
			return -1
		}
		return 1
	})
	out := make([]row[K, X], 0, len(h))
	for _, i := range h {
		out = append(out, rows[i])
	}
	return out
}

// mergeInto adds rows to m by key (groupings whose keys recur across shards).
func mergeInto[K comparable, X any](m map[K]*row[K, X], rows []row[K, X]) {
	for i := range rows {
		r := &rows[i]
		if o, ok := m[r.key]; ok {
			o.add(&r.counts)
			continue
		}
		m[r.key] = r
	}
}

func values[K comparable, X any](m map[K]*row[K, X]) []row[K, X] {
	out := make([]row[K, X], 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	return out
}

type seriesView struct {
	counts
	trendAll [trendSlots]float64
}

type clusterView struct {
	fp      uint64
	members []netip.Addr
	ua      string
	pages   []string
	size    int
	events  int64
	last    int64
	ases    map[uint32]int
}

// view is everything read from the shards for one snapshot, merged.
type view struct {
	nowF, nowC int32
	warm       bool
	ips        []row[netip.Addr, ipX]
	pfx        []row[netip.Prefix, pfxX]
	ases       []row[uint32, asX]
	pages      []row[string, pageX]
	classes    []row[string, grpX]
	codes      []row[int, grpX]
	mailAct    []row[string, grpX]
	mailCli    []row[netip.Addr, noX]
	mailFrom   []row[string, grpX]
	dnsName    []row[string, grpX]
	dnsType    []row[string, grpX]
	dnsCli     []row[netip.Addr, noX]
	sig        [nSig][]row[netip.Addr, noX]
	ser        [nSeries]seriesView
	clusters   []clusterView
	ipEvents   map[netip.Addr]int64
}

// read takes every shard's lock in turn, briefly, and merges what it read.
func (a *Analyzer) read() *view {
	c := a.clk
	newest := a.newest.Load()
	v := &view{}
	if newest == 0 {
		return v
	}
	v.nowF, v.nowC = c.fine(newest), c.coarse(newest)
	v.warm = c.warm(v.nowF)
	nowF, nowC := v.nowF, v.nowC
	ases := map[uint32]*row[uint32, asX]{}
	pages := map[string]*row[string, pageX]{}
	classes := map[string]*row[string, grpX]{}
	codes := map[int]*row[int, grpX]{}
	mailAct := map[string]*row[string, grpX]{}
	mailFrom := map[string]*row[string, grpX]{}
	dnsName := map[string]*row[string, grpX]{}
	dnsType := map[string]*row[string, grpX]{}
	clusters := map[uint64]*clusterView{}
	// Prefixes and ASes summed from the addresses (a report's one
	// snapshot) cost a pass over every address: the shards do it in parallel.
	lazyPfx := make([][]row[netip.Prefix, pfxX], len(a.shards))
	lazyAS := make([][]row[uint32, asX], len(a.shards))
	lazyCl := make([][]clusterView, len(a.shards))
	var wg sync.WaitGroup
	for i, sh := range a.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh.mu.Lock()
			defer sh.mu.Unlock()
			if sh.lazy {
				var gs *fpGroups
				lazyPfx[i], lazyAS[i], gs = sh.sumLazy(a, nowF, nowC)
				lazyCl[i] = sh.lazyClusters(a, gs)
			}
		}()
	}
	wg.Wait()
	for si, sh := range a.shards {
		var (
			rAS                     []row[uint32, asX]
			rPages                  []row[string, pageX]
			rCl, rMA, rMF, rDN, rDT []row[string, grpX]
			rCodes                  []row[int, grpX]
			ser                     [nSeries]series
			cls                     []clusterView
		)
		sh.mu.Lock()
		n0 := len(v.ips)
		v.ips = extract(sh.ips, c, nowF, nowC, v.ips)
		if sh.lazy {
			// A lazy shard's addresses name their cluster by fingerprint,
			// as frozen rows of other shards do (ipX.frozen).
			for i := n0; i < len(v.ips); i++ {
				if x := &v.ips[i].x; x.np > 0 && x.np != diverse {
					x.cl = &cluster{fp: fingerprint(x)}
				}
			}
			cls = append(cls, lazyCl[si]...)
			// (A shard that evicted since the parallel pass counts per event
			// from then on: its tables are read instead.)
			v.pfx = append(v.pfx, lazyPfx[si]...)
			rAS = lazyAS[si]
		} else {
			v.pfx = extract(sh.pfx, c, nowF, nowC, v.pfx)
			rAS = extract(sh.ases, c, nowF, nowC, nil)
		}
		rPages = extract(sh.pages, c, nowF, nowC, nil)
		rCl = classRows(sh.codes, c, nowF, nowC)
		rCodes = extract(sh.codes, c, nowF, nowC, nil)
		rMA = extract(sh.mailAct, c, nowF, nowC, nil)
		v.mailCli = extract(sh.mailCli, c, nowF, nowC, v.mailCli)
		rMF = extract(sh.mailFrom, c, nowF, nowC, nil)
		rDN = extract(sh.dnsName, c, nowF, nowC, nil)
		rDT = extract(sh.dnsType, c, nowF, nowC, nil)
		v.dnsCli = extract(sh.dnsCli, c, nowF, nowC, v.dnsCli)
		for k := range sh.sig {
			v.sig[k] = extract(sh.sig[k], c, nowF, nowC, v.sig[k])
		}
		ser = sh.ser
		for k := range ser {
			ser[k].r.detach() // read below, after the shard goes on counting
		}
		cc := &a.cfg.Clusters
		sh.clusters.all(func(fp uint64, cl *cluster) {
			// Clusters too small in this shard may still add up across
			// shards; only the clearly small are skipped here.
			// One-visit clusters (every new address starts in one) are
			// neither shown nor a flood: only repeat visitors are read.
			if cl.size*len(a.shards) < cc.MinSize || cl.events < 2*int64(cl.size) {
				return
			}
			cls = append(cls, cl.view(fp))
		})
		sh.mu.Unlock()

		mergeInto(ases, rAS)
		mergeInto(pages, rPages)
		mergeInto(classes, rCl)
		mergeInto(codes, rCodes)
		mergeInto(mailAct, rMA)
		mergeInto(mailFrom, rMF)
		mergeInto(dnsName, rDN)
		mergeInto(dnsType, rDT)
		for k := range ser {
			if k == serTotal {
				continue // summed below
			}
			s := &ser[k]
			sv := &v.ser[k]
			one := counts{total: s.total, bytes: s.bytes, first: s.first, last: s.last,
				short: s.r.short(nowF), long: s.r.long(nowC), base: c.base(&s.r, s.total, nowF)}
			for j := range one.trend {
				one.trend[j] = s.r.fineAt(nowF - nFine + 1 + int32(j))
			}
			sv.add(&one)
			s.t.mergeInto(sv.trendAll[:], nowF)
		}
		for i := range cls {
			cl := &cls[i]
			if o := clusters[cl.fp]; o != nil {
				o.size += cl.size
				o.events += cl.events
				o.members = append(o.members, cl.members...)
				o.last = max(o.last, cl.last)
				for k, n := range cl.ases {
					o.ases[k] += n
				}
				continue
			}
			clusters[cl.fp] = cl
		}
	}
	tot := &v.ser[serTotal]
	for _, k := range kindSeries {
		tot.add(&v.ser[k].counts)
		for j, n := range v.ser[k].trendAll {
			tot.trendAll[j] += n
		}
	}
	v.ases = values(ases)
	v.pages = values(pages)
	v.classes = values(classes)
	v.codes = values(codes)
	v.mailAct = values(mailAct)
	v.mailFrom = values(mailFrom)
	v.dnsName = values(dnsName)
	v.dnsType = values(dnsType)
	for _, cl := range clusters {
		v.clusters = append(v.clusters, *cl)
	}
	a.sortView(v)
	return v
}

// events is the count a group is ranked and shown by.
func (a *Analyzer) events(c *counts) int64 {
	if a.cfg.Cumulative {
		return c.total
	}
	return c.long
}

// byEvents sorts rows busiest first; ties by the current rate, then by key
// (compared as keys, not as formatted strings, which would allocate in
// every comparison).
func byEvents[K comparable, X any](a *Analyzer, rows []row[K, X], compare func(K, K) int) {
	slices.SortFunc(rows, func(x, y row[K, X]) int {
		if c := cmp.Compare(a.events(&y.counts), a.events(&x.counts)); c != 0 {
			return c
		}
		if c := cmp.Compare(y.short, x.short); c != 0 {
			return c
		}
		return compare(x.key, y.key)
	})
}

func cmpAddr(a, b netip.Addr) int { return a.Compare(b) }
func cmpPrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func addrKey(a netip.Addr) string { return a.String() }
func strKey(s string) string      { return s }
func intKey(i int) string         { return strconv.Itoa(i) }

func (a *Analyzer) sortView(v *view) {
	byEvents(a, v.ips, cmpAddr)
	byEvents(a, v.pfx, cmpPrefix)
	byEvents(a, v.ases, cmp.Compare[uint32])
	byEvents(a, v.pages, strings.Compare)
	byEvents(a, v.classes, strings.Compare)
	byEvents(a, v.codes, cmp.Compare[int])
	byEvents(a, v.mailAct, strings.Compare)
	byEvents(a, v.mailCli, cmpAddr)
	byEvents(a, v.mailFrom, strings.Compare)
	byEvents(a, v.dnsName, strings.Compare)
	byEvents(a, v.dnsType, strings.Compare)
	byEvents(a, v.dnsCli, cmpAddr)
	for k := range v.sig {
		byEvents(a, v.sig[k], cmpAddr)
	}
	slices.SortFunc(v.clusters, func(x, y clusterView) int {
		if c := cmp.Compare(y.events, x.events); c != 0 {
			return c
		}
		return cmp.Compare(x.fp, y.fp)
	})
}

// Snapshot returns an immutable picture of everything counted so far. It
// reads only each grouping's hot list, so its cost does not depend on how
// many addresses are tracked, and holds each shard's lock only while
// copying that shard's rows.
func (a *Analyzer) Snapshot() *Snapshot {
	v := a.read()
	s := &Snapshot{
		Taken:     time.Now(),
		Windows:   slices.Clone(a.cfg.Windows),
		Parsed:    a.parsed.Load(),
		Malformed: a.malformed.Load(),
		Skipped:   a.skipped.Load(),
	}
	s.Lines = s.Parsed + s.Malformed + s.Skipped
	if n := a.newest.Load(); n != 0 {
		s.Newest = time.Unix(0, n).UTC()
		s.To = s.Newest
		s.From = time.Unix(0, a.oldest.Load()).UTC()
	}
	a.health0(s, v)
	if v.nowF == 0 {
		return s
	}
	tot := &v.ser[serTotal]
	s.Total = a.group("total", &tot.counts, a.events(&tot.counts))
	s.Total.Trend = a.perSecond(tot.trendAll[:])
	totalEvents := s.Total.Events
	top := a.cfg.Top
	res := a.resolver()

	// Addresses, with their AS (resolved now for the top rows if unknown).
	asNames := map[uint32][2]string{}
	ips := v.ips[:min(len(v.ips), top)]
	for i := range ips {
		r := &ips[i]
		g := a.group(r.key.String(), &r.counts, totalEvents)
		g.Prefix = netip.PrefixFrom(r.key, r.key.BitLen())
		g.Samples = r.samples
		g.ASN = r.x.asn
		if res != nil {
			if asn, name, cc, ok := res.ASOf(r.key); ok {
				g.ASN, g.ASName, g.Country = asn, name, cc
				asNames[asn] = [2]string{name, cc}
			}
		}
		s.IPs = append(s.IPs, g)
	}

	// Prefixes, each with its top addresses.
	ipsOf := map[netip.Prefix][]Member{}
	for i := range v.ips {
		r := &v.ips[i]
		p1, p2 := Prefixes(r.key)
		m := Member{Key: r.key.String(), Events: a.events(&r.counts)}
		for _, p := range []netip.Prefix{p1, p2} {
			if p.IsValid() && len(ipsOf[p]) < 5 {
				ipsOf[p] = append(ipsOf[p], m)
			}
		}
	}
	pfxOf := map[uint32][]Member{}
	for i := range v.pfx {
		r := &v.pfx[i]
		if i < top {
			g := a.group(r.key.String(), &r.counts, totalEvents)
			g.Prefix = r.key
			g.ASN = r.x.asn
			if n, ok := asNames[g.ASN]; ok {
				g.ASName, g.Country = n[0], n[1]
			}
			g.Top = ipsOf[r.key]
			s.Prefixes = append(s.Prefixes, g)
		}
		if (r.key.Addr().Is4() || r.key.Bits() == 48) && len(pfxOf[r.x.asn]) < 5 {
			pfxOf[r.x.asn] = append(pfxOf[r.x.asn], Member{Key: r.key.String(), Events: a.events(&r.counts)})
		}
	}
	for i := range v.ases[:min(len(v.ases), top)] {
		r := &v.ases[i]
		g := a.group(asKey(r.key), &r.counts, totalEvents)
		g.ASN = r.key
		if n, ok := asNames[r.key]; ok {
			g.ASName, g.Country = n[0], n[1]
		}
		g.Top = pfxOf[r.key]
		s.ASes = append(s.ASes, g)
	}
	for i := range v.pages[:min(len(v.pages), top)] {
		r := &v.pages[i]
		g := a.group(r.key, &r.counts, totalEvents)
		vl := min(int(r.x.vlen), len(r.key))
		hl := min(int(r.x.hlen), vl)
		g.Vhost, g.Path = r.key[hl:vl], r.key[vl:]
		if hl > 0 {
			g.Host = r.key[:hl-1]
		}
		g.Top = a.pageASes(r.x.top, res)
		s.Pages = append(s.Pages, g)
	}
	s.Statuses = groups(a, v.classes, top, strKey, totalEvents)
	s.StatusCodes = groups(a, v.codes, top, intKey, totalEvents)
	mailTotal := a.events(&v.ser[serMail].counts)
	s.MailActions = groups(a, v.mailAct, top, strKey, mailTotal)
	s.MailClients = groups(a, v.mailCli, top, addrKey, mailTotal)
	s.MailSenders = groups(a, v.mailFrom, top, strKey, mailTotal)
	dnsTotal := a.events(&v.ser[serDNS].counts)
	s.DNSNames = groups(a, v.dnsName, top, strKey, dnsTotal)
	s.DNSTypes = groups(a, v.dnsType, top, strKey, dnsTotal)
	s.DNSClients = groups(a, v.dnsCli, top, addrKey, dnsTotal)
	s.DNSDenied = groups(a, v.sig[sigDNSDenied], top, addrKey, a.events(&v.ser[serDNSDenied].counts))
	s.Clusters = a.clusters(v, res)
	s.Findings = a.detect(v, s)
	return s
}

func groups[K comparable, X any](a *Analyzer, rows []row[K, X], top int, key func(K) string, total int64) []Group {
	rows = rows[:min(len(rows), top)]
	out := make([]Group, 0, len(rows))
	for i := range rows {
		g := a.group(key(rows[i].key), &rows[i].counts, total)
		if p, ok := any(rows[i].key).(netip.Addr); ok {
			g.Prefix = netip.PrefixFrom(p, p.BitLen())
		}
		out = append(out, g)
	}
	return out
}

// group turns counts into a Group row.
func (a *Analyzer) group(key string, c *counts, total int64) Group {
	fineSec := float64(a.clk.fineW) / 1e9
	g := Group{
		Key:      key,
		Events:   a.events(c),
		Bytes:    c.bytes,
		Sources:  c.src,
		Rate:     float64(c.short) / a.clk.shortSec,
		Baseline: c.base / fineSec,
		Trend:    make([]float64, nFine),
	}
	if c.first != 0 {
		g.First = time.Unix(0, c.first).UTC()
	}
	if c.last != 0 {
		g.Last = time.Unix(0, c.last).UTC()
	}
	if total > 0 {
		g.Share = float64(g.Events) / float64(total)
	}
	for i, n := range c.trend {
		g.Trend[i] = float64(n) / fineSec
	}
	if c.err > 0 {
		g.Estimated, g.ErrorBound = true, c.err
	}
	return g
}

func (a *Analyzer) perSecond(counts []float64) []float64 {
	fineSec := float64(a.clk.fineW) / 1e9
	out := make([]float64, len(counts))
	for i, n := range counts {
		out[i] = n / fineSec
	}
	return out
}

// pageASes turns a page's top addresses into its top ASes.
func (a *Analyzer) pageASes(top *pageTop, res ASResolver) []Member {
	if top == nil {
		return nil
	}
	by := map[uint32]int64{}
	for _, c := range top.list() {
		if !c.ip.IsValid() {
			continue
		}
		asn := c.asn
		if asn == 0 && res != nil {
			if n, _, _, ok := res.ASOf(c.ip); ok {
				asn = n
			}
		}
		by[asn] += c.n
	}
	out := make([]Member, 0, len(by))
	for asn, n := range by {
		out = append(out, Member{Key: asKey(asn), Events: n})
	}
	slices.SortFunc(out, func(x, y Member) int {
		if c := cmp.Compare(y.Events, x.Events); c != 0 {
			return c
		}
		return cmp.Compare(x.Key, y.Key)
	})
	return out
}

// clusters turns behaviour clusters into rows, leaving out the small ones,
// one-page visitors and, in live mode, clusters idle for the longest window.
func (a *Analyzer) clusters(v *view, res ASResolver) []Cluster {
	cc := a.cfg.Clusters
	longest := int64(a.cfg.Windows[len(a.cfg.Windows)-1])
	newest := a.newest.Load()
	var out []Cluster
	members := map[uint64][]netip.Addr{}
	for i := range v.ips {
		if cl := v.ips[i].x.cl; cl != nil && len(members[cl.fp]) < 20 {
			members[cl.fp] = append(members[cl.fp], v.ips[i].key)
		}
	}
	for _, cl := range v.clusters {
		if cl.size < cc.MinSize || float64(cl.events) < cc.MinEventsPerSource*float64(cl.size) {
			continue
		}
		if !a.cfg.Cumulative && newest-cl.last > longest {
			continue
		}
		c := Cluster{
			ID:      strconv.FormatUint(cl.fp, 16),
			UA:      cl.ua,
			Pages:   slices.Clone(cl.pages),
			Size:    cl.size,
			Events:  cl.events,
			Sources: members[cl.fp],
		}
		for asn, n := range cl.ases {
			c.ASes = append(c.ASes, Member{Key: asKey(asn), Events: int64(n)})
		}
		slices.SortFunc(c.ASes, func(x, y Member) int {
			if c := cmp.Compare(y.Events, x.Events); c != 0 {
				return c
			}
			return cmp.Compare(x.Key, y.Key)
		})
		out = append(out, c)
		if len(out) >= a.cfg.Top {
			break
		}
	}
	return out
}

// health0 fills the sources' health, format counts and the recent and bad rings.
func (a *Analyzer) health0(s *Snapshot, v *view) {
	now := time.Now()
	a.hmu.Lock()
	defer a.hmu.Unlock()
	s.Formats = make(map[string]int64, len(a.formats))
	for name, n := range a.formats {
		s.Formats[name] = *n
	}
	for _, name := range a.order {
		h := a.health[name]
		sh := SourceHealth{Name: h.name, Host: h.host, Format: h.format, Lines: h.lines, Malformed: h.malformed, Err: h.err}
		if v.nowF != 0 {
			tr := make([]float64, trendSlots)
			h.t.mergeInto(tr, v.nowF)
			sh.Trend = a.perSecond(tr)
			var n float64
			for _, x := range tr[trendSlots-nFine:] {
				n += x
			}
			sh.Rate = n / a.clk.shortSec
		}
		if h.newest != 0 {
			sh.Lag = now.Sub(time.Unix(0, h.newest))
		}
		s.Sources = append(s.Sources, sh)
	}
	if n := len(a.recent); n > 0 {
		s.Recent = make([]RecentLine, 0, n)
		s.Recent = append(s.Recent, a.recent[a.rpos:]...)
		s.Recent = append(s.Recent, a.recent[:a.rpos]...)
	}
	if n := len(a.bad); n > 0 {
		s.Bad = make([]BadLine, 0, n)
		s.Bad = append(s.Bad, a.bad[a.bpos:]...)
		s.Bad = append(s.Bad, a.bad[:a.bpos]...)
	}
}
