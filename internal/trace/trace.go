// Package trace finds out who is behind an address: origin AS, announced
// prefix, country and registry (Team Cymru's DNS interface or offline
// RouteViews, iptoasn and MaxMind tables), the PTR name and whether it
// resolves back, and the network's abuse contacts (Abusix, optionally
// RDAP). Lookups are asynchronous, rate-limited, coalesced per prefix and
// cached in memory and on disk, so callers never wait on the network. It
// also writes the abuse report sent to those networks.
package trace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/time/rate"
)

// Config says how a Tracer looks things up. The zero value works: system
// resolvers, default cache directory, no offline table, no RDAP.
type Config struct {
	// Resolvers are HOST:PORT of the recursive resolvers to ask, in order;
	// empty means the system's (ResolvConf).
	Resolvers []string
	// Offline forbids every network query: answers come only from the
	// offline tables and the cache.
	Offline bool
	// ASNDB are offline table files (pfx2as, iptoasn, mmdb) to load with
	// Open or Tracer.LoadTables.
	ASNDB []string
	// RDAP enables the RDAP abuse-entity fallback when Abusix has nothing.
	RDAP bool
	// RDAPBase is the RDAP service queried as RDAPBase+"/ip/"+address.
	RDAPBase string
	// CacheDir holds the on-disk cache; "" means DefaultCacheDir().
	CacheDir string
	// NoDiskCache keeps the cache in memory only.
	NoDiskCache bool
	// ResolvConf is read when Resolvers is empty; "" means /etc/resolv.conf.
	ResolvConf string
	// Workers is the size of the lookup pool (default 8).
	Workers int
	// QueueSize bounds queued requests (default 4096); Request drops
	// beyond it rather than block.
	QueueSize int
	// QueriesPerSecond and Burst limit each resolver (default 20 and 10).
	QueriesPerSecond float64
	Burst            int
	// Timeout bounds one DNS query or RDAP request (default 2s).
	Timeout time.Duration
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.QueriesPerSecond <= 0 {
		c.QueriesPerSecond = 20
	}
	if c.Burst <= 0 {
		c.Burst = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.ResolvConf == "" {
		c.ResolvConf = "/etc/resolv.conf"
	}
	if c.RDAPBase == "" {
		c.RDAPBase = "https://rdap.org"
	}
	if c.CacheDir == "" {
		c.CacheDir = DefaultCacheDir()
	}
}

// Info is everything known about one address. Zero values mean unknown;
// MarshalJSON writes them as null.
type Info struct {
	IP        netip.Addr
	ASN       uint32   // origin AS reported, 0 when unknown or unrouted
	ASNs      []uint32 // every origin AS of a multi-origin prefix
	ASName    string
	Prefix    netip.Prefix // announced prefix, invalid when unknown
	Country   string
	Registry  string
	Allocated string
	// Unrouted is set when a source said the address is not announced.
	Unrouted bool
	// ASSource names where the AS came from: "dns", "cache" or a table file.
	ASSource string
	PTR      string // sanitized, without the trailing dot
	// PTRChecked is set when forward confirmation finished (a PTR and its
	// A/AAAA were both answered); PTRConfirmed is its outcome.
	PTRChecked   bool
	PTRConfirmed bool
	// Abuse is nil when unknown, empty when the lookup found no contact.
	Abuse []string
}

// Result is one finished Request.
type Result struct {
	IP   netip.Addr
	Info Info
	Err  error // what could not be found out (Info holds the rest)
}

type job struct {
	ip   netip.Addr
	full bool // AS, PTR and abuse; otherwise the AS only
}

// Tracer runs lookups. Its methods are safe for concurrent use.
type Tracer struct {
	cfg     Config
	res     *resolver
	tables  atomic.Pointer[Tables]
	cache   *cache
	fl      flight
	httpc   *http.Client
	rdapLim *rate.Limiter

	queue   chan job
	results chan Result
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	pmu       sync.Mutex
	pending   map[netip.Addr]bool // queued, value: full
	attempted map[netip.Addr]time.Time

	// started anchors ASEpoch's clock; crowded is set when schedule left
	// an address out because the queue was full.
	started time.Time
	crowded atomic.Bool

	cacheErr  error
	closeOnce sync.Once
}

// New starts a Tracer: its worker pool and, unless disabled, the disk
// cache. It never blocks on the network. Offline tables are loaded by
// Open or LoadTables.
func New(cfg Config) *Tracer {
	cfg.defaults()
	servers := cfg.Resolvers
	if len(servers) == 0 && !cfg.Offline {
		servers = systemResolvers(cfg.ResolvConf)
	}
	t := &Tracer{
		cfg:       cfg,
		res:       newResolver(servers, cfg.QueriesPerSecond, cfg.Burst, cfg.Timeout),
		cache:     newCache(),
		httpc:     &http.Client{Timeout: cfg.Timeout * 2},
		rdapLim:   rate.NewLimiter(1, 2),
		queue:     make(chan job, cfg.QueueSize),
		results:   make(chan Result, 256),
		pending:   map[netip.Addr]bool{},
		attempted: map[netip.Addr]time.Time{},
		started:   time.Now(),
	}
	if !cfg.NoDiskCache && cfg.CacheDir != "" {
		t.cacheErr = t.cache.load(cfg.CacheDir)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	for range cfg.Workers {
		t.wg.Add(1)
		go t.worker()
	}
	if !cfg.NoDiskCache && cfg.CacheDir != "" {
		t.wg.Add(1)
		go t.saver()
	}
	return t
}

// cacheSaveInterval spaces disk-cache writes in a long-running console, so
// a crash loses little and the disk is not written on every answer.
const cacheSaveInterval = 5 * time.Minute

func (t *Tracer) saver() {
	defer t.wg.Done()
	tick := time.NewTicker(cacheSaveInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
			_ = t.SaveCache() // retried at the next tick and at Close
		}
	}
}

// Open is New followed by LoadTables(cfg.ASNDB...): the CLI's way in, as
// a bad table should stop it before any output.
func Open(cfg Config) (*Tracer, error) {
	t := New(cfg)
	if err := t.LoadTables(cfg.ASNDB...); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// CacheError reports a problem reading the disk cache (it was ignored).
func (t *Tracer) CacheError() error { return t.cacheErr }

// LoadTables loads offline tables and swaps them in, replacing the current
// set, only when every file loaded: a bad file leaves the old set in use.
func (t *Tracer) LoadTables(paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	ts, err := LoadTables(paths)
	if err != nil {
		return err
	}
	t.SetTables(ts)
	return nil
}

// SetTables replaces the offline tables in one step.
func (t *Tracer) SetTables(ts Tables) {
	// Lookups in flight may still read an old mmdb, so it is not closed
	// here; its mapping is released once unreachable.
	t.tables.Store(&ts)
	t.cache.changed()
}

// Tables returns the offline tables in use.
func (t *Tracer) Tables() Tables {
	if p := t.tables.Load(); p != nil {
		return *p
	}
	return nil
}

// Results delivers one Result per Request, in completion order. It is
// closed by Close. The console must keep reading it: once its buffer is
// full the workers wait (AS-only lookups scheduled by ASOf send nothing).
func (t *Tracer) Results() <-chan Result { return t.results }

// Request queues a full lookup of ip and returns at once; false means the
// queue was full or ip is invalid (ask again later). A request already
// queued is not queued twice.
func (t *Tracer) Request(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	return t.enqueue(job{ip: ip.Unmap(), full: true})
}

func (t *Tracer) enqueue(j job) bool {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	if t.ctx.Err() != nil {
		return false
	}
	if full, ok := t.pending[j.ip]; ok && (full || !j.full) {
		return true
	}
	select {
	case t.queue <- j:
		t.pending[j.ip] = j.full
		return true
	default:
		return false
	}
}

func (t *Tracer) worker() {
	defer t.wg.Done()
	for {
		select {
		case <-t.ctx.Done():
			return
		case j := <-t.queue:
			t.pmu.Lock()
			delete(t.pending, j.ip)
			t.pmu.Unlock()
			if t.crowded.Swap(false) {
				t.cache.changed() // what the full queue kept out may go in now
			}
			if !j.full {
				var info Info
				info.IP = j.ip
				_ = t.lookupAS(t.ctx, &info)
				continue
			}
			info, err := t.Lookup(t.ctx, j.ip)
			select {
			case t.results <- Result{IP: j.ip, Info: info, Err: err}:
			case <-t.ctx.Done():
				return
			}
		}
	}
}

// ASOf answers from the offline tables and the cache only, so it never
// blocks; an address not known yet gives ok=false and, when online, a
// lookup is scheduled so a later call knows. It satisfies
// analyze.ASResolver.
func (t *Tracer) ASOf(ip netip.Addr) (asn uint32, name, country string, ok bool) {
	ip = ip.Unmap()
	if p := t.tables.Load(); p != nil {
		if asn, name, country, found := p.asOf(ip); found {
			if asn == 0 {
				return 0, "", "", false
			}
			if name == "" || country == "" {
				if e, ok := t.cache.asInfo(asn); ok {
					name = firstNonEmpty(name, e.Name)
					country = firstNonEmpty(country, e.Country)
				} else {
					t.schedule(ip)
				}
			}
			return asn, name, country, true
		}
	}
	if e, found := t.cache.origin(ip); found {
		if e.Negative || len(e.ASNs) == 0 {
			return 0, "", "", false
		}
		asn, country = e.ASNs[0], e.Country
		if a, ok := t.cache.asInfo(asn); ok {
			name = a.Name
			country = firstNonEmpty(country, a.Country)
		} else {
			t.schedule(ip)
		}
		return asn, name, country, true
	}
	t.schedule(ip)
	return 0, "", "", false
}

// ASEpoch implements analyze.ASEpocher, so that the analyzer does not ask
// again about an address ASOf could not answer until that may have
// changed. It moves when an answer may have appeared (tables swapped, an
// origin cached or the cache reloaded), when the lookup queue has room
// again after turning addresses away, and once every failureTTL, as failed
// lookups become due for a retry and cached "not announced" answers
// expire.
func (t *Tracer) ASEpoch() uint64 {
	return t.cache.epoch.Load() + uint64(time.Since(t.started)/failureTTL)
}

// schedule queues an AS-only lookup unless offline or tried recently.
func (t *Tracer) schedule(ip netip.Addr) {
	if t.cfg.Offline {
		return
	}
	// A full queue takes nothing: ip is left unmarked, to be queued by a
	// later call once there is room, and the bookkeeping below is skipped
	// while a big backfill asks about thousands of new addresses.
	if len(t.queue) == cap(t.queue) {
		t.crowded.Store(true)
		return
	}
	now := time.Now()
	t.pmu.Lock()
	if until, ok := t.attempted[ip]; ok && now.Before(until) {
		t.pmu.Unlock()
		return
	}
	if len(t.attempted) >= maxCacheEntries {
		clear(t.attempted)
		t.cache.changed()
	}
	t.attempted[ip] = now.Add(failureTTL)
	t.pmu.Unlock()
	t.enqueue(job{ip: ip})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// asOf is the hot path of Tables.Lookup without allocation.
func (ts Tables) asOf(ip netip.Addr) (asn uint32, name, country string, found bool) {
	var bestBits = -1
	unrouted := false
	for _, t := range ts {
		if t.mmdb != nil {
			a, ok := t.lookupMMDB(ip)
			if ok && a.ASN != 0 && a.Prefix.Bits() > bestBits {
				asn, name, country, bestBits = a.ASN, a.Name, a.Country, a.Prefix.Bits()
			} else if ok {
				unrouted = true
			}
			continue
		}
		if len(ts) == 1 {
			return t.asOf(ip)
		}
		p, idx, ok := t.lpm.LookupPrefixLPM(netip.PrefixFrom(ip, ip.BitLen()))
		if !ok {
			continue
		}
		r := &t.recs[idx]
		if r.asn == 0 {
			unrouted = true
			continue
		}
		if p.Bits() > bestBits {
			asn, name, bestBits = r.asn, t.names[r.name], p.Bits()
			country = ""
			if r.cc[0] != 0 {
				country = ccString(r.cc)
			}
		}
	}
	if bestBits >= 0 {
		return asn, name, country, true
	}
	return 0, "", "", unrouted
}

// Lookup finds out everything about ip, waiting for the network (bounded
// by ctx and the per-query timeouts). The Info holds whatever was found;
// the error lists what could not be.
func (t *Tracer) Lookup(ctx context.Context, ip netip.Addr) (Info, error) {
	ip = ip.Unmap()
	info := Info{IP: ip}
	if !ip.IsValid() {
		return info, errors.New("invalid address")
	}
	var errs []error
	if err := t.lookupAS(ctx, &info); err != nil {
		errs = append(errs, err)
	}
	if err := t.lookupPTR(ctx, &info); err != nil {
		errs = append(errs, err)
	}
	if err := t.lookupAbuse(ctx, &info); err != nil {
		errs = append(errs, err)
	}
	return info, errors.Join(errs...)
}

// lookupAS fills the origin (table, cache or Cymru) and the AS name.
func (t *Tracer) lookupAS(ctx context.Context, info *Info) error {
	ip := info.IP
	if ts := t.Tables(); len(ts) > 0 {
		if a, ok := ts.Lookup(ip); ok {
			info.ASSource = a.File
			if a.ASN == 0 {
				info.Unrouted = true
				info.Prefix = a.Prefix
				return nil
			}
			info.ASN, info.ASNs, info.ASName, info.Country, info.Prefix = a.ASN, a.ASNs, a.Name, a.Country, a.Prefix
		}
	}
	if info.ASN == 0 {
		o, source, err := t.origin(ctx, ip)
		if err != nil {
			return fmt.Errorf("AS of %s: %w", ip, err)
		}
		info.ASSource = source
		if len(o.ASNs) == 0 {
			info.Unrouted = true
			return nil
		}
		info.ASN, info.ASNs, info.Prefix = o.ASNs[0], o.ASNs, o.Prefix
		info.Country, info.Registry, info.Allocated = o.Country, o.Registry, o.Allocated
	}
	if info.ASName != "" && info.Country != "" && info.Registry != "" {
		return nil
	}
	a, err := t.asInfo(ctx, info.ASN)
	if err != nil {
		return fmt.Errorf("name of AS%d: %w", info.ASN, err)
	}
	info.ASName = firstNonEmpty(info.ASName, a.Name)
	info.Country = firstNonEmpty(info.Country, a.Country)
	info.Registry = firstNonEmpty(info.Registry, a.Registry)
	return nil
}

var errOffline = errors.New("not known offline")
var errRecentFailure = errors.New("failed a moment ago; not asking again yet")

// block is the unit in-flight origin queries are coalesced on: no BGP
// prefix is longer than a /24 (IPv4) or /48 (IPv6) on the public internet.
func block(ip netip.Addr) netip.Prefix {
	if ip.Is4() {
		p, _ := ip.Prefix(24)
		return p
	}
	p, _ := ip.Prefix(48)
	return p
}

// minCacheBits is the shortest prefix an origin answer may be cached
// under; a shorter one (a forged 0.0.0.0/0) is cached for its block only.
func minCacheBits(ip netip.Addr) int {
	if ip.Is4() {
		return 8
	}
	return 19
}

func (t *Tracer) origin(ctx context.Context, ip netip.Addr) (Origin, string, error) {
	if e, ok := t.cache.origin(ip); ok {
		return e.Origin, "cache", nil
	}
	if t.cfg.Offline {
		return Origin{}, "", errOffline
	}
	blk := block(ip)
	o, err := t.originQuery(ctx, "o:"+blk.String(), ip, blk)
	if err == nil && len(o.ASNs) > 0 && !o.Prefix.Contains(ip) {
		// The first address of the block got a more specific prefix that
		// does not cover this one: ask for this address itself.
		o, err = t.originQuery(ctx, "o:"+ip.String(), ip, blk)
	}
	return o, "dns", err
}

func (t *Tracer) originQuery(ctx context.Context, key string, ip netip.Addr, blk netip.Prefix) (Origin, error) {
	if t.cache.failed(key) {
		return Origin{}, errRecentFailure
	}
	v, err := t.fl.do(ctx, key, func() (any, error) {
		// Another flight may have filled the cache meanwhile.
		if e, ok := t.cache.origin(ip); ok {
			return e.Origin, nil
		}
		txts, err := t.res.txt(ctx, OriginQuery(ip))
		now := t.cache.now()
		if errors.Is(err, errNXDOMAIN) || (err == nil && len(txts) == 0) {
			t.cache.putOrigin(blk, &originEntry{Negative: true, Expires: now.Add(negativeTTL)})
			return Origin{}, nil
		}
		if err != nil {
			t.cache.putFailure(key)
			return Origin{}, err
		}
		o, err := pickOrigin(txts)
		if errors.Is(err, ErrUnrouted) {
			t.cache.putOrigin(blk, &originEntry{Negative: true, Expires: now.Add(negativeTTL)})
			return Origin{}, nil
		}
		if err != nil {
			t.cache.putFailure(key)
			return Origin{}, fmt.Errorf("malformed answer from Team Cymru: %w", err)
		}
		if !o.Prefix.Contains(ip) {
			t.cache.putFailure(key)
			return Origin{}, fmt.Errorf("answer names prefix %s, which does not contain %s", o.Prefix, ip)
		}
		where := o.Prefix
		if where.Bits() < minCacheBits(ip) {
			where = blk
		}
		t.cache.putOrigin(where, &originEntry{Origin: o, Expires: now.Add(originTTL)})
		return o, nil
	})
	if err != nil {
		return Origin{}, err
	}
	return v.(Origin), nil
}

func (t *Tracer) asInfo(ctx context.Context, asn uint32) (ASInfo, error) {
	if e, ok := t.cache.asInfo(asn); ok {
		return e.ASInfo, nil
	}
	if t.cfg.Offline {
		return ASInfo{}, errOffline
	}
	key := fmt.Sprintf("as:%d", asn)
	if t.cache.failed(key) {
		return ASInfo{}, errRecentFailure
	}
	v, err := t.fl.do(ctx, key, func() (any, error) {
		if e, ok := t.cache.asInfo(asn); ok {
			return e.ASInfo, nil
		}
		txts, err := t.res.txt(ctx, ASQuery(asn))
		now := t.cache.now()
		if errors.Is(err, errNXDOMAIN) || (err == nil && len(txts) == 0) {
			t.cache.putAS(asEntry{ASInfo: ASInfo{ASN: asn}, Negative: true, Expires: now.Add(negativeTTL)})
			return ASInfo{ASN: asn}, nil
		}
		if err != nil {
			t.cache.putFailure(key)
			return ASInfo{}, err
		}
		var firstErr error
		for _, txt := range txts {
			a, err := ParseASInfo(txt)
			if err == nil && a.ASN == asn {
				t.cache.putAS(asEntry{ASInfo: a, Expires: now.Add(asTTL)})
				return a, nil
			}
			if err == nil {
				err = fmt.Errorf("answer is about AS%d", a.ASN)
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		t.cache.putFailure(key)
		return ASInfo{}, fmt.Errorf("malformed answer from Team Cymru: %w", firstErr)
	})
	if err != nil {
		return ASInfo{}, err
	}
	return v.(ASInfo), nil
}

// lookupPTR fills the PTR name and its forward confirmation.
func (t *Tracer) lookupPTR(ctx context.Context, info *Info) error {
	ip := info.IP
	e, ok := t.cache.ptrOf(ip)
	if !ok {
		if t.cfg.Offline {
			return nil
		}
		key := "ptr:" + ip.String()
		if t.cache.failed(key) {
			return fmt.Errorf("PTR of %s: %w", ip, errRecentFailure)
		}
		v, err := t.fl.do(ctx, key, func() (any, error) { return t.queryPTR(ctx, ip) })
		if err != nil {
			t.cache.putFailure(key)
			return fmt.Errorf("PTR of %s: %w", ip, err)
		}
		e = v.(ptrEntry)
	}
	info.PTR, info.PTRChecked, info.PTRConfirmed = e.Name, e.Checked, e.Confirmed
	return nil
}

// maxPTRTried bounds the PTR names checked for forward confirmation.
const maxPTRTried = 3

func (t *Tracer) queryPTR(ctx context.Context, ip netip.Addr) (ptrEntry, error) {
	rev, err := dns.ReverseAddr(ip.String())
	if err != nil {
		return ptrEntry{}, err
	}
	rrs, err := t.res.query(ctx, rev, dns.TypePTR)
	now := t.cache.now()
	if errors.Is(err, errNXDOMAIN) {
		e := ptrEntry{Checked: true, Expires: now.Add(negativeTTL)}
		t.cache.putPTR(ip, e)
		return e, nil
	}
	if err != nil {
		return ptrEntry{}, err
	}
	var names []string
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok && len(p.Ptr) <= maxPTRBytes+1 && len(names) < maxPTRTried {
			names = append(names, p.Ptr)
		}
	}
	if len(names) == 0 {
		e := ptrEntry{Checked: true, Expires: now.Add(negativeTTL)}
		t.cache.putPTR(ip, e)
		return e, nil
	}
	qtype := dns.TypeA
	if ip.Is6() {
		qtype = dns.TypeAAAA
	}
	checked := 0
	for _, name := range names {
		ok, err := t.forwardConfirms(ctx, name, qtype, ip)
		if err != nil {
			continue
		}
		checked++
		if ok {
			e := ptrEntry{Name: cleanPTR(name), Checked: true, Confirmed: true, Expires: now.Add(ptrTTL)}
			t.cache.putPTR(ip, e)
			return e, nil
		}
	}
	e := ptrEntry{Name: cleanPTR(names[0]), Checked: checked == len(names), Expires: now.Add(ptrTTL)}
	if !e.Checked {
		// The name is known but its confirmation is not: report it now,
		// cache nothing, so it is asked again.
		return e, nil
	}
	t.cache.putPTR(ip, e)
	return e, nil
}

// forwardConfirms reports whether name resolves back to ip.
func (t *Tracer) forwardConfirms(ctx context.Context, name string, qtype uint16, ip netip.Addr) (bool, error) {
	if _, ok := dns.IsDomainName(name); !ok {
		return false, nil
	}
	rrs, err := t.res.query(ctx, dns.Fqdn(name), qtype)
	if errors.Is(err, errNXDOMAIN) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, rr := range rrs {
		var a netip.Addr
		switch r := rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(r.A.To4())
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(r.AAAA.To16())
		default:
			continue
		}
		if a.Unmap() == ip {
			return true, nil
		}
	}
	return false, nil
}

// lookupAbuse fills the abuse contacts: Abusix, then RDAP when enabled.
func (t *Tracer) lookupAbuse(ctx context.Context, info *Info) error {
	ip := info.IP
	if e, ok := t.cache.abuseOf(ip); ok {
		info.Abuse = e.Contacts
		if info.Abuse == nil {
			info.Abuse = []string{}
		}
		return nil
	}
	if t.cfg.Offline {
		return nil
	}
	key := "abuse:" + ip.String()
	if t.cache.failed(key) {
		return fmt.Errorf("abuse contact of %s: %w", ip, errRecentFailure)
	}
	v, err := t.fl.do(ctx, key, func() (any, error) {
		var contacts []string
		txts, err := t.res.txt(ctx, AbuseQuery(ip))
		if err != nil && !errors.Is(err, errNXDOMAIN) {
			return nil, err
		}
		for _, txt := range txts {
			for _, c := range ParseAbuse(txt) {
				if len(contacts) < maxAbuse && !containsString(contacts, c) {
					contacts = append(contacts, c)
				}
			}
		}
		if len(contacts) == 0 && t.cfg.RDAP {
			contacts, err = t.rdapAbuse(ctx, ip)
			if err != nil {
				return nil, fmt.Errorf("RDAP: %w", err)
			}
		}
		if contacts == nil {
			contacts = []string{}
		}
		t.cache.putAbuse(ip, abuseEntry{Contacts: contacts, Expires: t.cache.now().Add(abuseTTL)})
		return contacts, nil
	})
	if err != nil {
		t.cache.putFailure(key)
		return fmt.Errorf("abuse contact of %s: %w", ip, err)
	}
	info.Abuse = v.([]string)
	return nil
}

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// QueriesSent returns how many DNS queries went out, for statistics.
func (t *Tracer) QueriesSent() int64 { return t.res.queries.Load() }

// SaveCache writes the disk cache now (Close does it too).
func (t *Tracer) SaveCache() error {
	if t.cfg.NoDiskCache || t.cfg.CacheDir == "" {
		return nil
	}
	return t.cache.save(t.cfg.CacheDir)
}

// Close stops the workers, drops queued requests, saves the disk cache
// and closes Results.
func (t *Tracer) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.pmu.Lock()
		t.cancel()
		t.pmu.Unlock()
		t.wg.Wait()
		close(t.results)
		err = t.SaveCache()
	})
	return err
}
