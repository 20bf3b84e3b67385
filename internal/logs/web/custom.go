package web

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// A custom format is compiled once into a list of steps: literals to match
// and fields to capture. Each field ends at the literal after it (quoted
// fields at an unescaped quote followed by that literal), so a line is
// scanned once from left to right, with no backtracking.

type fieldKind uint8

const (
	fSkip       fieldKind = iota
	fClient               // %h %a $remote_addr
	fXFF                  // %{X-Forwarded-For}i $http_x_forwarded_for
	fTime                 // %t %{…}t $time_local $time_iso8601 $msec
	fRequest              // %r $request
	fMethod               // %m $request_method
	fPath                 // %U $uri
	fQuery                // %q $args
	fRequestURI           // $request_uri
	fProto                // %H $server_protocol
	fStatus               // %s %>s $status
	fBytes                // %b %B %O $body_bytes_sent $bytes_sent
	fReferer              // %{Referer}i $http_referer
	fUA                   // %{User-Agent}i $http_user_agent
	fVhost                // %v %V $host $server_name $http_host
)

type step struct {
	lit    string // a literal to match, when field is false
	field  bool
	kind   fieldKind
	layout string // time fields: a strftime-like layout, see parseLayout
	quoted bool   // the field sits between '"' literals
	name   string // the directive, for error messages
}

// customParser runs a compiled LogFormat or log_format.
type customParser struct {
	steps []step
	err   error
	loc   *time.Location
}

func newCustom(o logs.Options) *customParser {
	steps, err := compileLogFormat(o.LogFormat)
	return &customParser{steps: steps, err: err, loc: location(o)}
}

// ValidateLogFormat reports whether s, an Apache LogFormat or an nginx
// log_format string, can be used with the custom format, and if not, why.
// Call it before parsing so a bad --log-format is reported once rather than
// as every line being malformed.
func ValidateLogFormat(s string) error {
	_, err := compileLogFormat(s)
	return err
}

// timeAcc gathers the parts of a time that may come from several fields
// (Apache's "%{%d/%b/%Y:%H:%M:%S}t.%{msec_frac}t %{%z}t").
type timeAcc struct {
	y, d, hh, mm, ss, ns int
	mo                   time.Month
	off                  int
	hasOff, hasDate      bool
	epochNs              int64
	hasEpoch             bool
}

// Parse implements logs.Parser.
func (p *customParser) Parse(line string, ev *logs.Event) error {
	if p.err != nil {
		return logs.Malformed(reasonBadLogFormat)
	}
	s := trimLine(line)
	if s == "" {
		return logs.Malformed(reasonEmpty)
	}
	h := &ev.HTTP
	*h = logs.HTTPFields{}
	var cand candidates
	var ta timeAcc
	pos := 0
	for k := 0; k < len(p.steps); k++ {
		st := &p.steps[k]
		if !st.field {
			if !strings.HasPrefix(s[pos:], st.lit) {
				return logs.Malformed(reasonFormatMismatch)
			}
			pos += len(st.lit)
			continue
		}
		if st.kind == fTime {
			n, ok := parseLayout(s, pos, st.layout, &ta)
			if !ok {
				return logs.Malformed(reasonBadTime)
			}
			pos = n
			continue
		}
		end := p.fieldEnd(s, pos, k)
		if end < 0 {
			return logs.Malformed(reasonFormatMismatch)
		}
		v := s[pos:end]
		pos = end
		switch st.kind {
		case fClient:
			if a, ok := parseAddr(v); ok {
				cand.add(a)
			} else {
				cand.addList(v)
			}
		case fXFF:
			cand.addList(v)
		case fRequest:
			splitRequest(v, h)
		case fMethod:
			h.Method = unquoteDash(v)
		case fPath:
			if h.Path == "" {
				setTarget(unquoteDash(v), h)
			}
		case fQuery:
			h.Query = strings.TrimPrefix(unquoteDash(v), "?")
		case fRequestURI:
			setTarget(unquoteDash(v), h)
		case fProto:
			h.Proto = unquoteDash(v)
		case fStatus:
			n, ok := parseStatus(v)
			if !ok {
				return logs.Malformed(reasonNoStatus)
			}
			h.Status = n
		case fBytes:
			n, ok := parseBytes(v)
			if !ok {
				return logs.Malformed(reasonBadBytes)
			}
			h.Bytes = n
		case fReferer:
			h.Referer = unquoteDash(v)
		case fUA:
			h.UA = unquoteDash(v)
		case fVhost:
			h.Vhost = vhostName(unquoteDash(v))
		}
	}
	src, ok := cand.pick()
	if !ok {
		return logs.Malformed(reasonNoClient)
	}
	var t time.Time
	switch {
	case ta.hasEpoch:
		t = time.Unix(0, ta.epochNs).UTC()
	case ta.hasDate:
		t = at(ta.y, ta.mo, ta.d, ta.hh, ta.mm, ta.ss, ta.ns, ta.off, ta.hasOff, p.loc)
	default:
		return logs.Malformed(reasonNoTime)
	}
	ev.Time = t
	ev.Src = src
	ev.Kind = logs.KindHTTP
	ev.Format = NameCustom
	return nil
}

