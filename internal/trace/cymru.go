package trace

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/irtui/irtui/internal/sanitize"
)

// Bounds on what an answer may contribute. DNS answers come from whoever
// controls the zone or sits on the path, so nothing is taken at its word
// length.
const (
	maxTXTBytes    = 2048 // joined TXT strings of one record
	maxASNameRunes = 200
	maxOrigins     = 16 // ASNs kept from one multi-origin answer
	maxPTRBytes    = 255
	maxAbuse       = 8 // abuse addresses kept per address
	maxEmailBytes  = 254
)

// Zones queried. They are variables so tests can point them elsewhere.
var (
	cymruOrigin4 = "origin.asn.cymru.com."
	cymruOrigin6 = "origin6.asn.cymru.com."
	cymruASZone  = "asn.cymru.com."
	abusixZone   = "abuse-contacts.abusix.zone."
)

// registries Team Cymru names. Anything else is kept out of the answer
// rather than shown: an unknown registry is more likely a damaged or forged
// answer than a sixth RIR.
var registries = map[string]bool{
	"arin": true, "ripencc": true, "apnic": true, "lacnic": true, "afrinic": true, "other": true,
}

// Origin is one parsed answer of origin.asn.cymru.com: the announced prefix
// covering an address and the AS (or ASes) originating it.
type Origin struct {
	ASNs      []uint32     // origin ASes, the first is the one reported; empty when unrouted
	Prefix    netip.Prefix // the BGP prefix; invalid when unrouted
	Country   string       // ISO country code, "" when unknown
	Registry  string       // arin, ripencc, apnic, lacnic, afrinic, other; "" when unknown
	Allocated string       // allocation date as given (YYYY-MM-DD), "" when unknown
}

// ASInfo is one parsed answer of AS<n>.asn.cymru.com.
type ASInfo struct {
	ASN       uint32
	Name      string
	Country   string
	Registry  string
	Allocated string
}

// Errors of the Cymru parsers.
var (
	ErrEmptyAnswer = errors.New("empty answer")
	ErrUnrouted    = errors.New("address is not routed")
)

// reverseName returns the reversed-octet (IPv4) or reversed-nibble (IPv6)
// form of ip followed by zone, as origin.asn.cymru.com, ip6.arpa-style
// zones and abuse-contacts.abusix.zone expect.
func reverseName(ip netip.Addr, zone4, zone6 string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		b.Grow(16 + len(zone4))
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])))
			b.WriteByte('.')
		}
		b.WriteString(zone4)
		return b.String()
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	b.Grow(64 + len(zone6))
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString(zone6)
	return b.String()
}

// OriginQuery returns the Team Cymru origin query name for ip.
func OriginQuery(ip netip.Addr) string { return reverseName(ip, cymruOrigin4, cymruOrigin6) }

// ASQuery returns the Team Cymru AS description query name for asn.
func ASQuery(asn uint32) string {
	return "AS" + strconv.FormatUint(uint64(asn), 10) + "." + cymruASZone
}

// AbuseQuery returns the Abusix abuse-contacts query name for ip.
func AbuseQuery(ip netip.Addr) string { return reverseName(ip, abusixZone, abusixZone) }

// cymruFields cleans one TXT answer and splits it on '|' into at most n
// fields (n < 0: all). Quotes are stripped because some tools and fixtures
// keep the presentation form.
func cymruFields(txt string, n int) []string {
	txt = strings.TrimSpace(txt)
	if len(txt) >= 2 && txt[0] == '"' && txt[len(txt)-1] == '"' {
		txt = strings.TrimSpace(txt[1 : len(txt)-1])
	}
	if txt == "" {
		return nil
	}
	f := strings.SplitN(txt, "|", n)
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return f
}

// parseASNList parses "15169" or "13335 209242" (multi-origin). "NA" and
// empty mean unrouted.
func parseASNList(s string) ([]uint32, error) {
	if s == "" || strings.EqualFold(s, "NA") {
		return nil, nil
	}
	var out []uint32
	for _, w := range strings.Fields(s) {
		w = strings.TrimPrefix(strings.TrimPrefix(w, "AS"), "as")
		n, err := strconv.ParseUint(w, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad AS number %q", sanitize.Truncate(w, 20))
		}
		if len(out) < maxOrigins && !containsASN(out, uint32(n)) {
			out = append(out, uint32(n))
		}
	}
	return out, nil
}

func containsASN(l []uint32, n uint32) bool {
	for _, v := range l {
		if v == n {
			return true
		}
	}
	return false
}

func cleanCountry(s string) string {
	if len(s) != 2 || !isAlpha(s[0]) || !isAlpha(s[1]) {
		return ""
	}
	return strings.ToUpper(s)
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func cleanRegistry(s string) string {
	s = strings.ToLower(s)
	if registries[s] {
		return s
	}
	return ""
}

// cleanDate keeps YYYY-MM-DD (or a prefix of it such as a year) and
// nothing else.
func cleanDate(s string) string {
	if len(s) < 4 || len(s) > 10 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '-' {
			return ""
		}
	}
	return s
}

