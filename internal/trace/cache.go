package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"
	"github.com/irtui/irtui/internal/sanitize"
)

// How long answers are trusted. Routing changes slowly, names and abuse
// desks more slowly still; "nothing there" is re-asked sooner, and a
// failure (timeout, SERVFAIL) only briefly so a dead resolver is not
// hammered while an attack is on.
const (
	originTTL   = 24 * time.Hour
	asTTL       = 7 * 24 * time.Hour
	ptrTTL      = 6 * time.Hour
	abuseTTL    = 3 * 24 * time.Hour
	negativeTTL = time.Hour
	failureTTL  = time.Minute
)

const (
	cacheVersion     = 1
	cacheFileName    = "trace-cache.json"
	maxCacheEntries  = 200_000 // per kind, in memory and on disk
	maxCacheFileSize = 64 << 20
)

type originEntry struct {
	Origin
	Expires  time.Time
	Negative bool // no route (NXDOMAIN or "NA")
}

type asEntry struct {
	ASInfo
	Expires  time.Time
	Negative bool
}

type ptrEntry struct {
	Name      string // "" when there is no PTR
	Checked   bool   // forward confirmation finished
	Confirmed bool
	Expires   time.Time
}

type abuseEntry struct {
	Contacts []string // empty when none are published
	Expires  time.Time
}

// cache holds every answer, by the prefix an origin answer names (so one
// query serves a whole prefix), by AS, and by address.
type cache struct {
	mu       sync.RWMutex
	origins  *bart.Table[*originEntry]
	nOrigins int
	as       map[uint32]asEntry
	ptr      map[netip.Addr]ptrEntry
	abuse    map[netip.Addr]abuseEntry
	failures map[string]time.Time // query key → retry after
	dirty    bool
	now      func() time.Time
	// areas says where origins may hold an entry, read without mu.
	areas *areaSet
	// epoch counts the changes that may turn an unknown origin known
	// (see Tracer.ASEpoch).
	epoch atomic.Uint64
}

func newCache() *cache {
	return &cache{
		origins:  new(bart.Table[*originEntry]),
		as:       map[uint32]asEntry{},
		ptr:      map[netip.Addr]ptrEntry{},
		abuse:    map[netip.Addr]abuseEntry{},
		failures: map[string]time.Time{},
		now:      time.Now,
		areas:    new(areaSet),
	}
}

// origin returns the most specific fresh origin entry covering ip.
func (c *cache) origin(ip netip.Addr) (*originEntry, bool) {
	if !c.areas.has(ip) {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.origins.Lookup(ip)
	if !ok || c.now().After(e.Expires) {
		return nil, false
	}
	return e, true
}

func (c *cache) putOrigin(p netip.Prefix, e *originEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nOrigins >= maxCacheEntries {
		c.pruneOriginsLocked()
	}
	if _, exists := c.origins.Get(p); !exists {
		c.nOrigins++
	}
	c.areas.add(p)
	c.origins.Insert(p, e)
	c.dirty = true
	c.changed()
}

// changed moves the epoch, after the change it counts is in place.
func (c *cache) changed() { c.epoch.Add(1) }

// pruneOriginsLocked drops expired entries, and everything when that is
// not enough: a full cache is cheaper to rebuild than to manage.
func (c *cache) pruneOriginsLocked() {
	now := c.now()
	fresh := new(bart.Table[*originEntry])
	n := 0
	for p, e := range c.origins.All() {
		if now.Before(e.Expires) {
			fresh.Insert(p, e)
			n++
		}
	}
	if n >= maxCacheEntries {
		fresh, n = new(bart.Table[*originEntry]), 0
	}
	c.origins, c.nOrigins = fresh, n
	c.changed()
}

func (c *cache) asInfo(asn uint32) (asEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.as[asn]
	if !ok || c.now().After(e.Expires) {
		return asEntry{}, false
	}
	return e, true
}

func (c *cache) putAS(e asEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pruneMap(c.as, c.now())
	c.as[e.ASN] = e
	c.dirty = true
}

func (c *cache) ptrOf(ip netip.Addr) (ptrEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.ptr[ip]
	if !ok || c.now().After(e.Expires) {
		return ptrEntry{}, false
	}
	return e, true
}

func (c *cache) putPTR(ip netip.Addr, e ptrEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pruneMap(c.ptr, c.now())
	c.ptr[ip] = e
	c.dirty = true
}

func (c *cache) abuseOf(ip netip.Addr) (abuseEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.abuse[ip]
	if !ok || c.now().After(e.Expires) {
		return abuseEntry{}, false
	}
	return e, true
}

func (c *cache) putAbuse(ip netip.Addr, e abuseEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pruneMap(c.abuse, c.now())
	c.abuse[ip] = e
	c.dirty = true
}

// failed reports whether key failed recently enough not to be asked again.
func (c *cache) failed(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	until, ok := c.failures[key]
	return ok && c.now().Before(until)
}

func (c *cache) putFailure(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) >= maxCacheEntries {
		clear(c.failures)
	}
	c.failures[key] = c.now().Add(failureTTL)
}