// fieldEnd finds where the field of step k, starting at s[pos], ends.
func (p *customParser) fieldEnd(s string, pos, k int) int {
	if k+1 >= len(p.steps) {
		return len(s) // the last field takes the rest of the line
	}
	next := p.steps[k+1].lit // compile guarantees a literal follows
	if !p.steps[k].quoted {
		j := strings.Index(s[pos:], next)
		if j < 0 {
			return -1
		}
		return pos + j
	}
	// Quoted: an unescaped quote that starts the next literal; when a
	// number field follows, it must start with a digit or '-', so a raw
	// quote inside a request does not end it early.
	numberNext := k+2 < len(p.steps) && p.steps[k+2].field &&
		(p.steps[k+2].kind == fStatus || p.steps[k+2].kind == fBytes)
	i := pos
	for i < len(s) {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		if !escaped(s, pos, j) && strings.HasPrefix(s[j:], next) {
			after := j + len(next)
			if !numberNext || after < len(s) && (digit(s[after]) || s[after] == '-') {
				return j
			}
		}
		i = j + 1
	}
	return -1
}

// parseLayout reads a time at s[pos:] laid out as layout, a strftime
// subset: %Y %y %m %d %e %H %M %S %b %h %z %Z %T %F %a %A %p(ignored) and
// irtui's own %E (epoch seconds with optional fraction), %Q (epoch
// milliseconds), %q (epoch microseconds), %f (milliseconds), %u
// (microseconds). Anything else in layout must match literally.
func parseLayout(s string, pos int, layout string, ta *timeAcc) (int, bool) {
	i := pos
	for k := 0; k < len(layout); k++ {
		c := layout[k]
		if c != '%' || k+1 == len(layout) {
			if i >= len(s) || s[i] != c {
				return 0, false
			}
			i++
			continue
		}
		k++
		var ok bool
		switch layout[k] {
		case 'Y':
			ta.y, ok = num(s, i, 4)
			i += 4
			ta.hasDate = true
		case 'y':
			ta.y, ok = num(s, i, 2)
			ta.y += 2000
			i += 2
			ta.hasDate = true
		case 'm':
			var m int
			m, ok = num(s, i, 2)
			ok = ok && m >= 1 && m <= 12
			ta.mo = time.Month(m)
			i += 2
		case 'd', 'e':
			if i < len(s) && s[i] == ' ' {
				ta.d, ok = num(s, i+1, 1)
			} else {
				ta.d, ok = num(s, i, 2)
			}
			ok = ok && ta.d >= 1 && ta.d <= 31
			i += 2
		case 'H':
			ta.hh, ok = num(s, i, 2)
			ok = ok && ta.hh <= 23
			i += 2
		case 'M':
			ta.mm, ok = num(s, i, 2)
			ok = ok && ta.mm <= 59
			i += 2
		case 'S':
			ta.ss, ok = num(s, i, 2)
			ok = ok && ta.ss <= 60
			i += 2
		case 'b', 'h':
			ta.mo, ok = month(s, i)
			i += 3
		case 'z':
			var n int
			ta.off, n, ok = offset(s, i)
			ta.hasOff = ok
			i = n
		case 'Z', 'a', 'A', 'p':
			j := i
			for j < len(s) && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
				j++
			}
			ok = j > i
			i = j
		case 'T':
			n, ok2 := parseLayout(s, i, "%H:%M:%S", ta)
			i, ok = n, ok2
		case 'F':
			n, ok2 := parseLayout(s, i, "%Y-%m-%d", ta)
			i, ok = n, ok2
		case 'E', 'Q', 'q':
			j := i
			var v int64
			for j < len(s) && digit(s[j]) && j-i < 19 {
				v = v*10 + int64(s[j]-'0')
				j++
			}
			ok = j > i
			switch layout[k] {
			case 'E':
				ns, n := fraction(s, j)
				ta.epochNs = v*1e9 + int64(ns)
				j = n
			case 'Q':
				ta.epochNs = v * 1e6
			case 'q':
				ta.epochNs = v * 1e3
			}
			ta.hasEpoch = ok
			i = j
		case 'f':
			var v int
			v, ok = num(s, i, 3)
			ta.ns = v * 1e6
			i += 3
		case 'u':
			var v int
			v, ok = num(s, i, 6)
			ta.ns = v * 1e3
			i += 6
		case '%':
			ok = i < len(s) && s[i] == '%'
			i++
		}
		if !ok {
			return 0, false
		}
	}
	return i, true
}

