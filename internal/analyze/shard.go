package analyze

import (
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/irtui/irtui/internal/logs"
)

// Signals are per-address counts of one kind of suspicious event, each in
// its own small table so benign traffic costs nothing there.
const (
	sigLogin       = iota // 401/403 and POSTs to login pages
	sigProbe              // requests for known probe paths
	sigNotFound           // 404s
	sigRelay              // mail relay attempts
	sigAuth               // SMTP AUTH failures
	sigBackscatter        // null-sender mail from outside
	sigDNSDenied          // refused or denied queries from outside
	sigDNSAmp             // ANY and large-answer queries
	sigOutbound           // remote deliveries of mail a client handed in
	nSig
)

// Series are whole-traffic counters. serTotal is not counted but summed
// from serHTTP, serMail and serDNS when read (every event is one of them).
const (
	serTotal = iota
	serHTTP
	serMail
	serDNS
	serOutbound
	serBackscatter
	serDNSAmp
	serDNSDenied
	serLogin
	serAuth
	serRelay
	serProbe
	serNotFound
	nSeries
)

// kindSeries are the series whose sum is serTotal.
var kindSeries = [...]int{serHTTP, serMail, serDNS}

// Traffic kinds seen from an address, for a finding's port scope.
const (
	kindWeb uint8 = 1 << iota
	kindMail
	kindDNS
)

const (
	maxFPPages = 4
	diverse    = 255
	pageTopN   = 8
	maxKeyLen  = 512
)

type noX struct{}

func (noX) sources() int { return 1 }

// ipX is what an address keeps beyond counts: its AS and its behaviour
// fingerprint (user agent and the small set of pages it requests).
//
// The fields every event reads come first: they share a cache line with
// the entry's ring (see entry). The rest is read by events of addresses
// still fingerprinted, by a live analyzer, or rarely.
type ipX struct {
	asn   uint32
	last  uint32 // hash of the page of the previous request
	np    uint8
	kinds uint8
	// member: the address is in its cluster's members list, which leave
	// then searches (most addresses are not: the list is bounded).
	member bool
	ua     uint32
	pages  [maxFPPages]uint32
	cl     *cluster
	// Indexes (plus one) of the address's prefix and AS entries, checked
	// against the key before use: saves three map lookups per event.
	pfx [2]int32
	as  int32
	// asked is the resolver's epoch when it last had no AS for the address
	// (0: not asked, or a resolver without epochs): it is not asked again
	// until the epoch changes.
	asked uint32
	// fpEv counts the address's requests since its page set last grew:
	// its share of its cluster's events, taken back when it leaves (and
	// summed into the clusters a lazy shard groups when read).
	fpEv uint32
	// Pads an address's entry to three whole cache lines (entries are
	// allocated 1024 at a time, so the first starts a line): an event then
	// reads exactly two of them.
	_ [4]byte
}

func (ipX) sources() int { return 1 }

type grpX struct{ d *distinct }

func (x grpX) sources() int { return x.d.count() }

func (x *grpX) add(h uint64) {
	if x.d == nil {
		x.d = &distinct{}
	}
	x.d.add(h)
}

// pfxX and asX count their distinct sources exactly: an address is a new
// source of its prefix and AS when it first enters the address table.
type pfxX struct {
	n   int32
	asn uint32
}

func (x pfxX) sources() int { return int(x.n) }

type asX struct{ n int32 }

func (x asX) sources() int { return int(x.n) }

// pageX keeps its distinct sources inline rather than behind a pointer as
// other groups do: most requests add to them, and a pointer costs a cache miss.
type pageX struct {
	d    distinct
	vlen uint16 // length of the host prefix and virtual host: the path follows
	hlen uint8  // length of the "host " prefix (Config.SplitByHost)
	top  *pageTop
}

// ipCount is one entry of a page's small top-addresses list.
type ipCount struct {
	ip  netip.Addr
	n   int64
	asn uint32
}

// pageTop is a page's small top-addresses list, kept as parallel arrays:
// looking an address up reads the cache line of hashes and the one of
// counts, not eight 40-byte entries.
type pageTop struct {
	h   [pageTopN]uint64 // addrHash of each address
	n   [pageTopN]int64  // 0: a free slot (slots fill in order)
	ip  [pageTopN]netip.Addr
	asn [pageTopN]uint32
}

// list returns the entries, the free ones with an invalid address.
func (t *pageTop) list() [pageTopN]ipCount {
	var out [pageTopN]ipCount
	for i := range out {
		if t.n[i] != 0 {
			out[i] = ipCount{t.ip[i], t.n[i], t.asn[i]}
		}
	}
	return out
}