type expirer interface{ expiry() time.Time }

func (e asEntry) expiry() time.Time    { return e.Expires }
func (e ptrEntry) expiry() time.Time   { return e.Expires }
func (e abuseEntry) expiry() time.Time { return e.Expires }

// pruneMap keeps a map under maxCacheEntries: expired entries first, then
// arbitrary ones (map order), a tenth at a time.
func pruneMap[K comparable, V expirer](m map[K]V, now time.Time) {
	if len(m) < maxCacheEntries {
		return
	}
	for k, v := range m {
		if now.After(v.expiry()) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxCacheEntries*9/10 {
			break
		}
		delete(m, k)
	}
}

// The on-disk form. Everything in it is re-validated on load: the file
// lives in the user's cache directory, but its contents came from the
// network.
type diskCache struct {
	Version int          `json:"version"`
	Origins []diskOrigin `json:"origins"`
	AS      []diskAS     `json:"as"`
	PTR     []diskPTR    `json:"ptr"`
	Abuse   []diskAbuse  `json:"abuse"`
}

type diskOrigin struct {
	Prefix    netip.Prefix `json:"prefix"`
	ASNs      []uint32     `json:"asns,omitempty"`
	Country   string       `json:"cc,omitempty"`
	Registry  string       `json:"registry,omitempty"`
	Allocated string       `json:"allocated,omitempty"`
	Negative  bool         `json:"negative,omitempty"`
	Expires   time.Time    `json:"expires"`
}

type diskAS struct {
	ASN       uint32    `json:"asn"`
	Name      string    `json:"name,omitempty"`
	Country   string    `json:"cc,omitempty"`
	Registry  string    `json:"registry,omitempty"`
	Allocated string    `json:"allocated,omitempty"`
	Negative  bool      `json:"negative,omitempty"`
	Expires   time.Time `json:"expires"`
}

type diskPTR struct {
	IP        netip.Addr `json:"ip"`
	Name      string     `json:"name,omitempty"`
	Checked   bool       `json:"checked,omitempty"`
	Confirmed bool       `json:"confirmed,omitempty"`
	Expires   time.Time  `json:"expires"`
}

type diskAbuse struct {
	IP       netip.Addr `json:"ip"`
	Contacts []string   `json:"contacts"`
	Expires  time.Time  `json:"expires"`
}

// DefaultCacheDir is $XDG_CACHE_HOME/irtui, or ~/.cache/irtui.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "irtui")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".cache", "irtui")
}

