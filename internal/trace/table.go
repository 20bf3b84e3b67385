package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"os"
	"strconv"

	"github.com/gaissmai/bart"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Table formats, as reported by Table.Format.
const (
	FormatPfx2as  = "pfx2as"  // RouteViews / CAIDA prefix2as: prefix, length, origin
	FormatIPtoASN = "iptoasn" // iptoasn.com TSV: range start, range end, AS, country, description
	FormatMMDB    = "mmdb"    // MaxMind GeoLite2-ASN (or compatible) database
)

const (
	maxTableLine     = 4096
	maxTablePrefixes = 8 << 20 // far above a full table; stops a runaway file
)

// TableError is a problem in an offline table, naming the file and line.
type TableError struct {
	File string
	Line int // 0 when the error is not about one line
	Msg  string
}

func (e *TableError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Table is one offline IP→AS table loaded completely into memory (or, for
// an mmdb, opened and verified). It is immutable after LoadTable returns
// and safe for concurrent lookups.
type Table struct {
	File     string // the path as given
	Format   string // FormatPfx2as, FormatIPtoASN or FormatMMDB
	Prefixes int    // prefixes inserted (0 for an mmdb)

	lpm   bart.Table[uint32] // value: index into recs
	recs  []tableRec
	names []string   // interned AS names, names[0] == ""
	multi [][]uint32 // all origins of multi-origin rows, rec.multi-1 indexes it
	mmdb  *maxminddb.Reader
}

// tableRec is what a prefix maps to; identical records are shared, so a
// full table holds one per distinct origin rather than one per prefix.
type tableRec struct {
	asn   uint32 // 0: the row says "not routed"
	name  uint32
	multi uint32
	cc    [2]byte
}

// TableAnswer is what a table knows about one address.
type TableAnswer struct {
	ASN     uint32   // 0 when the table says the address is not routed
	ASNs    []uint32 // every origin of a multi-origin or AS-set row
	Name    string
	Country string
	Prefix  netip.Prefix
	File    string
}

// Lookup answers ip from the table by longest prefix match.
func (t *Table) Lookup(ip netip.Addr) (TableAnswer, bool) {
	ip = ip.Unmap()
	if t.mmdb != nil {
		return t.lookupMMDB(ip)
	}
	pfx, idx, ok := t.lpm.LookupPrefixLPM(netip.PrefixFrom(ip, ip.BitLen()))
	if !ok {
		return TableAnswer{}, false
	}
	r := t.recs[idx]
	a := TableAnswer{ASN: r.asn, Name: t.names[r.name], Prefix: pfx, File: t.File}
	if r.cc[0] != 0 {
		a.Country = string(r.cc[:])
	}
	if r.multi > 0 {
		a.ASNs = append([]uint32(nil), t.multi[r.multi-1]...)
	} else if r.asn != 0 {
		a.ASNs = []uint32{r.asn}
	}
	return a, true
}

// asOf is the allocation-free hot path behind Tracer.ASOf.
func (t *Table) asOf(ip netip.Addr) (asn uint32, name, country string, found bool) {
	if t.mmdb != nil {
		a, ok := t.lookupMMDB(ip)
		return a.ASN, a.Name, a.Country, ok
	}
	idx, ok := t.lpm.Lookup(ip)
	if !ok {
		return 0, "", "", false
	}
	r := &t.recs[idx]
	if r.cc[0] != 0 {
		country = ccString(r.cc)
	}
	return r.asn, t.names[r.name], country, true
}

// ccStrings holds every two-letter code so the hot path does not allocate.
var ccStrings = func() (m [26][26]string) {
	for i := range 26 {
		for j := range 26 {
			m[i][j] = string([]byte{byte('A' + i), byte('A' + j)})
		}
	}
	return
}()

func ccString(cc [2]byte) string { return ccStrings[cc[0]-'A'][cc[1]-'A'] }

type mmdbASN struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

func (t *Table) lookupMMDB(ip netip.Addr) (TableAnswer, bool) {
	if t.mmdb.Metadata.IPVersion == 4 && !ip.Is4() {
		return TableAnswer{}, false
	}
	res := t.mmdb.Lookup(ip)
	if res.Err() != nil || !res.Found() {
		return TableAnswer{}, false
	}
	var rec mmdbASN
	if err := res.Decode(&rec); err != nil {
		return TableAnswer{}, false
	}
	a := TableAnswer{ASN: rec.ASN, Name: cleanName(rec.Org), Prefix: res.Prefix(), File: t.File}
	if rec.ASN != 0 {
		a.ASNs = []uint32{rec.ASN}
	}
	return a, true
}

// Close releases an mmdb's mapping; other tables need nothing.
func (t *Table) Close() error {
	if t.mmdb != nil {
		return t.mmdb.Close()
	}
	return nil
}

// mmdbMarker starts the metadata section of every MaxMind DB file.
var mmdbMarker = []byte("\xab\xcd\xefMaxMind.com")

// LoadTable reads an offline table, detecting its format from the content:
// gzip or plain text, RouteViews pfx2as or iptoasn TSV, or a MaxMind DB. The
// whole file is parsed before anything is returned; a bad line gives a
// *TableError naming it and no table.
func LoadTable(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open AS table: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open AS table: %w", err)
	}
	if isMMDB(f, st.Size()) {
		db, err := maxminddb.Open(path)
		if err != nil {
			return nil, &TableError{File: path, Msg: "damaged MaxMind database: " + err.Error()}
		}
		if err := db.Verify(); err != nil {
			db.Close()
			return nil, &TableError{File: path, Msg: "damaged MaxMind database: " + err.Error()}
		}
		return &Table{File: path, Format: FormatMMDB, mmdb: db}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return ReadTable(path, f)
}

func isMMDB(f *os.File, size int64) bool {
	const tail = 128 << 10
	off := max(size-tail, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return bytes.Contains(buf, mmdbMarker)
}

// ReadTable parses a text table (pfx2as or iptoasn, gzip-compressed or
// not) from r. name is used in errors and as the table's File.
func ReadTable(name string, r io.Reader) (*Table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &TableError{File: name, Msg: "damaged gzip data: " + err.Error()}
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	t := &Table{File: name, names: []string{""}}
	b := tableBuilder{t: t, recIdx: map[tableRec]uint32{}, nameIdx: map[string]uint32{}}
	lineNo := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &TableError{File: name, Line: lineNo + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxTableLine)}
		}
		if len(line) > 0 {
			lineNo++
			if len(line) > maxTableLine {
				return nil, &TableError{File: name, Line: lineNo, Msg: fmt.Sprintf("line longer than %d bytes", maxTableLine)}
			}
			if msg := b.line(trimEOL(line)); msg != "" {
				return nil, &TableError{File: name, Line: lineNo, Msg: msg}
			}
			if t.Prefixes > maxTablePrefixes {
				return nil, &TableError{File: name, Line: lineNo, Msg: "more prefixes than any real table holds"}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &TableError{File: name, Line: lineNo + 1, Msg: "read error: " + err.Error()}
		}
	}
	if t.Format == "" {
		return nil, &TableError{File: name, Msg: "no data lines: not a pfx2as or iptoasn table"}
	}
	return t, nil
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

type tableBuilder struct {
	t       *Table
	recIdx  map[tableRec]uint32
	nameIdx map[string]uint32
	multi   map[string]uint32
	// originBuf spares an allocation per line of a full table.
	originBuf [maxOrigins]uint32
}

// line parses one line and inserts its prefixes; it returns a message for
// a bad line. The format is fixed by the first data line.
func (b *tableBuilder) line(l []byte) string {
	if len(l) == 0 || l[0] == '#' {
		return ""
	}
	var f [6][]byte
	n := splitTabs(l, f[:])
	if b.t.Format == "" {
		switch {
		case n == 3:
			b.t.Format = FormatPfx2as
		case n == 5:
			b.t.Format = FormatIPtoASN
		default:
			return fmt.Sprintf("not a known AS table: want 3 tab-separated fields (pfx2as: prefix, length, origin) or 5 (iptoasn: start, end, AS, country, name), got %d", n)
		}
	}
	if b.t.Format == FormatPfx2as {
		if n != 3 {
			return fmt.Sprintf("want 3 tab-separated fields (prefix, length, origin), got %d", n)
		}
		return b.pfx2as(f[0], f[1], f[2])
	}
	if n != 5 {
		return fmt.Sprintf("want 5 tab-separated fields (start, end, AS, country, name), got %d", n)
	}
	return b.iptoasn(f[:5])
}

// splitTabs splits l on tabs into f and returns the number of fields,
// which is len(f)+1 or more when there are too many.
func splitTabs(l []byte, f [][]byte) int {
	n := 0
	for {
		i := bytes.IndexByte(l, '\t')
		if n < len(f) {
			if i < 0 {
				f[n] = l
			} else {
				f[n] = l[:i]
			}
		}
		n++
		if i < 0 {
			return n
		}
		l = l[i+1:]
	}
}

func (b *tableBuilder) pfx2as(addrB, lenB, originB []byte) string {
	addr, ok := parseAddrBytes(addrB)
	if !ok {
		return fmt.Sprintf("bad network address %q", clip(addrB))
	}
	bitsN, ok := atoiBytes(lenB)
	if !ok || bitsN > addr.BitLen() {
		return fmt.Sprintf("bad prefix length %q", clip(lenB))
	}
	asns, ok := parsePfx2asOrigin(originB, b.originBuf[:0])
	if !ok {
		return fmt.Sprintf("bad origin %q (want AS numbers joined by _ or ,)", clip(originB))
	}
	pfx, err := addr.Prefix(bitsN)
	if err != nil {
		return "bad prefix: " + err.Error()
	}
	rec := tableRec{asn: asns[0]}
	if len(asns) > 1 {
		rec.multi = b.multiIndex(asns)
	}
	b.insert(pfx, rec)
	return ""
}

// parsePfx2asOrigin parses "13335", multi-origin "6939_1101" and AS-sets
// "71,4445" or "{71,4445}", and both at once. The first AS is the one
// reported.
func parsePfx2asOrigin(s []byte, out []uint32) ([]uint32, bool) {
	var cur uint64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			cur = cur*10 + uint64(s[i]-'0')
			digits++
			if digits > 10 || cur > 0xffffffff {
				return nil, false
			}
			continue
		}
		if i < len(s) && s[i] != '_' && s[i] != ',' && s[i] != '{' && s[i] != '}' {
			return nil, false
		}
		if digits > 0 {
			if len(out) < maxOrigins && !containsASN(out, uint32(cur)) {
				out = append(out, uint32(cur))
			}
			cur, digits = 0, 0
		}
	}
	return out, len(out) > 0
}

