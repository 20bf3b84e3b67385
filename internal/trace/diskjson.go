package trace

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// The disk cache is read when a command starts and written when it ends,
// both on the path of every `irtui report`, and it holds up to 200,000
// entries per kind. encoding/json spends most of that time in reflection,
// so the file irtui writes is read and written here by hand, in the same
// JSON: appendDiskCache writes what json.Encoder would, and
// decodeDiskCache reads only that plain form (known keys, no escapes, no
// bytes outside printable ASCII) and gives up on anything else, which
// then goes to encoding/json as before. FuzzDecodeDiskCache holds the
// reader to encoding/json's answer.

// decodeDiskCache reads data as the JSON of a diskCache, like
// json.Decoder.Decode (one value; anything after it is not read). ok is
// false when data is not in the plain form; the caller then decodes it
// with encoding/json.
func decodeDiskCache(data []byte) (d diskCache, ok bool) {
	r := diskReader{b: data}
	seen := 0
	if !r.objectStart() {
		return d, false
	}
	for more := !r.objectEnd(); more; more = r.next() {
		key, ok := r.key()
		bit := 0
		switch string(key) {
		case "version":
			bit = 1
			d.Version, ok = r.int()
		case "origins":
			bit = 2
			// Sized for the usual file, nearly all origins of ~90 bytes.
			d.Origins, ok = diskArrayCap(&r, (*diskReader).origin, min(len(data)/96, maxCacheEntries))
		case "as":
			bit = 4
			d.AS, ok = diskArray(&r, (*diskReader).as)
		case "ptr":
			bit = 8
			d.PTR, ok = diskArray(&r, (*diskReader).ptr)
		case "abuse":
			bit = 16
			d.Abuse, ok = diskArray(&r, (*diskReader).abuse)
		}
		if !r.accept(&seen, bit, ok) {
			return d, false
		}
	}
	return d, r.err == nil
}

// diskReader scans the plain JSON form; err records the first thing it
// did not expect, after which every method fails.
type diskReader struct {
	b   []byte
	i   int
	err error
}

var errNotPlain = errors.New("not the plain form")

func (r *diskReader) fail() bool {
	r.err = errNotPlain
	return false
}

func (r *diskReader) space() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// eat consumes c, after blanks.
func (r *diskReader) eat(c byte) bool {
	if r.err != nil {
		return false
	}
	r.space()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *diskReader) objectStart() bool {
	return r.eat('{') || r.fail()
}

// objectEnd consumes the '}' of an empty object.
func (r *diskReader) objectEnd() bool { return r.eat('}') }

// next consumes the ',' before another member (true) or the closing '}'.
func (r *diskReader) next() bool {
	if r.eat(',') {
		return true
	}
	if !r.eat('}') {
		r.fail()
	}
	return false
}

// literal consumes one of null, true, false.
func (r *diskReader) literal(word string) bool {
	if r.err != nil {
		return false
	}
	r.space()
	if len(r.b)-r.i >= len(word) && string(r.b[r.i:r.i+len(word)]) == word {
		r.i += len(word)
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (r *diskReader) str() (string, bool) {
	b, ok := r.quoted()
	return string(b), ok
}

// quoted is str without the copy: the bytes inside the quotes.
func (r *diskReader) quoted() ([]byte, bool) {
	if !r.eat('"') {
		return nil, r.fail()
	}
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return r.b[start : r.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, r.fail()
		}
		r.i++
	}
	return nil, r.fail()
}

func (r *diskReader) key() ([]byte, bool) {
	k, ok := r.quoted()
	if !ok || !r.eat(':') {
		return nil, r.fail()
	}
	return k, true
}

// uint reads digits without a sign, exponent or leading zero.
func (r *diskReader) uint(bits int) (uint64, bool) {
	if r.err != nil {
		return 0, false
	}
	r.space()
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	digits := r.b[start:r.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, r.fail()
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			return 0, r.fail()
		}
	}
	v, err := strconv.ParseUint(string(digits), 10, bits)
	if err != nil {
		return 0, r.fail()
	}
	return v, true
}

func (r *diskReader) int() (int, bool) {
	v, ok := r.uint(31)
	return int(v), ok
}

func (r *diskReader) bool() (bool, bool) {
	switch {
	case r.literal("true"):
		return true, true
	case r.literal("false"):
		return false, true
	}
	return false, r.fail()
}

func (r *diskReader) when() (time.Time, bool) {
	s, ok := r.quoted()
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	if t.UnmarshalText(s) != nil {
		return t, r.fail()
	}
	return t, true
}

