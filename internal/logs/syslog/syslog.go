// Package syslog reads the headers that syslog daemons and journald put in
// front of a program's message: RFC 3164, RFC 3339, RFC 5424 and
// journalctl's short-iso.
//
// The parser slices the line it is given: Host, Program, PID and Message
// point into it, so reading a header allocates nothing.
package syslog

import (
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// Header is what a syslog header says about the message that follows it.
type Header struct {
	Time    time.Time // UTC
	Host    string    // "" when the header names none
	Program string    // the tag without its pid: "postfix/smtpd", "sm-mta"
	PID     string    // digits, "" when absent
	Message string    // the program's own text, after "prog[pid]: "
}

// Reasons a line is not a syslog line, shared with callers that count them.
var (
	ErrNoHeader  = logs.Malformed("no syslog header")
	ErrTimestamp = logs.Malformed("bad syslog timestamp")
	ErrNoHost    = logs.Malformed("no host or program after the timestamp")
)

// futureSlack is how far ahead of now a yearless timestamp may lie before
// it is taken to belong to the previous year: enough for a log written in a
// zone ahead of ours, short enough that last December read in January is
// not mistaken for the coming one.
const futureSlack = 3 * 24 * time.Hour

// Parser reads syslog headers. It keeps the year it last inferred for RFC
// 3164 timestamps, so a file that crosses New Year keeps counting forward;
// use one Parser per source.
type Parser struct {
	now func() time.Time
	loc *time.Location

	refYear  int
	refMonth time.Month
	nowSeen  time.Time // the latest now() asked; refreshed only when a line looks future
}

// New returns a Parser. Options.Now gives the reference time for years
// (time.Now when nil), Options.Location the zone of timestamps that carry no
// offset (time.Local when nil).
func New(opts logs.Options) *Parser {
	p := &Parser{now: opts.Now, loc: opts.Location}
	if p.now == nil {
		p.now = time.Now
	}
	if p.loc == nil {
		p.loc = time.Local
	}
	return p
}

// Location is the zone used for timestamps without an offset.
func (p *Parser) Location() *time.Location { return p.loc }

// Now returns the parser's reference time.
func (p *Parser) Now() time.Time { return p.now() }

// Parse reads the header of line into h. It accepts, after an optional
// "<PRI>": RFC 3164 ("Jan  2 03:04:05", optionally with a year), RFC 3339
// and ISO forms ("2023-06-01T10:11:12.123456+02:00", "+0200", "Z", a space
// instead of "T", no offset), and RFC 5424 ("<34>1 2003-10-11T22:14:15Z host
// app procid msgid [sd] msg"). After the time come the host (optional), an
// optional "<facility.level>" or "facility.level" token and the tag:
// "prog[pid]:", "prog:" or "[prog]".
func (p *Parser) Parse(line string, h *Header) error {
	*h = Header{}
	s := line
	if len(s) > 0 && s[0] == '<' {
		j := 1
		for j < len(s) && j < 5 && isDigit(s[j]) {
			j++
		}
		if j > 1 && j < len(s) && s[j] == '>' {
			s = s[j+1:]
			if len(s) >= 2 && s[0] >= '1' && s[0] <= '9' && s[1] == ' ' {
				return p.parse5424(s[2:], h)
			}
		}
	}
	var n int
	var ok bool
	switch {
	case len(s) >= 14 && isUpper(s[0]) && s[3] == ' ':
		h.Time, n, ok = p.parse3164(s)
	case len(s) >= 19 && isDigit(s[0]) && s[4] == '-':
		h.Time, n, ok = ParseISO(s, p.loc)
	default:
		return ErrNoHeader
	}
	if !ok {
		return ErrTimestamp
	}
	if n >= len(s) || s[n] != ' ' {
		return ErrNoHost
	}
	return hostTag(s[n:], h)
}

// hostTag reads "host tag: message", "tag: message", "[prog] message" or
// "host message" (no tag) from rest, which starts with spaces.
func hostTag(rest string, h *Header) error {
	rest = skipSpaces(rest)
	rest = skipPriorityName(rest)
	tok, after := token(rest)
	if tok == "" {
		return ErrNoHost
	}
	if prog, ok := bracketProgram(tok); ok {
		h.Program = prog
		h.Message = skipOneSpace(after)
		return nil
	}
	if isTag(tok) {
		setTag(tok, h)
		h.Message = skipOneSpace(after)
		return nil
	}
	h.Host = tok
	rest = skipSpaces(after)
	rest = skipPriorityName(rest)
	tok2, after2 := token(rest)
	if isTag(tok2) {
		setTag(tok2, h)
		h.Message = skipOneSpace(after2)
		return nil
	}
	if prog, ok := bracketProgram(tok2); ok {
		h.Program = prog
		h.Message = skipOneSpace(after2)
		return nil
	}
	// "host auth.info sshd[1]: ..." carries the facility and level as a word.
	if isFacilityLevel(tok2) {
		tok3, after3 := token(skipSpaces(after2))
		if isTag(tok3) {
			setTag(tok3, h)
			h.Message = skipOneSpace(after3)
			return nil
		}
	}
	// No tag: the message follows the host.
	h.Message = rest
	return nil
}

// skipPriorityName drops a "<mail.notice>" token some daemons print.
func skipPriorityName(s string) string {
	if len(s) < 3 || s[0] != '<' {
		return s
	}
	for i := 1; i < len(s) && i < 32; i++ {
		c := s[i]
		if c == '>' {
			if i+1 < len(s) && s[i+1] == ' ' && i > 1 {
				return skipSpaces(s[i+1:])
			}
			return s
		}
		if !(isLower(c) || c == '.' || isDigit(c)) {
			return s
		}
	}
	return s
}

func isFacilityLevel(tok string) bool {
	dot := false
	if len(tok) < 3 || len(tok) > 24 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case isLower(c) || isDigit(c):
		case c == '.' && i > 0 && i < len(tok)-1:
			dot = true
		default:
			return false
		}
	}
	return dot
}