func (x pageX) sources() int { return x.d.count() }

// addTop counts a request of ip (whose addrHash is h) among the page's top
// addresses: each kept request stands for four (see addHTTP).
func (x *pageX) addTop(ip netip.Addr, h uint64, asn uint32) {
	t := x.top
	if t == nil {
		// The first access to a new list is this write (see prefault).
		x.top = &pageTop{h: [pageTopN]uint64{h}, n: [pageTopN]int64{4}, ip: [pageTopN]netip.Addr{ip}, asn: [pageTopN]uint32{asn}}
		return
	}
	m := 0
	for i := range t.h {
		if t.n[i] == 0 {
			t.h[i], t.n[i], t.ip[i], t.asn[i] = h, 4, ip, asn
			return
		}
		if t.h[i] == h && t.ip[i] == ip {
			t.n[i] += 4
			if asn != 0 {
				t.asn[i] = asn
			}
			return
		}
		if t.n[i] < t.n[m] {
			m = i
		}
	}
	t.h[m], t.ip[m], t.n[m], t.asn[m] = h, ip, t.n[m]+4, asn
}

// series is one whole-traffic counter.
type series struct {
	r           ring
	t           trendRing
	total       int64
	bytes       int64
	first, last int64
}

func (s *series) add(c *clock, ns int64, fe, ce int32, bytes int64) {
	s.r.add(c, fe, ce, 1)
	s.t.add(fe, 1)
	s.total++
	s.bytes += bytes
	if s.first == 0 || ns < s.first {
		s.first = ns
	}
	if ns > s.last {
		s.last = ns
	}
}

// cluster is one behaviour cluster inside a shard. Every new address
// passes through a few of them, so they are recycled rather than
// allocated: nothing outside the shard's lock keeps a pointer into one.
type cluster struct {
	fp uint64
	// members is a bounded list of the cluster's addresses: the block
	// targets of a botnet too wide and too slow per bot for any one
	// address to rank among the top.
	members []netip.Addr
	ua      string
	pages   []string // backed by pageArr
	pageArr [maxFPPages]string
	size    int   // present members
	events  int64 // the present members' requests since they joined
	last    int64
	// The present members' ASes: the first inline, more in ases.
	as1  uint32
	n1   int
	ases map[uint32]int
}

// addAS counts a member of AS asn, up to maxClusterASes distinct ASes.
func (cl *cluster) addAS(asn uint32) {
	switch {
	case cl.n1 == 0 || cl.as1 == asn:
		cl.as1 = asn
		cl.n1++
	case cl.ases != nil && (cl.ases[asn] > 0 || len(cl.ases)+1 < maxClusterASes):
		cl.ases[asn]++
	case cl.ases == nil:
		cl.ases = map[uint32]int{asn: 1}
	}
}

// removeAS uncounts a member of AS asn that addAS counted.
func (cl *cluster) removeAS(asn uint32) {
	switch {
	case cl.n1 > 0 && cl.as1 == asn:
		cl.n1--
	case cl.ases[asn] > 1:
		cl.ases[asn]--
	case cl.ases[asn] == 1:
		delete(cl.ases, asn)
	}
}

// view copies cl (fingerprint fp) for a snapshot: clusters are recycled,
// so everything is copied, pages too.
func (cl *cluster) view(fp uint64) clusterView {
	return clusterView{fp: fp, members: slices.Clone(cl.members), ua: cl.ua, pages: slices.Clone(cl.pages),
		size: cl.size, events: cl.events, last: cl.last, ases: cl.asCounts()}
}

// asCounts returns the members' ASes as a new map.
func (cl *cluster) asCounts() map[uint32]int {
	m := make(map[uint32]int, len(cl.ases)+1)
	if cl.n1 > 0 {
		m[cl.as1] = cl.n1
	}
	for k, n := range cl.ases {
		m[k] += n
	}
	return m
}

const (
	maxClusters       = 1 << 12
	maxClusterASes    = 32
	maxClusterUALen   = 256
	maxClusterMembers = 128
)