func (r *diskReader) prefix() (netip.Prefix, bool) {
	s, ok := r.quoted()
	if !ok {
		return netip.Prefix{}, false
	}
	var p netip.Prefix
	if p.UnmarshalText(s) != nil {
		return p, r.fail()
	}
	return p, true
}

func (r *diskReader) addr() (netip.Addr, bool) {
	s, ok := r.quoted()
	if !ok {
		return netip.Addr{}, false
	}
	var a netip.Addr
	if a.UnmarshalText(s) != nil {
		return a, r.fail()
	}
	return a, true
}

// diskArray reads null (nil) or an array of elements read by elem.
func diskArray[T any](r *diskReader, elem func(*diskReader) (T, bool)) ([]T, bool) {
	return diskArrayCap(r, elem, 0)
}

// diskArrayCap is diskArray with room for n elements made at once.
func diskArrayCap[T any](r *diskReader, elem func(*diskReader) (T, bool), n int) ([]T, bool) {
	if r.literal("null") {
		return nil, true
	}
	if !r.eat('[') {
		return nil, r.fail()
	}
	out := make([]T, 0, n)
	if r.eat(']') {
		return out, true
	}
	for {
		v, ok := elem(r)
		if !ok {
			return nil, r.fail()
		}
		out = append(out, v)
		if r.eat(',') {
			continue
		}
		if r.eat(']') {
			return out, true
		}
		return nil, r.fail()
	}
}

func (r *diskReader) asn() (uint32, bool) {
	v, ok := r.uint(32)
	return uint32(v), ok
}

// Each element decoder reads an object member by member; a key it does
// not know, or one given twice, ends the plain form. accept records a
// member read with ok under bit.
func (r *diskReader) accept(seen *int, bit int, ok bool) bool {
	if !ok || bit == 0 || *seen&bit != 0 {
		return r.fail()
	}
	*seen |= bit
	return true
}

func (r *diskReader) origin() (o diskOrigin, ok bool) {
	seen := 0
	if !r.objectStart() {
		return o, false
	}
	for more := !r.objectEnd(); more; more = r.next() {
		key, ok := r.key()
		bit := 0
		switch string(key) {
		case "prefix":
			bit = 1
			o.Prefix, ok = r.prefix()
		case "asns":
			bit = 2
			o.ASNs, ok = diskArray(r, (*diskReader).asn)
		case "cc":
			bit = 4
			o.Country, ok = r.str()
		case "registry":
			bit = 8
			o.Registry, ok = r.str()
		case "allocated":
			bit = 16
			o.Allocated, ok = r.str()
		case "negative":
			bit = 32
			o.Negative, ok = r.bool()
		case "expires":
			bit = 64
			o.Expires, ok = r.when()
		}
		if !r.accept(&seen, bit, ok) {
			return o, false
		}
	}
	return o, r.err == nil
}

func (r *diskReader) as() (a diskAS, ok bool) {
	seen := 0
	if !r.objectStart() {
		return a, false
	}
	for more := !r.objectEnd(); more; more = r.next() {
		key, ok := r.key()
		bit := 0
		switch string(key) {
		case "asn":
			bit = 1
			a.ASN, ok = r.asn()
		case "name":
			bit = 2
			a.Name, ok = r.str()
		case "cc":
			bit = 4
			a.Country, ok = r.str()
		case "registry":
			bit = 8
			a.Registry, ok = r.str()
		case "allocated":
			bit = 16
			a.Allocated, ok = r.str()
		case "negative":
			bit = 32
			a.Negative, ok = r.bool()
		case "expires":
			bit = 64
			a.Expires, ok = r.when()
		}
		if !r.accept(&seen, bit, ok) {
			return a, false
		}
	}
	return a, r.err == nil
}

func (r *diskReader) ptr() (p diskPTR, ok bool) {
	seen := 0
	if !r.objectStart() {
		return p, false
	}
	for more := !r.objectEnd(); more; more = r.next() {
		key, ok := r.key()
		bit := 0
		switch string(key) {
		case "ip":
			bit = 1
			p.IP, ok = r.addr()
		case "name":
			bit = 2
			p.Name, ok = r.str()
		case "checked":
			bit = 4
			p.Checked, ok = r.bool()
		case "confirmed":
			bit = 8
			p.Confirmed, ok = r.bool()
		case "expires":
			bit = 16
			p.Expires, ok = r.when()
		}
		if !r.accept(&seen, bit, ok) {
			return p, false
		}
	}
	return p, r.err == nil
}