// layouts the compiler accepts in Apache %{…}t, as parseLayout directives.
var strftimeOK = "YymdeHMSbhzZTFaAp%"

// errNoFields is returned for a format string with no directive at all.
var errNoFields = errors.New("log format has no %directives or $variables")

// compileLogFormat turns an Apache LogFormat or an nginx log_format string
// into steps. The string may be given bare, in quotes, or as the whole
// configuration directive.
func compileLogFormat(raw string) ([]step, error) {
	s := normalizeLogFormat(raw)
	if s == "" {
		return nil, errors.New("log format is empty: give the LogFormat or log_format string, e.g. --log-format '%h %l %u %t \"%r\" %>s %b'")
	}
	var steps []step
	var err error
	if isNginx(s) {
		steps, err = compileNginx(s)
	} else {
		steps, err = compileApache(s)
	}
	if err != nil {
		return nil, err
	}
	// merge literals, mark quoted fields, check the structure
	var out []step
	for _, st := range steps {
		if !st.field && len(out) > 0 && !out[len(out)-1].field {
			out[len(out)-1].lit += st.lit
			continue
		}
		if !st.field && st.lit == "" {
			continue
		}
		// "%U%q" is Apache's way to write the request target.
		if st.field && st.kind == fQuery && len(out) > 0 && out[len(out)-1].field && out[len(out)-1].kind == fPath {
			out[len(out)-1].kind = fRequestURI
			out[len(out)-1].name += st.name
			continue
		}
		out = append(out, st)
	}
	client, tm, nfields := false, false, 0
	for k := range out {
		st := &out[k]
		if !st.field {
			continue
		}
		nfields++
		client = client || st.kind == fClient || st.kind == fXFF
		tm = tm || st.kind == fTime
		if k > 0 && k+1 < len(out) && !out[k-1].field && !out[k+1].field &&
			strings.HasSuffix(out[k-1].lit, `"`) && strings.HasPrefix(out[k+1].lit, `"`) {
			st.quoted = true
		}
		if st.kind != fTime && k+1 < len(out) && out[k+1].field {
			return nil, fmt.Errorf("log format: %s is directly followed by %s; irtui needs a separator between fields", st.name, out[k+1].name)
		}
	}
	if nfields == 0 {
		return nil, errNoFields
	}
	if !client {
		return nil, errors.New("log format has no client address (%h, %a or $remote_addr): irtui cannot attribute requests without it")
	}
	if !tm {
		return nil, errors.New("log format has no time (%t or $time_local)")
	}
	return out, nil
}