func (b *tableBuilder) iptoasn(f [][]byte) string {
	start, ok := parseRangeAddr(f[0])
	if !ok {
		if b.t.Prefixes == 0 && bytes.Equal(f[0], []byte("range_start")) {
			return "" // header row
		}
		return fmt.Sprintf("bad range start %q", clip(f[0]))
	}
	end, ok := parseRangeAddr(f[1])
	if !ok || end.Is4() != start.Is4() || end.Less(start) {
		return fmt.Sprintf("bad range end %q", clip(f[1]))
	}
	asn, ok := atoiBytes(f[2])
	if !ok || asn > 0xffffffff {
		return fmt.Sprintf("bad AS number %q", clip(f[2]))
	}
	rec := tableRec{asn: uint32(asn)}
	if asn != 0 {
		if cc := f[3]; len(cc) == 2 && isAlpha(cc[0]) && isAlpha(cc[1]) {
			rec.cc = [2]byte{cc[0] &^ 0x20, cc[1] &^ 0x20}
		}
		rec.name = b.nameIndex(f[4])
	}
	rangePrefixes(start, end, func(p netip.Prefix) { b.insert(p, rec) })
	return ""
}

func (b *tableBuilder) insert(p netip.Prefix, rec tableRec) {
	idx, ok := b.recIdx[rec]
	if !ok {
		idx = uint32(len(b.t.recs))
		b.t.recs = append(b.t.recs, rec)
		b.recIdx[rec] = idx
	}
	b.t.lpm.Insert(p, idx)
	b.t.Prefixes++
}