func (r *diskReader) abuse() (a diskAbuse, ok bool) {
	seen := 0
	if !r.objectStart() {
		return a, false
	}
	for more := !r.objectEnd(); more; more = r.next() {
		key, ok := r.key()
		bit := 0
		switch string(key) {
		case "ip":
			bit = 1
			a.IP, ok = r.addr()
		case "contacts":
			bit = 2
			a.Contacts, ok = diskArray(r, (*diskReader).str)
		case "expires":
			bit = 4
			a.Expires, ok = r.when()
		}
		if !r.accept(&seen, bit, ok) {
			return a, false
		}
	}
	return a, r.err == nil
}

// appendDiskCache appends d as json.Encoder.Encode writes it (compact,
// fields in declaration order, empty optional fields left out, a final
// newline).
func appendDiskCache(b []byte, d *diskCache) ([]byte, error) {
	w := diskWriter{b: b}
	w.raw(`{"version":`)
	w.b = strconv.AppendInt(w.b, int64(d.Version), 10)
	w.raw(`,"origins":`)
	diskList(&w, d.Origins, func(o *diskOrigin) {
		w.raw(`{"prefix":`)
		w.text(o.Prefix)
		if len(o.ASNs) > 0 {
			w.raw(`,"asns":[`)
			for i, n := range o.ASNs {
				if i > 0 {
					w.raw(",")
				}
				w.b = strconv.AppendUint(w.b, uint64(n), 10)
			}
			w.raw("]")
		}
		w.field("cc", o.Country)
		w.field("registry", o.Registry)
		w.field("allocated", o.Allocated)
		w.flag("negative", o.Negative)
		w.expires(o.Expires)
	})
	w.raw(`,"as":`)
	diskList(&w, d.AS, func(a *diskAS) {
		w.raw(`{"asn":`)
		w.b = strconv.AppendUint(w.b, uint64(a.ASN), 10)
		w.field("name", a.Name)
		w.field("cc", a.Country)
		w.field("registry", a.Registry)
		w.field("allocated", a.Allocated)
		w.flag("negative", a.Negative)
		w.expires(a.Expires)
	})
	w.raw(`,"ptr":`)
	diskList(&w, d.PTR, func(p *diskPTR) {
		w.raw(`{"ip":`)
		w.text(p.IP)
		w.field("name", p.Name)
		w.flag("checked", p.Checked)
		w.flag("confirmed", p.Confirmed)
		w.expires(p.Expires)
	})
	w.raw(`,"abuse":`)
	diskList(&w, d.Abuse, func(a *diskAbuse) {
		w.raw(`{"ip":`)
		w.text(a.IP)
		w.raw(`,"contacts":`)
		if a.Contacts == nil {
			w.raw("null")
		} else {
			w.raw("[")
			for i, c := range a.Contacts {
				if i > 0 {
					w.raw(",")
				}
				w.str(c)
			}
			w.raw("]")
		}
		w.expires(a.Expires)
	})
	w.raw("}\n")
	return w.b, w.err
}

type diskWriter struct {
	b   []byte
	err error
}

func (w *diskWriter) raw(s string) { w.b = append(w.b, s...) }

// str writes s quoted; strings that are not plain printable ASCII, or
// that encoding/json escapes (<, >, &), are left to encoding/json.
func (w *diskWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil && w.err == nil {
				w.err = err
			}
			w.b = append(w.b, q...)
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

func (w *diskWriter) field(key, v string) {
	if v == "" {
		return
	}
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, key...)
	w.b = append(w.b, '"', ':')
	w.str(v)
}

func (w *diskWriter) flag(key string, v bool) {
	if v {
		w.b = append(w.b, ',', '"')
		w.b = append(w.b, key...)
		w.b = append(w.b, `":true`...)
	}
}

// text writes a netip value as its quoted text form (always plain).
func (w *diskWriter) text(v interface{ AppendText([]byte) ([]byte, error) }) {
	w.b = append(w.b, '"')
	var err error
	w.b, err = v.AppendText(w.b)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.b = append(w.b, '"')
}

// expires writes the last member and closes the object.
func (w *diskWriter) expires(t time.Time) {
	w.raw(`,"expires":"`)
	var err error
	w.b, err = t.AppendText(w.b)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.raw(`"}`)
}

func diskList[T any](w *diskWriter, list []T, elem func(*T)) {
	if list == nil {
		w.raw("null")
		return
	}
	w.raw("[")
	for i := range list {
		if i > 0 {
			w.raw(",")
		}
		elem(&list[i])
	}
	w.raw("]")
}