// shard is one slice of the state: the addresses whose /24 (or /48) hash
// to it, their prefixes, and their share of every other grouping. Shards
// are merged in a snapshot; because an address lives in one shard only,
// distinct-source counts add up exactly.
type shard struct {
	mu sync.Mutex

	ips      *table[netip.Addr, ipX]
	pfx      *table[netip.Prefix, pfxX]
	ases     *table[uint32, asX]
	pages    *table[string, pageX]
	codes    *table[int, grpX]
	mailAct  *table[string, grpX]
	mailCli  *table[netip.Addr, noX]
	mailFrom *table[string, grpX]
	dnsName  *table[string, grpX]
	dnsType  *table[string, grpX]
	dnsCli   *table[netip.Addr, noX]
	sig      [nSig]*table[netip.Addr, noX]
	ser      [nSeries]series
	clusters *clusterSet
	freeCl   []*cluster
	uas      map[uint32]string // user agents of clusters, by hash
	clk      *clock
	// lazy: prefixes and ASes are not counted per event but summed from
	// the addresses when read, and an address's AS is asked for when it
	// first appears and once more when read, not again and again while it
	// is counted. A report (cumulative counts) does so until the address
	// table first evicts: then the prefixes and ASes are built from the
	// addresses and counted per event from there on, so they stay exact.
	lazy bool
	// epoch is the resolver's epoch (see ASEpocher) when the share being
	// counted was taken up, as resolverEpoch gives it.
	epoch    uint32
	ampTypes []string
	codeIdx  [1000]int32 // index+1 of each status code's entry
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newShard(cfg *Config, nShards int, clk *clock, seed maphash.Seed) *shard {
	top := cfg.Top
	per := func(n int) int { return max(n/nShards, 64) }
	cum := cfg.Cumulative
	smp := cfg.Samples
	s := &shard{
		ips:  newTable[netip.Addr, ipX](per(cfg.MaxSources), 2*top, smp, cum, nil).hashed(addrHash, 1024),
		pfx:  newTable[netip.Prefix, pfxX](per(cfg.MaxSources/2), 2*top, 0, cum, nil),
		ases: newTable[uint32, asX](per(cfg.MaxGroups), 2*top, 0, cum, nil),
		pages: newTable[string, pageX](per(cfg.MaxGroups), 2*top, 0, cum, cloneString).
			hashed(func(k string) uint64 { return maphash.String(seed, k) }, 256),
		codes:    newTable[int, grpX](1024, 256, 0, cum, nil),
		mailAct:  newTable[string, grpX](1024, 256, 0, cum, cloneString),
		mailCli:  newTable[netip.Addr, noX](per(cfg.MaxGroups), 2*top, 0, cum, nil),
		mailFrom: newTable[string, grpX](per(cfg.MaxGroups), 2*top, 0, cum, cloneString),
		dnsName:  newTable[string, grpX](per(cfg.MaxGroups), 2*top, 0, cum, cloneString),
		dnsType:  newTable[string, grpX](1024, 256, 0, cum, cloneString),
		dnsCli:   newTable[netip.Addr, noX](per(cfg.MaxGroups), 2*top, 0, cum, nil),
		clusters: newClusterSet(),
		uas:      make(map[uint32]string),
		clk:      clk,
		lazy:     cum,
	}
	for i := range s.sig {
		s.sig[i] = newTable[netip.Addr, noX](per(cfg.MaxGroups), 2*top, smp, cum, nil)
	}
	s.ips.evict = s.evictIP
	s.pages.evict = s.evictPage
	s.ampTypes = cfg.Detect.DNSAmplification.QTypes
	return s
}

// webPaths tells login and probe requests by their paths.
type webPaths struct {
	login []string
	probe []string
	head  [1 << 16 / 64]uint64 // bit set: the two bytes after '/' of every probe path, lower case
}

func newWebPaths(cfg *Config) *webPaths {
	w := &webPaths{login: cfg.Detect.HTTPBruteforce.LoginPaths, probe: cfg.Detect.Scanner.ProbePaths}
	for _, p := range w.probe {
		if len(p) < 3 { // too short to prefilter: check every path
			for i := range w.head {
				w.head[i] = ^uint64(0)
			}
			break
		}
		h := uint16(lower(p[1]))<<8 | uint16(lower(p[2]))
		w.head[h/64] |= 1 << (h % 64)
	}
	return w
}

// evictIP takes an address that is being replaced out of its cluster.
func (s *shard) evictIP(e *entry[netip.Addr, ipX]) {
	if s.lazy {
		s.buildLazy()
	}
	s.leave(e.key, &e.x)
}

// evictPage ends lazy before a page is replaced: the clusters grouped from
// fingerprints find their pages' keys in the page table (pageKeys).
func (s *shard) evictPage(*entry[string, pageX]) {
	if s.lazy {
		s.buildLazy()
	}
}

// buildLazy counts every address into its prefixes and AS and makes the
// clusters of their fingerprints, ending lazy.
func (s *shard) buildLazy() {
	s.lazy = false
	defer s.buildClusters()
	for i := int32(0); i < s.ips.n; i++ {
		ipe := s.ips.at(i)
		j, e := s.ases.get(ipe.x.asn, 0)
		ipe.x.as = j + 1
		e.x.n++
		s.ases.absorb(s.clk, j, e, &ipe.r, ipe.total, ipe.bytes, ipe.first, ipe.last)
		p1, p2 := Prefixes(ipe.key)
		for k, pf := range [2]netip.Prefix{p1, p2} {
			if !pf.IsValid() {
				continue
			}
			j, e := s.pfx.get(pf, 0)
			ipe.x.pfx[k] = j + 1
			if ipe.x.asn != 0 {
				e.x.asn = ipe.x.asn
			}
			e.x.n++
			s.pfx.absorb(s.clk, j, e, &ipe.r, ipe.total, ipe.bytes, ipe.first, ipe.last)
		}
	}
}

// pre is what AddEvents works out for an event before taking a lock.
type pre struct {
	ns      int64
	fe, ce  int32
	src     netip.Addr
	srcH    uint64
	ks, ke  int32  // the event's main string key in the scratch buffer
	vlen    int32  // host prefix and vhost length of a page key
	hlen    int32  // host prefix length of any key
	pageH64 uint64 // maphash of the page key
	page    bool   // the event has a page key
	// ipi and pgi are where prefind found the address and the page in
	// the shard's tables (-1: not found), checked against the key before use.
	ipi, pgi int32
	pageH    uint32
	skip     bool
	outside  bool
	// login and probe: an HTTP request from outside is for a login or a
	// probe path. Told while AddEvents reads the event, when its bytes are
	// in cache, not when a shard counts it.
	login, probe bool
	ob           netip.Addr // the client whose mail this remote delivery is
	obN          uint32     // outbound deliveries to credit ob with
}

// str returns the key bytes as a string without copying; tables copy a
// key only when they insert it.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (s *shard) add(a *Analyzer, ev *logs.Event, p *pre, buf []byte) {
	c := a.clk
	ns, fe, ce := p.ns, p.fe, p.ce
	var bytes int64
	switch ev.Kind {
	case logs.KindHTTP:
		bytes = ev.HTTP.Bytes
	case logs.KindMail:
		bytes = ev.Mail.Size
	}

	var asn uint32
	var ipe *entry[netip.Addr, ipX]
	if p.src.IsValid() {
		ipi := p.ipi
		if ipe = s.ips.hint(ipi, p.src); ipe == nil {
			ipi, ipe = s.ips.getH(p.src, p.srcH, ce)
		}
		fresh := ipe.total == 0
		// An address's AS is asked for when it first appears; unless
		// prefixes and ASes are summed lazily, again (while unknown) as its
		// count passes powers of two and every 1024 events.
		if fresh || !s.lazy && (ipe.total&(ipe.total-1) == 0 || ipe.total&1023 == 0) && ipe.x.unasked(s.epoch) {
			if r := a.resolver(); r != nil {
				if n := askAS(r, ipe, s.epoch); n != 0 {
					if ipe.total > 0 {
						s.moveAS(c, ipe, n, ce)
						// (A new address is in no cluster: its cluster is
						// not read, which costs a cache line.)
						if cl := ipe.x.cl; cl != nil {
							cl.removeAS(ipe.x.asn)
							cl.addAS(n)
						}
					}
					ipe.x.asn = n
				}
			}
		}
		switch ev.Kind {
		case logs.KindHTTP:
			ipe.x.kinds |= kindWeb
		case logs.KindMail:
			ipe.x.kinds |= kindMail
		case logs.KindDNS:
			ipe.x.kinds |= kindDNS
		}
		s.ips.count(c, ipi, ipe, ns, fe, ce, 1, bytes, ev.Line)
		asn = ipe.x.asn
		if !s.lazy {
			s.addGroups(c, ipe, fresh, p, bytes)
		}
	}

	switch ev.Kind {
	case logs.KindHTTP:
		s.addHTTP(a, ev, p, buf, ipe, asn)
	case logs.KindMail:
		s.addMail(a, ev, p, buf)
	case logs.KindDNS:
		s.addDNS(a, ev, p, buf)
	}
}