// normalizeLogFormat strips a configuration directive around the format
// and undoes the escapes of configuration strings.
func normalizeLogFormat(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "LogFormat "); ok {
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, `"`) {
			if e := quotedEnd(rest+" ", 1); e > 0 {
				rest = rest[1:e]
			}
		}
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "log_format "); ok {
		// log_format name [escape=…] 'part' 'part' …;
		rest = strings.TrimSpace(rest)
		if sp := strings.IndexAny(rest, " \t"); sp > 0 {
			rest = strings.TrimSpace(rest[sp:])
		}
		if strings.HasPrefix(rest, "escape=") {
			if sp := strings.IndexAny(rest, " \t"); sp > 0 {
				rest = strings.TrimSpace(rest[sp:])
			}
		}
		var b strings.Builder
		for rest != "" {
			rest = strings.TrimLeft(rest, " \t\r\n")
			if rest == "" || rest[0] == ';' {
				break
			}
			q := rest[0]
			if q != '\'' && q != '"' {
				b.WriteString(strings.TrimRight(rest, "; \t"))
				break
			}
			e := 1
			for e < len(rest) && !(rest[e] == q && rest[e-1] != '\\') {
				e++
			}
			b.WriteString(rest[1:min(e, len(rest))])
			if e >= len(rest) {
				break
			}
			rest = rest[e+1:]
		}
		s = b.String()
	} else if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	}
	if strings.IndexByte(s, '\\') >= 0 {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) {
				switch s[i+1] {
				case '"', '\'', '\\':
					b.WriteByte(s[i+1])
					i++
					continue
				case 't':
					b.WriteByte('\t')
					i++
					continue
				}
			}
			b.WriteByte(s[i])
		}
		s = b.String()
	}
	return s
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// isNginx tells an nginx log_format from an Apache LogFormat by which kind
// of placeholder it holds more of.
func isNginx(s string) bool {
	vars, dirs := 0, 0
	for i := 0; i+1 < len(s); i++ {
		switch s[i] {
		case '$':
			if c := s[i+1]; c == '{' || c >= 'a' && c <= 'z' || c == '_' {
				vars++
			}
		case '%':
			if c := s[i+1]; c == '%' {
				i++
			} else if c == '{' || c == '>' || c == '<' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				dirs++
			}
		}
	}
	return vars > dirs
}

func compileNginx(s string) ([]step, error) {
	var steps []step
	lit := 0
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) {
			i++
			continue
		}
		var name string
		j := i + 1
		if s[j] == '{' {
			e := strings.IndexByte(s[j:], '}')
			if e < 0 {
				return nil, fmt.Errorf("log format: unclosed ${ at byte %d", i)
			}
			name = s[j+1 : j+e]
			j += e + 1
		} else {
			for j < len(s) && nameByte(s[j]) {
				j++
			}
			name = s[i+1 : j]
		}
		if name == "" {
			i++
			continue
		}
		steps = append(steps, step{lit: s[lit:i]})
		steps = append(steps, nginxVar(name))
		i, lit = j, j
	}
	steps = append(steps, step{lit: s[lit:]})
	return steps, nil
}