// ParseOrigin parses one origin.asn.cymru.com TXT answer,
// "15169 | 74.125.225.0/24 | US | arin | 2007-03-13". Multi-origin answers
// ("13335 209242 | ...") keep every AS, first one reported. An unrouted
// answer ("NA | ...") returns ErrUnrouted. Unknown registries and malformed
// countries or dates are dropped (unknown), never guessed.
func ParseOrigin(txt string) (Origin, error) {
	var o Origin
	if len(txt) > maxTXTBytes {
		return o, errors.New("answer too long")
	}
	f := cymruFields(txt, -1)
	if len(f) == 0 {
		return o, ErrEmptyAnswer
	}
	if len(f) < 2 {
		return o, fmt.Errorf("want at least 2 fields (ASN | prefix), got %d", len(f))
	}
	asns, err := parseASNList(f[0])
	if err != nil {
		return o, err
	}
	if len(asns) == 0 || strings.EqualFold(f[1], "NA") {
		return o, ErrUnrouted
	}
	p, err := netip.ParsePrefix(f[1])
	if err != nil {
		return o, fmt.Errorf("bad prefix %q", sanitize.Truncate(f[1], 50))
	}
	o.ASNs = asns
	o.Prefix = p.Masked()
	if len(f) > 2 {
		o.Country = cleanCountry(f[2])
	}
	if len(f) > 3 {
		o.Registry = cleanRegistry(f[3])
	}
	if len(f) > 4 {
		o.Allocated = cleanDate(f[4])
	}
	return o, nil
}

// ParseASInfo parses one AS<n>.asn.cymru.com TXT answer,
// "15169 | US | arin | 2007-03-13 | GOOGLE - Google Inc., US". The name may
// itself contain '|'; everything after the fourth separator is the name.
// The name is sanitized and bounded.
func ParseASInfo(txt string) (ASInfo, error) {
	var a ASInfo
	if len(txt) > maxTXTBytes {
		return a, errors.New("answer too long")
	}
	f := cymruFields(txt, 5)
	if len(f) == 0 {
		return a, ErrEmptyAnswer
	}
	if len(f) < 5 {
		return a, fmt.Errorf("want 5 fields (ASN | CC | registry | allocated | name), got %d", len(f))
	}
	asns, err := parseASNList(f[0])
	if err != nil {
		return a, err
	}
	if len(asns) == 0 {
		return a, ErrUnrouted
	}
	a.ASN = asns[0]
	a.Country = cleanCountry(f[1])
	a.Registry = cleanRegistry(f[2])
	a.Allocated = cleanDate(f[3])
	a.Name = cleanName(f[4])
	return a, nil
}

// cleanName makes an AS or host name from an answer safe to show: no
// control characters, bounded length, no surrounding space.
func cleanName(s string) string {
	return strings.TrimSpace(sanitize.Truncate(strings.TrimSpace(s), maxASNameRunes))
}

// pickOrigin chooses among several origin answers (an address covered by
// more than one announced prefix) the most specific prefix.
func pickOrigin(txts []string) (Origin, error) {
	var best Origin
	var firstErr error
	found := false
	for _, t := range txts {
		o, err := ParseOrigin(t)
		if err != nil {
			if firstErr == nil || errors.Is(firstErr, ErrEmptyAnswer) {
				firstErr = err
			}
			continue
		}
		if !found || o.Prefix.Bits() > best.Prefix.Bits() {
			best, found = o, true
		}
	}
	if found {
		return best, nil
	}
	if firstErr == nil {
		firstErr = ErrEmptyAnswer
	}
	return best, firstErr
}

// ParseAbuse splits an abuse-contacts TXT answer (strings already joined)
// into e-mail addresses. Anything that is not plausibly an address (the
// zone's "Abusix ContactDB Test point", junk, escape sequences) is dropped.
func ParseAbuse(txt string) []string {
	if len(txt) > maxTXTBytes {
		txt = txt[:maxTXTBytes]
	}
	var out []string
	for _, part := range strings.Split(txt, ",") {
		part = strings.Trim(strings.TrimSpace(part), "\"")
		part = strings.TrimPrefix(part, "mailto:")
		if !plausibleEmail(part) {
			continue
		}
		part = strings.ToLower(part)
		dup := false
		for _, o := range out {
			if o == part {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, part)
		}
		if len(out) == maxAbuse {
			break
		}
	}
	return out
}

// plausibleEmail accepts local@domain built from printable ASCII without
// spaces, quotes or brackets: enough for an abuse desk, strict enough that
// nothing odd reaches a report.
func plausibleEmail(s string) bool {
	if len(s) < 3 || len(s) > maxEmailBytes {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'<>()[]\\,;:`|", c) >= 0 {
			return false
		}
	}
	dom := s[at+1:]
	return !strings.HasPrefix(dom, ".") && !strings.HasSuffix(dom, ".") && !strings.Contains(dom, "..")
}