// bracketProgram reads "[exim]" as a program name.
func bracketProgram(tok string) (string, bool) {
	if len(tok) < 3 || tok[0] != '[' || tok[len(tok)-1] != ']' {
		return "", false
	}
	name := tok[1 : len(tok)-1]
	for i := 0; i < len(name); i++ {
		if !isTagChar(name[i]) {
			return "", false
		}
	}
	return name, true
}

// isTag reports whether tok is "prog:" or "prog[pid]:".
func isTag(tok string) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	t := tok[:len(tok)-1]
	if t[len(t)-1] == ']' {
		open := -1
		for i := len(t) - 2; i >= 0; i-- {
			if t[i] == '[' {
				open = i
				break
			}
			if !isDigit(t[i]) {
				return false
			}
		}
		if open <= 0 {
			return false
		}
		t = t[:open]
	}
	for i := 0; i < len(t); i++ {
		if !isTagChar(t[i]) {
			return false
		}
	}
	return true
}

func setTag(tok string, h *Header) {
	t := tok[:len(tok)-1]
	if t[len(t)-1] == ']' {
		for i := len(t) - 2; i >= 0; i-- {
			if t[i] == '[' {
				h.Program = t[:i]
				h.PID = t[i+1 : len(t)-1]
				return
			}
		}
	}
	h.Program = t
}

func isTagChar(c byte) bool {
	return c > ' ' && c < 0x7f && c != '[' && c != ']' && c != ':'
}