// load reads the cache file; a missing file is not an error, a damaged
// one is reported and ignored (the cache is only an optimisation).
func (c *cache) load(dir string) error {
	f, err := os.Open(filepath.Join(dir, cacheFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var d diskCache
	if err := json.NewDecoder(io.LimitReader(f, maxCacheFileSize)).Decode(&d); err != nil {
		return fmt.Errorf("ignoring damaged lookup cache %s: %v", f.Name(), err)
	}
	if d.Version != cacheVersion {
		return nil
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, o := range d.Origins {
		if i >= maxCacheEntries || !o.Prefix.IsValid() || now.After(o.Expires) {
			continue
		}
		asns := o.ASNs
		if len(asns) > maxOrigins {
			asns = asns[:maxOrigins]
		}
		if !o.Negative && len(asns) == 0 {
			continue
		}
		e := &originEntry{Negative: o.Negative, Expires: o.Expires, Origin: Origin{
			ASNs: asns, Prefix: o.Prefix.Masked(), Country: cleanCountry(o.Country),
			Registry: cleanRegistry(o.Registry), Allocated: cleanDate(o.Allocated)}}
		if _, exists := c.origins.Get(e.Prefix); !exists {
			c.nOrigins++
		}
		c.areas.add(e.Prefix)
		c.origins.Insert(e.Prefix, e)
	}
	c.changed()
	for i, a := range d.AS {
		if i >= maxCacheEntries || now.After(a.Expires) {
			continue
		}
		c.as[a.ASN] = asEntry{Negative: a.Negative, Expires: a.Expires, ASInfo: ASInfo{
			ASN: a.ASN, Name: cleanName(a.Name), Country: cleanCountry(a.Country),
			Registry: cleanRegistry(a.Registry), Allocated: cleanDate(a.Allocated)}}
	}
	for i, p := range d.PTR {
		if i >= maxCacheEntries || !p.IP.IsValid() || now.After(p.Expires) {
			continue
		}
		c.ptr[p.IP.Unmap()] = ptrEntry{Name: cleanPTR(p.Name), Checked: p.Checked, Confirmed: p.Confirmed, Expires: p.Expires}
	}
	for i, a := range d.Abuse {
		if i >= maxCacheEntries || !a.IP.IsValid() || now.After(a.Expires) {
			continue
		}
		var contacts []string
		for _, m := range a.Contacts {
			if plausibleEmail(m) && len(contacts) < maxAbuse {
				contacts = append(contacts, m)
			}
		}
		c.abuse[a.IP.Unmap()] = abuseEntry{Contacts: contacts, Expires: a.Expires}
	}
	return nil
}

// save writes the fresh entries atomically (temporary file, then rename)
// with permissions only the user can read: it records whom the server
// was looking at.
func (c *cache) save(dir string) error {
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	now := c.now()
	d := diskCache{Version: cacheVersion}
	for p, e := range c.origins.All() {
		if now.Before(e.Expires) {
			d.Origins = append(d.Origins, diskOrigin{Prefix: p, ASNs: e.ASNs, Country: e.Country,
				Registry: e.Registry, Allocated: e.Allocated, Negative: e.Negative, Expires: e.Expires})
		}
	}
	for _, e := range c.as {
		if now.Before(e.Expires) {
			d.AS = append(d.AS, diskAS{ASN: e.ASN, Name: e.Name, Country: e.Country, Registry: e.Registry,
				Allocated: e.Allocated, Negative: e.Negative, Expires: e.Expires})
		}
	}
	for ip, e := range c.ptr {
		if now.Before(e.Expires) {
			d.PTR = append(d.PTR, diskPTR{IP: ip, Name: e.Name, Checked: e.Checked, Confirmed: e.Confirmed, Expires: e.Expires})
		}
	}
	for ip, e := range c.abuse {
		if now.Before(e.Expires) {
			d.Abuse = append(d.Abuse, diskAbuse{IP: ip, Contacts: e.Contacts, Expires: e.Expires})
		}
	}
	c.dirty = false
	c.mu.Unlock()

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, cacheFileName+".*")
	if err != nil {
		return fmt.Errorf("cannot write lookup cache: %w", err)
	}
	enc := json.NewEncoder(tmp)
	if err := enc.Encode(&d); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write lookup cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write lookup cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, cacheFileName)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot write lookup cache: %w", err)
	}
	return nil
}

// cleanPTR makes a PTR name from an answer (or the cache) safe to show.
func cleanPTR(s string) string {
	if len(s) > maxPTRBytes+1 {
		s = s[:maxPTRBytes+1]
	}
	if len(s) > 1 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return sanitize.Text(s)
}