// askAS asks r for an address's AS. When r has none it returns 0 and
// records the epoch, so that the address is not asked for again until the
// epoch moves (see ipX.unasked).
func askAS(r ASResolver, e *entry[netip.Addr, ipX], epoch uint32) uint32 {
	if n, _, _, ok := r.ASOf(e.key); ok && n != 0 {
		return n
	}
	e.x.asked = epoch
	return 0
}

// unasked reports whether the address's AS is unknown and was not asked
// for in vain at epoch. (A new address is asked for without this check:
// its cache line holding asked is not read yet.)
func (x *ipX) unasked(epoch uint32) bool {
	return x.asn == 0 && (epoch == 0 || x.asked != epoch)
}

// resolverEpoch returns the resolver's epoch plus one (never 0), or 0
// for a resolver without epochs.
func resolverEpoch(r ASResolver) uint32 {
	ep, ok := r.(ASEpocher)
	if !ok {
		return 0
	}
	if e := uint32(ep.ASEpoch()) + 1; e != 0 {
		return e
	}
	return 1
}

// addGroups counts an event of an address in its prefixes and AS.
func (s *shard) addGroups(c *clock, ipe *entry[netip.Addr, ipX], fresh bool, p *pre, bytes int64) {
	ns, fe, ce := p.ns, p.fe, p.ce
	asn := ipe.x.asn
	p1, p2 := Prefixes(p.src)
	for k, pf := range [2]netip.Prefix{p1, p2} {
		if !pf.IsValid() {
			continue
		}
		i := ipe.x.pfx[k] - 1
		e := s.pfx.hint(i, pf)
		if e == nil {
			i, e = s.pfx.get(pf, ce)
			ipe.x.pfx[k] = i + 1
		}
		if asn != 0 {
			e.x.asn = asn
		}
		if fresh {
			e.x.n++
		}
		s.pfx.count(c, i, e, ns, fe, ce, 1, bytes, "")
	}
	i := ipe.x.as - 1
	e := s.ases.hint(i, asn)
	if e == nil {
		i, e = s.ases.get(asn, ce)
		ipe.x.as = i + 1
	}
	if fresh {
		e.x.n++
	}
	s.ases.count(c, i, e, ns, fe, ce, 1, bytes, "")
}