func nginxVar(name string) step {
	st := step{field: true, name: "$" + name}
	switch name {
	case "remote_addr", "realip_remote_addr":
		st.kind = fClient
	case "http_x_forwarded_for", "proxy_add_x_forwarded_for", "http_x_real_ip", "http_cf_connecting_ip", "http_true_client_ip":
		st.kind = fXFF
	case "time_local":
		st.kind, st.layout = fTime, "%d/%b/%Y:%H:%M:%S %z"
	case "time_iso8601":
		st.kind, st.layout = fTime, "%Y-%m-%dT%H:%M:%S%z"
	case "msec":
		st.kind, st.layout = fTime, "%E"
	case "request":
		st.kind = fRequest
	case "request_method":
		st.kind = fMethod
	case "uri", "document_uri":
		st.kind = fPath
	case "args", "query_string":
		st.kind = fQuery
	case "request_uri":
		st.kind = fRequestURI
	case "server_protocol":
		st.kind = fProto
	case "status":
		st.kind = fStatus
	case "body_bytes_sent", "bytes_sent":
		st.kind = fBytes
	case "http_referer":
		st.kind = fReferer
	case "http_user_agent":
		st.kind = fUA
	case "host", "server_name", "http_host":
		st.kind = fVhost
	}
	return st
}

func compileApache(s string) ([]step, error) {
	var steps []step
	var lit strings.Builder
	flush := func() {
		steps = append(steps, step{lit: lit.String()})
		lit.Reset()
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			lit.WriteByte('%')
			continue
		}
		for i < len(s) && (s[i] == '<' || s[i] == '>' || s[i] == '!' || s[i] == ',' || digit(s[i])) {
			i++
		}
		arg := ""
		if i < len(s) && s[i] == '{' {
			e := strings.IndexByte(s[i:], '}')
			if e < 0 {
				return nil, fmt.Errorf("log format: unclosed %%{ at byte %d", start)
			}
			arg = s[i+1 : i+e]
			i += e + 1
		}
		if i >= len(s) {
			return nil, fmt.Errorf("log format ends inside a directive at byte %d", start)
		}
		st, err := apacheDirective(s[i], arg, s[start:i+1])
		if err != nil {
			return nil, err
		}
		flush()
		steps = append(steps, st)
	}
	flush()
	return steps, nil
}

func apacheDirective(c byte, arg, text string) (step, error) {
	st := step{field: true, name: text}
	switch c {
	case 'h', 'a':
		st.kind = fClient
	case 't':
		layout, err := apacheTime(arg)
		if err != nil {
			return st, err
		}
		st.kind, st.layout = fTime, layout
	case 'r':
		st.kind = fRequest
	case 's':
		st.kind = fStatus
	case 'b', 'B', 'O':
		st.kind = fBytes
	case 'm':
		st.kind = fMethod
	case 'U':
		st.kind = fPath
	case 'q':
		st.kind = fQuery
	case 'H':
		st.kind = fProto
	case 'v', 'V':
		st.kind = fVhost
	case 'i':
		switch strings.ToLower(arg) {
		case "referer":
			st.kind = fReferer
		case "user-agent":
			st.kind = fUA
		case "x-forwarded-for", "x-real-ip", "cf-connecting-ip", "true-client-ip":
			st.kind = fXFF
		case "host":
			st.kind = fVhost
		}
	case 'l', 'u', 'A', 'C', 'D', 'e', 'f', 'I', 'k', 'L', 'n', 'o', 'p', 'P', 'R', 'S', 'T', 'X', 'x', '^':
		// known, not used by irtui
	default:
		return st, fmt.Errorf("log format: unknown directive %s", text)
	}
	return st, nil
}

// apacheTime turns the argument of %{…}t into a parseLayout layout.
func apacheTime(arg string) (string, error) {
	arg = strings.TrimPrefix(strings.TrimPrefix(arg, "begin:"), "end:")
	switch arg {
	case "":
		return "[%d/%b/%Y:%H:%M:%S %z]", nil
	case "sec":
		return "%E", nil
	case "msec":
		return "%Q", nil
	case "usec":
		return "%q", nil
	case "msec_frac":
		return "%f", nil
	case "usec_frac":
		return "%u", nil
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] == '%' {
			if i+1 >= len(arg) || !strings.ContainsRune(strftimeOK, rune(arg[i+1])) {
				return "", fmt.Errorf("log format: time format %q uses a directive irtui does not read (supported: %%Y %%y %%m %%d %%e %%H %%M %%S %%b %%z %%Z %%T %%F %%a)", arg)
			}
			i++
		}
	}
	return arg, nil
}