func (b *tableBuilder) nameIndex(raw []byte) uint32 {
	if idx, ok := b.nameIdx[string(raw)]; ok {
		return idx
	}
	name := cleanName(string(raw))
	idx := uint32(len(b.t.names))
	if name == "" {
		idx = 0
	} else {
		b.t.names = append(b.t.names, name)
	}
	b.nameIdx[string(raw)] = idx
	return idx
}

func (b *tableBuilder) multiIndex(asns []uint32) uint32 {
	if b.multi == nil {
		b.multi = map[string]uint32{}
	}
	key := fmt.Sprint(asns)
	if idx, ok := b.multi[key]; ok {
		return idx
	}
	b.t.multi = append(b.t.multi, append([]uint32(nil), asns...))
	idx := uint32(len(b.t.multi))
	b.multi[key] = idx
	return idx
}

func clip(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}

func atoiBytes(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseAddrBytes parses an address without allocating for the common IPv4
// case, which is most of a full table.
func parseAddrBytes(b []byte) (netip.Addr, bool) {
	var a [4]byte
	octet, dots, digits := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && octet == 0 {
				return slowAddr(b) // leading zero: let netip decide
			}
			octet = octet*10 + int(c-'0')
			digits++
			if octet > 255 {
				return slowAddr(b) // an IPv6 group, or junk
			}
		case c == '.' && digits > 0 && dots < 3:
			a[dots] = byte(octet)
			dots++
			octet, digits = 0, 0
		default:
			return slowAddr(b)
		}
	}
	if dots != 3 || digits == 0 {
		return slowAddr(b)
	}
	a[3] = byte(octet)
	return netip.AddrFrom4(a), true
}