// count counts the events of batch listed in order, this shard's share;
// the caller holds s.mu.
func (s *shard) count(a *Analyzer, batch []logs.Event, pres []pre, buf []byte, order []int32) {
	// Read before counting: an epoch that moves meanwhile only makes the
	// addresses asked for now be asked again.
	if r := a.resolver(); r != nil {
		s.epoch = resolverEpoch(r)
	}
	s.prefind(pres, order, buf)
	for _, i := range order {
		s.add(a, &batch[i], &pres[i], buf)
	}
}

// prefind looks up the addresses and pages of the events in order, which
// are this shard's, before any is counted. The lookups do not depend on one
// another, so the processor overlaps their cache misses instead of waiting
// for each in turn as counting event by event would; counting then finds
// the entries in cache.
func (s *shard) prefind(pres []pre, order []int32, buf []byte) {
	for _, i := range order {
		p := &pres[i]
		p.ipi, p.pgi = -1, -1
		if p.src.IsValid() {
			p.ipi = s.ips.find(p.src, p.srcH)
		}
		if p.page {
			p.pgi = s.pages.find(str(buf[p.ks:p.ke]), p.pageH64)
		}
	}
}

func (s *shard) signal(a *Analyzer, k, ser int, ev *logs.Event, p *pre) {
	c := a.clk
	s.ser[ser].add(c, p.ns, p.fe, p.ce, 0)
	if !p.src.IsValid() {
		return
	}
	t := s.sig[k]
	i, e := t.get(p.src, p.ce)
	t.count(c, i, e, p.ns, p.fe, p.ce, 1, 0, ev.Line)
}