// parse5424 reads what follows "<PRI>1 ".
func (p *Parser) parse5424(s string, h *Header) error {
	ts, rest := token(s)
	if ts == "" {
		return ErrTimestamp
	}
	if ts == "-" {
		h.Time = p.now().UTC()
	} else {
		t, n, ok := ParseISO(ts, p.loc)
		if !ok || n != len(ts) {
			return ErrTimestamp
		}
		h.Time = t
	}
	var host, app, procid, msgid string
	host, rest = token(skipOneSpace(rest))
	app, rest = token(skipOneSpace(rest))
	procid, rest = token(skipOneSpace(rest))
	msgid, rest = token(skipOneSpace(rest))
	if msgid == "" {
		return ErrNoHost
	}
	h.Host = nilValue(host)
	h.Program = nilValue(app)
	h.PID = nilValue(procid)
	rest = skipOneSpace(rest)
	// Structured data: "-" or one or more "[id k="v" ...]" with \] \" \\ escapes.
	switch {
	case len(rest) > 0 && rest[0] == '-':
		rest = rest[1:]
	case len(rest) > 0 && rest[0] == '[':
		for len(rest) > 0 && rest[0] == '[' {
			i, inQuote := 1, false
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' {
					i++
					continue
				}
				if c == '"' {
					inQuote = !inQuote
				} else if c == ']' && !inQuote {
					break
				}
			}
			if i >= len(rest) {
				rest = ""
				break
			}
			rest = rest[i+1:]
		}
	}
	rest = skipOneSpace(rest)
	if len(rest) >= 3 && rest[0] == 0xEF && rest[1] == 0xBB && rest[2] == 0xBF {
		rest = rest[3:]
	}
	h.Message = rest
	return nil
}

func nilValue(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// parse3164 reads "Mmm dd hh:mm:ss" (day padded with a space or a zero, or
// not at all) with an optional year before the time, and infers the year
// when none is given.
func (p *Parser) parse3164(s string) (time.Time, int, bool) {
	mon, ok := ParseMonth(s[:3])
	if !ok {
		return time.Time{}, 0, false
	}
	i := 4
	if s[i] == ' ' {
		i++
	}
	day, n := atoi(s[i:], 2)
	if n == 0 || day < 1 || day > 31 {
		return time.Time{}, 0, false
	}
	i += n
	if i >= len(s) || s[i] != ' ' {
		return time.Time{}, 0, false
	}
	i++
	year := 0
	if i+5 < len(s) && s[i+4] == ' ' {
		y, n := atoi(s[i:], 4)
		if n == 4 {
			year = y
			i += 5
		}
	}
	hh, mm, ss, n, ok := clock(s[i:])
	if !ok {
		return time.Time{}, 0, false
	}
	i += n
	nsec := 0
	if i < len(s) && s[i] == '.' {
		var k int
		nsec, k = fraction(s[i+1:])
		i += 1 + k
	}
	if year != 0 {
		return time.Date(year, mon, day, hh, mm, ss, nsec, p.loc).UTC(), i, true
	}
	return p.inferYear(mon, day, hh, mm, ss, nsec), i, true
}

// inferYear places a yearless date in the year that keeps the file moving
// forward from the last line (December to January is the next year) and
// never far in the future (December read in January is the previous year).
func (p *Parser) inferYear(mon time.Month, day, hh, mm, ss, nsec int) time.Time {
	if p.refYear == 0 {
		now := p.now()
		p.nowSeen = now
		p.refYear, p.refMonth = now.In(p.loc).Year(), now.In(p.loc).Month()
	}
	y := p.refYear
	switch {
	case int(mon) < int(p.refMonth)-6:
		y++
	case int(mon) > int(p.refMonth)+6:
		y--
	}
	t := time.Date(y, mon, day, hh, mm, ss, nsec, p.loc)
	if t.After(p.nowSeen.Add(futureSlack)) {
		p.nowSeen = p.now()
		if t.After(p.nowSeen.Add(futureSlack)) {
			y--
			t = time.Date(y, mon, day, hh, mm, ss, nsec, p.loc)
		}
	}
	p.refYear, p.refMonth = y, mon
	return t.UTC()
}

// ParseISO reads "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|±hh:mm|±hhmm|±hh]" at the
// start of s and returns the time in UTC and how many bytes it used. A time
// without an offset is read in loc.
func ParseISO(s string, loc *time.Location) (time.Time, int, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, 0, false
	}
	year, n1 := atoi(s, 4)
	mon, n2 := atoi(s[5:], 2)
	day, n3 := atoi(s[8:], 2)
	if n1 != 4 || n2 != 2 || n3 != 2 || mon < 1 || mon > 12 || day < 1 || day > 31 {
		return time.Time{}, 0, false
	}
	hh, mm, ss, n, ok := clock(s[11:])
	if !ok || n != 8 {
		return time.Time{}, 0, false
	}
	i := 19
	nsec := 0
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		var k int
		nsec, k = fraction(s[i+1:])
		if k == 0 {
			return time.Time{}, 0, false
		}
		i += 1 + k
	}
	off, k, has := offset(s[i:])
	i += k
	if !has {
		return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc).UTC(), i, true
	}
	return FromCivil(year, time.Month(mon), day, hh, mm, ss, nsec, off), i, true
}