func slowAddr(b []byte) (netip.Addr, bool) {
	if len(b) > 64 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseRangeAddr accepts an address or, for the u32 variant of the iptoasn
// files, a decimal IPv4 address.
func parseRangeAddr(b []byte) (netip.Addr, bool) {
	if len(b) > 0 && len(b) <= 10 && bytes.IndexByte(b, '.') < 0 && bytes.IndexByte(b, ':') < 0 {
		n, err := strconv.ParseUint(string(b), 10, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
	}
	return parseAddrBytes(b)
}

// u128 is an address as a 128-bit number, for splitting ranges into
// prefixes.
type u128 struct{ hi, lo uint64 }

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		v := a.As4()
		return u128{lo: uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])}
	}
	v := a.As16()
	var x u128
	for i := range 8 {
		x.hi = x.hi<<8 | uint64(v[i])
		x.lo = x.lo<<8 | uint64(v[8+i])
	}
	return x
}

func u128Addr(x u128, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var v [16]byte
	for i := range 8 {
		v[7-i] = byte(x.hi >> (8 * i))
		v[15-i] = byte(x.lo >> (8 * i))
	}
	return netip.AddrFrom16(v)
}

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func (x u128) add(y u128) (u128, bool) {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, c2 := bits.Add64(x.hi, y.hi, c)
	return u128{hi, lo}, c2 != 0
}

func (x u128) sub(y u128) u128 {
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, b)
	return u128{hi, lo}
}

func (x u128) trailingZeros() int {
	if x.lo != 0 {
		return bits.TrailingZeros64(x.lo)
	}
	if x.hi != 0 {
		return 64 + bits.TrailingZeros64(x.hi)
	}
	return 128
}

// pow2m1 returns 2^k - 1.
func pow2m1(k int) u128 {
	switch {
	case k == 0:
		return u128{}
	case k < 64:
		return u128{lo: 1<<k - 1}
	case k == 64:
		return u128{lo: ^uint64(0)}
	default:
		return u128{hi: 1<<(k-64) - 1, lo: ^uint64(0)}
	}
}

// rangePrefixes calls emit with the fewest prefixes that cover exactly the
// inclusive range start..end of one address family.
func rangePrefixes(start, end netip.Addr, emit func(netip.Prefix)) {
	is4 := start.Is4()
	width := start.BitLen()
	s, e := addrU128(start), addrU128(end)
	for !e.less(s) {
		k := min(s.trailingZeros(), width)
		span := e.sub(s) // addresses after s within the range
		for k > 0 && span.less(pow2m1(k)) {
			k--
		}
		emit(netip.PrefixFrom(u128Addr(s, is4), width-k))
		next, carry := s.add(pow2m1(k))
		if carry || next == e {
			return
		}
		s, carry = next.add(u128{lo: 1})
		if carry || (is4 && s.lo > 0xffffffff) {
			return
		}
	}
}

// Tables is an ordered set of offline tables consulted together.
type Tables []*Table

// Lookup answers ip from every table: the longest routed prefix wins; a
// "not routed" row counts only when no table knows a route.
func (ts Tables) Lookup(ip netip.Addr) (TableAnswer, bool) {
	var best, unrouted TableAnswer
	var haveBest, haveUnrouted bool
	for _, t := range ts {
		a, ok := t.Lookup(ip)
		if !ok {
			continue
		}
		if a.ASN == 0 {
			if !haveUnrouted {
				unrouted, haveUnrouted = a, true
			}
			continue
		}
		if !haveBest || a.Prefix.Bits() > best.Prefix.Bits() {
			best, haveBest = a, true
		}
	}
	if haveBest {
		return best, true
	}
	return unrouted, haveUnrouted
}

// LoadTables loads every path and returns them only when all loaded.
func LoadTables(paths []string) (Tables, error) {
	var ts Tables
	for _, p := range paths {
		t, err := LoadTable(p)
		if err != nil {
			for _, o := range ts {
				o.Close()
			}
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// PrefixesOf lists every prefix the table says asn originates (for
// blocking a whole AS). An mmdb cannot be enumerated by AS and adds none.
func (t *Table) PrefixesOf(asn uint32) []netip.Prefix {
	var out []netip.Prefix
	for p, i := range t.lpm.All() {
		r := t.recs[i]
		if r.asn == asn {
			out = append(out, p)
			continue
		}
		if r.multi > 0 {
			for _, a := range t.multi[r.multi-1] {
				if a == asn {
					out = append(out, p)
					break
				}
			}
		}
	}
	return out
}

// PrefixesOf lists the prefixes asn originates in any of the tables.
func (ts Tables) PrefixesOf(asn uint32) []netip.Prefix {
	var out []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, t := range ts {
		for _, p := range t.PrefixesOf(asn) {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