func (s *shard) addHTTP(a *Analyzer, ev *logs.Event, p *pre, buf []byte, ipe *entry[netip.Addr, ipX], asn uint32) {
	c := a.clk
	h := &ev.HTTP
	ns, fe, ce := p.ns, p.fe, p.ce
	s.ser[serHTTP].add(c, ns, fe, ce, h.Bytes)
	access := h.Action == ""
	if access {
		key := str(buf[p.ks:p.ke])
		i := p.pgi
		e := s.pages.hint(i, key)
		if e == nil {
			i, e = s.pages.getH(key, p.pageH64, ce)
		}
		if e.total == 0 {
			e.x.vlen = uint16(min(p.vlen, 1<<16-1))
			e.x.hlen = uint8(min(p.hlen, 255))
		}
		if p.src.IsValid() {
			// An address whose few pages already include this one, or
			// whose previous request was for it, was counted as a source of
			// it before.
			if ipe == nil || (ipe.x.last != p.pageH && (ipe.x.np == diverse || !slices.Contains(ipe.x.pages[:ipe.x.np], p.pageH))) {
				e.x.d.add(p.srcH)
			}
			if ipe != nil {
				ipe.x.last = p.pageH
			}
			// The page's top addresses are kept from every fourth request:
			// enough to name the heavy hitters, at a quarter of the cost.
			if e.total&3 == 0 {
				e.x.addTop(p.src, p.srcH, asn)
			}
		}
		s.pages.count(c, i, e, ns, fe, ce, 1, h.Bytes, "")
		// Status codes count events and bytes only: distinct sources per
		// status would cost more than they tell. Classes are summed from
		// the codes when read (classRows).
		if h.Status >= 0 && h.Status < len(s.codeIdx) {
			j := s.codeIdx[h.Status] - 1
			ec := s.codes.hint(j, h.Status)
			if ec == nil {
				j, ec = s.codes.get(h.Status, ce)
				s.codeIdx[h.Status] = j + 1
			}
			s.codes.count(c, j, ec, ns, fe, ce, 1, h.Bytes, "")
		}
		if ipe != nil && (!s.lazy || !s.fingerprintStep(&ipe.x, p.pageH, a.seed, h.UA)) {
			s.clusterStep(p.src, &ipe.x, p.pageH, a.seed, e.key, h.UA, ns, asn)
		}
	}
	if p.outside || !p.src.IsValid() {
		// Login guessing: auth failures from the error log, and POSTs to
		// (or 401/403 answers from) login pages. A 401 elsewhere is as
		// often an expired API token as an attack, so it is not counted.
		if p.login {
			s.signal(a, sigLogin, serLogin, ev, p)
		}
		if p.probe {
			s.signal(a, sigProbe, serProbe, ev, p)
		}
		if h.Status == 404 || h.Action == logs.WebNotFound {
			s.signal(a, sigNotFound, serNotFound, ev, p)
		}
	}
}

// isLogin reports whether a request for path asks for a login page.
func (w *webPaths) isLogin(path string) bool {
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	for _, l := range w.login {
		if hasSuffixFold(path, l) {
			return true
		}
	}
	return false
}

