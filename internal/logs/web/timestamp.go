package web

import (
	"strings"
	"time"
)

// Timestamps are parsed by hand: time.Parse is several times slower and the
// layouts here are fixed. Every function returns the UTC time.

func digit(c byte) bool { return c >= '0' && c <= '9' }

// num parses s[i:i+n] as decimal digits.
func num(s string, i, n int) (int, bool) {
	if i < 0 || i+n > len(s) {
		return 0, false
	}
	v := 0
	for k := i; k < i+n; k++ {
		c := s[k]
		if !digit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// month parses a three-letter English month name, any case.
func month(s string, i int) (time.Month, bool) {
	if i < 0 || i+3 > len(s) {
		return 0, false
	}
	a, b, c := s[i]|0x20, s[i+1]|0x20, s[i+2]|0x20
	switch {
	case a == 'j' && b == 'a' && c == 'n':
		return time.January, true
	case a == 'f' && b == 'e' && c == 'b':
		return time.February, true
	case a == 'm' && b == 'a' && c == 'r':
		return time.March, true
	case a == 'a' && b == 'p' && c == 'r':
		return time.April, true
	case a == 'm' && b == 'a' && c == 'y':
		return time.May, true
	case a == 'j' && b == 'u' && c == 'n':
		return time.June, true
	case a == 'j' && b == 'u' && c == 'l':
		return time.July, true
	case a == 'a' && b == 'u' && c == 'g':
		return time.August, true
	case a == 's' && b == 'e' && c == 'p':
		return time.September, true
	case a == 'o' && b == 'c' && c == 't':
		return time.October, true
	case a == 'n' && b == 'o' && c == 'v':
		return time.November, true
	case a == 'd' && b == 'e' && c == 'c':
		return time.December, true
	}
	return 0, false
}

// fraction parses ".ddd…" at s[i:], returning nanoseconds and the index
// after it; without a fraction it returns (0, i).
func fraction(s string, i int) (int, int) {
	if i >= len(s) || (s[i] != '.' && s[i] != ',') {
		return 0, i
	}
	i++
	ns, scale := 0, 100000000
	for i < len(s) && digit(s[i]) {
		ns += int(s[i]-'0') * scale
		scale /= 10
		i++
	}
	return ns, i
}

// offset parses "+hhmm", "-hh:mm" or "Z" at s[i:], returning the offset in
// seconds east of UTC and the index after it.
func offset(s string, i int) (int, int, bool) {
	if i < len(s) && s[i] == 'Z' {
		return 0, i + 1, true
	}
	if i >= len(s) || (s[i] != '+' && s[i] != '-') {
		return 0, i, false
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	h, ok := num(s, i+1, 2)
	if !ok {
		return 0, i, false
	}
	j := i + 3
	if j < len(s) && s[j] == ':' {
		j++
	}
	m, ok := num(s, j, 2)
	if !ok || h > 23 || m > 59 {
		return 0, i, false
	}
	return sign * (h*3600 + m*60), j + 2, true
}

// validClock checks ranges time.Date would otherwise silently normalise.
func validClock(d, hh, mm, ss int) bool {
	return d >= 1 && d <= 31 && hh <= 23 && mm <= 59 && ss <= 60
}

// at builds the UTC time of a wall clock at a fixed offset, or in loc when
// the line gave none.
func at(y int, mo time.Month, d, hh, mm, ss, ns int, off int, hasOff bool, loc *time.Location) time.Time {
	if hasOff {
		return time.Date(y, mo, d, hh, mm, ss, ns, time.UTC).Add(-time.Duration(off) * time.Second)
	}
	return time.Date(y, mo, d, hh, mm, ss, ns, loc).UTC()
}

// clfCache remembers the last access-log timestamp: a busy log repeats the
// same second many times, and comparing up to 32 bytes is cheaper than
// parsing them.
type clfCache struct {
	key [32]byte
	n   int
	t   time.Time
}

// clfTime parses the inside of a common-log-format timestamp,
// "10/Oct/2000:13:55:36 -0700]", at s[i:] (just after the '['). The offset
// and the fraction are optional; blanks before ']' are allowed. It returns
// the index after the ']'.
func (c *clfCache) clfTime(s string, i int, loc *time.Location) (time.Time, int, bool) {
	// The cached text holds no ']': if it is followed by one here, that is
	// the first ']', the one the scan below would find.
	if n := c.n; n > 0 && i+n < len(s) && s[i+n] == ']' && s[i:i+n] == string(c.key[:n]) {
		return c.t, i + n + 1, true
	}
	end := -1
	for j := i; j < len(s) && j < i+40; j++ {
		if s[j] == ']' {
			end = j
			break
		}
	}
	if end < 0 {
		return time.Time{}, 0, false
	}
	text := s[i:end]
	if c.n == len(text) && c.n > 0 && string(c.key[:c.n]) == text {
		return c.t, end + 1, true
	}
	t, ok := parseCLF(text, loc)
	if !ok {
		return time.Time{}, 0, false
	}
	if len(text) <= len(c.key) {
		c.n = copy(c.key[:], text)
		c.t = t
	}
	return t, end + 1, true
}

// parseCLF parses "10/Oct/2000:13:55:36 -0700" with optional fraction and
// offset; s holds nothing else but trailing blanks.
func parseCLF(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return time.Time{}, false
	}
	d, ok1 := num(s, 0, 2)
	mo, ok2 := month(s, 3)
	y, ok3 := num(s, 7, 4)
	hh, ok4 := num(s, 12, 2)
	mm, ok5 := num(s, 15, 2)
	ss, ok6 := num(s, 18, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || !validClock(d, hh, mm, ss) {
		return time.Time{}, false
	}
	ns, i := fraction(s, 20)
	for i < len(s) && s[i] == ' ' {
		i++
	}
	off, j, hasOff := offset(s, i)
	if hasOff {
		i = j
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i != len(s) {
		return time.Time{}, false
	}
	return at(y, mo, d, hh, mm, ss, ns, off, hasOff, loc), true
}

// apacheErrorTime parses "Sun Sep 14 21:44:43.008606 2014" at s[i:] (the
// Apache error-log clock, local time without offset) and returns the index
// after it.
func apacheErrorTime(s string, i int, loc *time.Location) (time.Time, int, bool) {
	// Www Mmm dd hh:mm:ss[.ffffff] yyyy
	if i+24 > len(s) || s[i+3] != ' ' || s[i+7] != ' ' || s[i+10] != ' ' || s[i+13] != ':' || s[i+16] != ':' {
		return time.Time{}, 0, false
	}
	mo, ok1 := month(s, i+4)
	d, ok2 := num(s, i+8, 2)
	if !ok2 && s[i+8] == ' ' { // space-padded day
		d, ok2 = num(s, i+9, 1)
	}
	hh, ok3 := num(s, i+11, 2)
	mm, ok4 := num(s, i+14, 2)
	ss, ok5 := num(s, i+17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || !validClock(d, hh, mm, ss) {
		return time.Time{}, 0, false
	}
	ns, j := fraction(s, i+19)
	if j >= len(s) || s[j] != ' ' {
		return time.Time{}, 0, false
	}
	y, ok := num(s, j+1, 4)
	if !ok {
		return time.Time{}, 0, false
	}
	return at(y, mo, d, hh, mm, ss, ns, 0, false, loc), j + 5, true
}

// nginxErrorTime parses "2024/01/02 03:04:05" at s[i:].
func nginxErrorTime(s string, i int, loc *time.Location) (time.Time, bool) {
	if !nginxTimeAt(s, i) {
		return time.Time{}, false
	}
	y, _ := num(s, i, 4)
	mo, _ := num(s, i+5, 2)
	d, _ := num(s, i+8, 2)
	hh, _ := num(s, i+11, 2)
	mm, _ := num(s, i+14, 2)
	ss, _ := num(s, i+17, 2)
	if mo < 1 || mo > 12 || !validClock(d, hh, mm, ss) {
		return time.Time{}, false
	}
	return at(y, time.Month(mo), d, hh, mm, ss, 0, 0, false, loc), true
}

// nginxTimeAt reports whether "dddd/dd/dd dd:dd:dd" starts at s[i:].
func nginxTimeAt(s string, i int) bool {
	if i < 0 || i+19 > len(s) {
		return false
	}
	const pat = "dddd/dd/dd dd:dd:dd"
	for k := 0; k < len(pat); k++ {
		c := s[i+k]
		if pat[k] == 'd' {
			if !digit(c) {
				return false
			}
		} else if c != pat[k] {
			return false
		}
	}
	return true
}

// syslogHeader recognises the header a syslog daemon puts before a
// program's message — "Feb 15 16:23:40 host prog[pid]: " (RFC 3164) or
// "2024-01-02T03:04:05.123+01:00 host prog: " (RFC 3339) — and returns the
// time and the index of the message. RFC 3164 carries no year: it is the
// year that puts the time nearest before now.
func syslogHeader(s string, loc *time.Location, now func() time.Time) (time.Time, int, bool) {
	var t time.Time
	var i int
	switch {
	case len(s) >= 16 && s[3] == ' ' && s[9] == ':' && s[12] == ':' && s[15] == ' ':
		mo, ok1 := month(s, 0)
		d, ok2 := num(s, 4, 2)
		if !ok2 && s[4] == ' ' {
			d, ok2 = num(s, 5, 1)
		}
		hh, ok3 := num(s, 7, 2)
		mm, ok4 := num(s, 10, 2)
		ss, ok5 := num(s, 13, 2)
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || !validClock(d, hh, mm, ss) {
			return time.Time{}, 0, false
		}
		ref := now()
		t = at(ref.Year(), mo, d, hh, mm, ss, 0, 0, false, loc)
		if t.After(ref.Add(24 * time.Hour)) {
			t = at(ref.Year()-1, mo, d, hh, mm, ss, 0, 0, false, loc)
		}
		i = 16
	case len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':':
		y, ok1 := num(s, 0, 4)
		mo, ok2 := num(s, 5, 2)
		d, ok3 := num(s, 8, 2)
		hh, ok4 := num(s, 11, 2)
		mm, ok5 := num(s, 14, 2)
		ss, ok6 := num(s, 17, 2)
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || !validClock(d, hh, mm, ss) {
			return time.Time{}, 0, false
		}
		ns, j := fraction(s, 19)
		off, k, hasOff := offset(s, j)
		if hasOff {
			j = k
		}
		if j >= len(s) || s[j] != ' ' {
			return time.Time{}, 0, false
		}
		t = at(y, time.Month(mo), d, hh, mm, ss, ns, off, hasOff, loc)
		i = j + 1
	default:
		return time.Time{}, 0, false
	}
	// host, then a tag ending in ':' ("prog[pid]:", "prog:").
	sp := indexByteFrom(s, ' ', i)
	if sp < 0 {
		return time.Time{}, 0, false
	}
	tagEnd := -1
	for j := sp + 1; j < len(s) && j < sp+1+64; j++ {
		if s[j] == ' ' {
			break
		}
		if s[j] == ':' && (j+1 == len(s) || s[j+1] == ' ') {
			tagEnd = j
			break
		}
	}
	if tagEnd < 0 {
		return time.Time{}, 0, false
	}
	i = tagEnd + 1
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return t, i, true
}

// indexByteFrom is strings.IndexByte from position i, as an absolute index.
func indexByteFrom(s string, c byte, i int) int {
	if i >= len(s) {
		return -1
	}
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}