// offset reads "Z", "±hh:mm", "±hhmm" or "±hh" and returns seconds east of UTC.
func offset(s string) (int, int, bool) {
	if len(s) == 0 {
		return 0, 0, false
	}
	if s[0] == 'Z' {
		return 0, 1, true
	}
	if s[0] != '+' && s[0] != '-' {
		return 0, 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	hh, n := atoi(s[1:], 2)
	if n != 2 || hh > 14 {
		return 0, 0, false
	}
	i := 3
	mm := 0
	if i < len(s) && s[i] == ':' {
		m, n := atoi(s[i+1:], 2)
		if n != 2 || m > 59 {
			return 0, 0, false
		}
		mm, i = m, i+3
	} else if m, n := atoi(s[i:], 2); n == 2 {
		if m > 59 {
			return 0, 0, false
		}
		mm, i = m, i+2
	}
	return sign * (hh*3600 + mm*60), i, true
}

// Offset reads a numeric UTC offset ("+0100", "-07:00", "Z") and returns it
// in seconds east of UTC with the bytes used.
func Offset(s string) (int, int, bool) { return offset(s) }

// FromCivil returns the UTC instant of a wall-clock time at a fixed offset
// (seconds east of UTC), without consulting any zone database.
func FromCivil(year int, mon time.Month, day, hh, mm, ss, nsec, off int) time.Time {
	days := daysFromCivil(year, int(mon), day)
	sec := days*86400 + int64(hh*3600+mm*60+ss) - int64(off)
	return time.Unix(sec, int64(nsec)).UTC()
}

// daysFromCivil counts days from 1970-01-01 (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ParseMonth reads an English three-letter month abbreviation.
func ParseMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	switch s {
	case "Jan":
		return time.January, true
	case "Feb":
		return time.February, true
	case "Mar":
		return time.March, true
	case "Apr":
		return time.April, true
	case "May":
		return time.May, true
	case "Jun":
		return time.June, true
	case "Jul":
		return time.July, true
	case "Aug":
		return time.August, true
	case "Sep":
		return time.September, true
	case "Oct":
		return time.October, true
	case "Nov":
		return time.November, true
	case "Dec":
		return time.December, true
	}
	return 0, false
}

// Clock reads "hh:mm:ss" at the start of s.
func Clock(s string) (hh, mm, ss int, ok bool) {
	hh, mm, ss, _, ok = clock(s)
	return
}

func clock(s string) (hh, mm, ss, n int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, 0, false
	}
	var a, b, c int
	hh, a = atoi(s, 2)
	mm, b = atoi(s[3:], 2)
	ss, c = atoi(s[6:], 2)
	if a != 2 || b != 2 || c != 2 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, 0, false
	}
	return hh, mm, ss, 8, true
}

// Fraction reads the digits of a fractional second as nanoseconds; digits
// past the ninth are consumed and ignored.
func Fraction(s string) (nsec, n int) { return fraction(s) }

func fraction(s string) (nsec, n int) {
	scale := 100000000
	for n < len(s) && isDigit(s[n]) {
		if scale > 0 {
			nsec += int(s[n]-'0') * scale
			scale /= 10
		}
		n++
		if n > 32 {
			break
		}
	}
	return nsec, n
}

// atoi reads up to max decimal digits at the start of s.
func atoi(s string, max int) (v, n int) {
	for n < len(s) && n < max && isDigit(s[n]) {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

func token(s string) (tok, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

func skipSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

func skipOneSpace(s string) string {
	if len(s) > 0 && s[0] == ' ' {
		return s[1:]
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