// isProbe reports whether a request for path probes for a known weakness.
func (w *webPaths) isProbe(path string) bool {
	if len(path) < 3 {
		return false
	}
	if h := uint16(lower(path[1]))<<8 | uint16(lower(path[2])); w.head[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	for _, l := range w.probe {
		if hasPrefixFold(path, l) {
			return true
		}
	}
	return false
}

func (s *shard) addMail(a *Analyzer, ev *logs.Event, p *pre, buf []byte) {
	c := a.clk
	m := &ev.Mail
	ns, fe, ce := p.ns, p.fe, p.ce
	s.ser[serMail].add(c, ns, fe, ce, m.Size)
	i, e := s.mailAct.get(str(buf[p.ks:p.ke]), ce)
	if p.src.IsValid() {
		e.x.add(p.srcH)
	}
	s.mailAct.count(c, i, e, ns, fe, ce, 1, m.Size, "")
	if p.src.IsValid() {
		i, e := s.mailCli.get(p.src, ce)
		s.mailCli.count(c, i, e, ns, fe, ce, 1, m.Size, "")
	}
	if m.From != "" {
		from := m.From
		if len(from) > maxKeyLen {
			from = from[:maxKeyLen]
		}
		i, e := s.mailFrom.get(from, ce)
		if p.src.IsValid() {
			e.x.add(p.srcH)
		}
		s.mailFrom.count(c, i, e, ns, fe, ce, 1, m.Size, "")
	}
	switch {
	case m.Action == logs.ActAuthFail:
		s.signal(a, sigAuth, serAuth, ev, p)
	case m.Action == logs.ActReject && m.Reason == "relay_denied":
		s.signal(a, sigRelay, serRelay, ev, p)
	case m.Action == logs.ActSent && m.Outbound:
		s.ser[serOutbound].add(c, ns, fe, ce, m.Size)
	}
	if p.obN > 0 {
		t := s.sig[sigOutbound]
		i, e := t.get(p.ob, ce)
		t.count(c, i, e, ns, fe, ce, p.obN, 0, ev.Line)
	}
	if m.Action == logs.ActBackscatter ||
		(p.src.IsValid() && p.outside && nullSender(m.From) && (m.Action == logs.ActReject || m.Action == logs.ActQueued)) {
		s.signal(a, sigBackscatter, serBackscatter, ev, p)
	}
}

func (s *shard) addDNS(a *Analyzer, ev *logs.Event, p *pre, buf []byte) {
	c := a.clk
	d := &ev.DNS
	ns, fe, ce := p.ns, p.fe, p.ce
	s.ser[serDNS].add(c, ns, fe, ce, 0)
	if p.ke > p.ks {
		i, e := s.dnsName.get(str(buf[p.ks:p.ke]), ce)
		if p.src.IsValid() {
			e.x.add(p.srcH)
		}
		s.dnsName.count(c, i, e, ns, fe, ce, 1, 0, "")
	}
	if d.QType != "" {
		qt := d.QType
		if len(qt) > 16 {
			qt = qt[:16]
		}
		i, e := s.dnsType.get(qt, ce)
		if p.src.IsValid() {
			e.x.add(p.srcH)
		}
		s.dnsType.count(c, i, e, ns, fe, ce, 1, 0, "")
	}
	if p.src.IsValid() {
		i, e := s.dnsCli.get(p.src, ce)
		s.dnsCli.count(c, i, e, ns, fe, ce, 1, 0, "")
	}
	if d.Denied && p.outside {
		s.signal(a, sigDNSDenied, serDNSDenied, ev, p)
	}
	if p.outside && slices.ContainsFunc(s.ampTypes, func(t string) bool { return strings.EqualFold(t, d.QType) }) {
		s.signal(a, sigDNSAmp, serDNSAmp, ev, p)
	}
}

// clusterStep updates an address's behaviour fingerprint with one request
// and moves it between clusters when its page set grows.
func (s *shard) clusterStep(ip netip.Addr, x *ipX, pageH uint32, seed maphash.Seed, page, ua string, ns int64, asn uint32) {
	if x.np == diverse {
		return
	}
	uaH := uint32(maphash.String(seed, ua)) // hashed only for the addresses still fingerprinted
	if x.np == 0 {
		x.ua = uaH
	} else if x.ua != uaH {
		s.leave(ip, x)
		x.np = diverse
		return
	}
	for j := uint8(0); j < x.np; j++ {
		if x.pages[j] == pageH {
			x.fpEv++
			if cl := x.cl; cl != nil {
				cl.events++
				cl.last = max(cl.last, ns)
			}
			return
		}
	}
	if int(x.np) == maxFPPages {
		s.leave(ip, x)
		x.np = diverse
		return
	}
	old := x.cl
	s.leave(ip, x)
	x.pages[x.np] = pageH
	x.np++
	x.fpEv = 1
	fp := fingerprint(x)
	cl, _ := s.clusters.get(fp)
	if cl == nil {
		// No room; or the address was left out of the clusters before
		// (no room then), so its earlier pages cannot be named.
		if s.clusters.n >= maxClusters || old == nil && x.np > 1 {
			return
		}
		// The old cluster's pages are read only now, before newCluster
		// may recycle it (leave only queued it for that).
		var oldPages [maxFPPages]string
		var nOld int
		if old != nil {
			nOld = copy(oldPages[:], old.pages)
		}
		cl = s.newCluster()
		cl.fp = fp
		cl.ua = s.internUA(ua, x.ua)
		n := copy(cl.pageArr[:], oldPages[:nOld])
		cl.pageArr[n] = page
		cl.pages = cl.pageArr[:n+1]
		slices.Sort(cl.pages)
		s.clusters.put(fp, cl)
	}
	cl.size++
	cl.events++
	cl.last = max(cl.last, ns)
	cl.addAS(asn)
	// Members are listed for clusters that look like repeat visitors, not
	// for the one-visit clusters every new address passes through.
	if len(cl.members) < maxClusterMembers && (len(cl.pages) >= 2 || cl.events >= 2*int64(cl.size)) {
		cl.members = append(cl.members, ip)
		x.member = true
	}
	x.cl = cl
}

// fingerprintStep is clusterStep for a lazy shard: it only updates the
// address's fingerprint (user agent and page set) and counts its requests
// since the set last grew. Clusters are then grouped from the fingerprints
// when read (lazyClusters), or made once, when the shard stops being lazy
// (buildClusters). Moving every new address through a few clusters as it
// goes cost the 1 M-line report benchmark ~5 % of its CPU time. It reports
// false, having ended lazy, when the user agent cannot be remembered: the
// caller then takes the step with clusterStep.
func (s *shard) fingerprintStep(x *ipX, pageH uint32, seed maphash.Seed, ua string) bool {
	if x.np == diverse {
		return true
	}
	uaH := uint32(maphash.String(seed, ua))
	if x.np == 0 {
		// The user agent is kept now: a cluster made from fingerprints
		// later has nothing else to name it by.
		if _, ok := s.uas[uaH]; !ok {
			if len(s.uas) >= maxUAs {
				s.buildLazy()
				return false
			}
			s.uas[uaH] = strings.Clone(ua[:min(len(ua), maxClusterUALen)])
		}
		x.ua = uaH
	} else if x.ua != uaH {
		x.np = diverse
		return true
	}
	for j := uint8(0); j < x.np; j++ {
		if x.pages[j] == pageH {
			x.fpEv++
			return true
		}
	}
	if int(x.np) == maxFPPages {
		x.np = diverse
		return true
	}
	x.pages[x.np] = pageH
	x.np++
	x.fpEv = 1
	return true
}

// leave takes an address out of its cluster.
func (s *shard) leave(ip netip.Addr, x *ipX) {
	cl := x.cl
	if cl == nil {
		return
	}
	if x.member {
		x.member = false
		if i := slices.Index(cl.members, ip); i >= 0 {
			cl.members[i] = cl.members[len(cl.members)-1]
			cl.members = cl.members[:len(cl.members)-1]
		}
	}
	// A cluster counts its present members only: their events since they
	// joined (as lazyClusters sums them), and their ASes.
	cl.size--
	cl.events -= int64(x.fpEv)
	cl.removeAS(x.asn)
	if cl.size <= 0 {
		s.clusters.del(cl.fp)
		if len(s.freeCl) < maxFreeClusters {
			s.freeCl = append(s.freeCl, cl)
		}
	}
	x.cl = nil
}

const maxFreeClusters = 256

// clusterSet indexes a shard's clusters by fingerprint, in a fixed table
// of twice maxClusters slots. Clusters come and go all the time (every new
// address of a live shard passes through a few), which costs a Go map more.
type clusterSet = fpTable[*cluster]

const clusterSlots = 2 * maxClusters

func newClusterSet() *clusterSet { return newFPTable[*cluster](clusterSlots) }

// newCluster returns an empty cluster, recycled when one is free.
func (s *shard) newCluster() *cluster {
	n := len(s.freeCl)
	if n == 0 {
		return &cluster{}
	}
	cl := s.freeCl[n-1]
	s.freeCl = s.freeCl[:n-1]
	m := cl.members[:0]
	clear(cl.ases)
	as := cl.ases
	*cl = cluster{members: m, ases: as}
	return cl
}

// internUA returns a shard-owned copy of a cluster's user agent, shared by
// the clusters with the same one.
func (s *shard) internUA(ua string, h uint32) string {
	if len(ua) > maxClusterUALen {
		ua = ua[:maxClusterUALen]
	}
	if u, ok := s.uas[h]; ok && u == ua {
		return u
	}
	u := strings.Clone(ua)
	if len(s.uas) < maxUAs {
		s.uas[h] = u
	}
	return u
}

const maxUAs = 4096

// fingerprint hashes a user agent and an unordered page set.
func fingerprint(x *ipX) uint64 {
	var p [maxFPPages]uint32
	copy(p[:], x.pages[:x.np])
	ps := p[:x.np]
	for i := 1; i < len(ps); i++ { // insertion sort: at most four
		for j := i; j > 0 && ps[j] < ps[j-1]; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	h := mix64(uint64(x.ua) | uint64(x.np)<<32)
	for _, v := range ps {
		h = mix64(h ^ uint64(v))
	}
	if h == 0 {
		h = 1
	}
	return h
}

// moveAS moves an address's counts from "AS unknown" to its AS once known.
func (s *shard) moveAS(c *clock, ipe *entry[netip.Addr, ipX], asn uint32, ce int32) {
	if i := s.ases.lookup(0); i >= 0 {
		from := s.ases.at(i)
		from.r.merge(c, &ipe.r, -1)
		from.total = max(from.total-ipe.total, 0)
		from.bytes = max(from.bytes-ipe.bytes, 0)
		from.x.n = max(from.x.n-1, 0)
	}
	_, to := s.ases.get(asn, ce)
	to.r.merge(c, &ipe.r, +1)
	to.total += ipe.total
	to.bytes += ipe.bytes
	to.x.n++
	if to.first == 0 || ipe.first < to.first {
		to.first = ipe.first
	}
	to.last = max(to.last, ipe.last)
}
