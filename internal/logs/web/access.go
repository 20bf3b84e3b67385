package web

import (
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

type accessMode uint8

const (
	modeCombined accessMode = iota // combined, and everything close to it
	modeCommon                     // common: nothing after the byte count
	modeVhost                      // vhost_combined: a virtual host first
)

// accessParser reads the common log format family:
//
//	[vhost[:port]] client[, client…] ident user [time] [vhost] "request" status bytes ["referer" "agent" …]
//
// It is lenient where real servers differ (one "-" instead of two, an
// X-Forwarded-For list before the client, a vhost after the time, a
// timestamp without offset, extra trailing fields) and strict where a
// wrong guess would misattribute a request: the client must be an IP
// address and the status must follow the request.
type accessParser struct {
	name  string
	mode  accessMode
	loc   *time.Location
	now   func() time.Time
	cache clfCache
}

func newAccess(name string, mode accessMode, o logs.Options) *accessParser {
	return &accessParser{name: name, mode: mode, loc: location(o), now: now(o)}
}

// Parse implements logs.Parser.
func (p *accessParser) Parse(line string, ev *logs.Event) error {
	s := trimLine(line)
	if s == "" {
		return logs.Malformed(reasonEmpty)
	}
	// Access lines relayed through syslog keep their own timestamp inside;
	// the header is skipped.
	if c := s[0]; c >= 'A' && c <= 'Z' || c == '<' || (len(s) > 10 && s[4] == '-' && s[10] == 'T') {
		if c == '<' { // an RFC 3164 priority
			if k := strings.IndexByte(s, '>'); k > 0 && k < 5 {
				s = s[k+1:]
			}
		}
		if _, i, ok := syslogHeader(s, p.loc, p.now); ok {
			s = s[i:]
		}
	}

	lb := clfBracket(s)
	if lb < 0 {
		return logs.Malformed(reasonNoTime)
	}

	h := &ev.HTTP
	*h = logs.HTTPFields{}

	// Everything before the time: addresses, ident, user, maybe a vhost.
	var cand candidates
	vhost, hasVhost := "", false
	pre := s[:lb]
	first := true
	for len(pre) > 0 {
		for len(pre) > 0 && pre[0] == ' ' {
			pre = pre[1:]
		}
		if pre == "" {
			break
		}
		tok := pre
		if sp := strings.IndexByte(pre, ' '); sp >= 0 {
			tok, pre = pre[:sp], pre[sp+1:]
		} else {
			pre = ""
		}
		t := trimQuoteComma(tok)
		if a, ok := parseAddr(t); ok {
			cand.add(a)
			first = false
			continue
		}
		if tok[0] == '"' && cand.n == 0 {
			// a quoted X-Forwarded-For holding no address ("-", "unknown")
			first = false
			continue
		}
		if first && cand.n == 0 && !strings.ContainsRune(tok, '"') {
			vhost, hasVhost = tok, true
			first = false
			continue
		}
		break // ident and user: nothing more to learn
	}
	src, ok := cand.pick()
	if !ok {
		return logs.Malformed(reasonNoClient)
	}
	if hasVhost {
		h.Vhost = vhostName(vhost)
	} else if p.mode == modeVhost {
		return logs.Malformed(reasonNoVhost)
	}

	t, i, ok := p.cache.clfTime(s, lb+1, p.loc)
	if !ok {
		return logs.Malformed(reasonBadTime)
	}

	for i < len(s) && s[i] == ' ' {
		i++
	}
	// Some LogFormats put the vhost between the time and the request.
	if i < len(s) && s[i] != '"' {
		sp := indexByteFrom(s, ' ', i)
		if sp < 0 || sp+1 >= len(s) || s[sp+1] != '"' {
			return logs.Malformed(reasonNoRequest)
		}
		if h.Vhost == "" {
			h.Vhost = vhostName(s[i:sp])
		}
		i = sp + 1
	}
	if i >= len(s) || s[i] != '"' {
		return logs.Malformed(reasonNoRequest)
	}
	re := requestEnd(s, i+1)
	if re < 0 {
		return logs.Malformed(reasonNoStatus)
	}
	splitRequest(s[i+1:re], h)

	// status: three digits and a blank, or else the general case (checked
	// as three digits rather than by digitsField's loop: 6 % faster parsing)
	i = re + 2
	var j int
	if i+3 <= len(s) && digit(s[i]) && digit(s[i+1]) && digit(s[i+2]) && (i+3 == len(s) || s[i+3] == ' ') {
		h.Status = int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		j = i + 3
	} else {
		j = fieldEnd(s, i)
		st, ok := parseStatus(s[i:j])
		if !ok {
			return logs.Malformed(reasonNoStatus)
		}
		h.Status = st
	}
	i = j
	for i < len(s) && s[i] == ' ' {
		i++
	}
	// bytes: optional in practice (lines cut by a crashing server)
	if i < len(s) && s[i] != '"' {
		if b, end, ok := digitsField(s, i); ok {
			h.Bytes, j = b, end
		} else {
			j = fieldEnd(s, i)
			b, ok := parseBytes(s[i:j])
			if !ok {
				return logs.Malformed(reasonBadBytes)
			}
			h.Bytes = b
		}
		i = j
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}

	if p.mode == modeCommon {
		if i != len(s) {
			return logs.Malformed(reasonTrailing)
		}
	} else if i < len(s) && s[i] == '"' {
		// referer, then user agent; anything after is ignored
		if e := quotedEnd(s, i+1); e >= 0 {
			h.Referer = unquoteDash(s[i+1 : e])
			i = e + 1
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i < len(s) && s[i] == '"' {
				if e := quotedEnd(s, i+1); e >= 0 {
					h.UA = unquoteDash(s[i+1 : e])
				}
			}
		}
	}

	ev.Time = t
	ev.Src = src
	ev.Kind = logs.KindHTTP
	ev.Format = p.name
	return nil
}

// clfBracket finds the '[' that opens a CLF timestamp ("[dd/"), skipping
// brackets around IPv6 clients.
func clfBracket(s string) int {
	i := 0
	for {
		j := strings.IndexByte(s[i:], '[')
		if j < 0 {
			return -1
		}
		j += i
		if j+4 <= len(s) && digit(s[j+1]) && digit(s[j+2]) && s[j+3] == '/' {
			return j
		}
		i = j + 1
	}
}

// digitsField reads the field at s[i:] when it is 1 to 18 digits ended by
// a blank or the line's end, as parseBytes(s[i:fieldEnd(s, i)]) would, and
// returns its value and end; ok is false for anything else.
func digitsField(s string, i int) (v int64, end int, ok bool) {
	j := i
	for j < len(s) && j-i < 18 && digit(s[j]) {
		v = v*10 + int64(s[j]-'0')
		j++
	}
	if j == i || j < len(s) && s[j] != ' ' {
		return 0, 0, false
	}
	return v, j, true
}

// trimQuoteComma is strings.Trim(s, `",`) without building a cut set on
// every token.
func trimQuoteComma(s string) string {
	for len(s) > 0 && (s[0] == '"' || s[0] == ',') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == '"' || s[len(s)-1] == ',') {
		s = s[:len(s)-1]
	}
	return s
}

// fieldEnd returns the index of the blank ending the field at s[i:], or len(s).
func fieldEnd(s string, i int) int {
	if j := strings.IndexByte(s[i:], ' '); j >= 0 {
		return i + j
	}
	return len(s)
}

// vhostName drops the ":port" from "host:port", keeping IPv6 literals whole.
func vhostName(v string) string {
	if strings.Count(v, ":") == 1 {
		if s, ok := stripPort(v); ok {
			return s
		}
	}
	if len(v) > 2 && v[0] == '[' {
		if k := strings.IndexByte(v, ']'); k > 0 {
			return v[1:k]
		}
	}
	return v
}

// compile-time check
var _ logs.Parser = (*accessParser)(nil)
