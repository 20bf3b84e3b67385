package web

import (
	"net/netip"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// errorLevel reports whether s is a log level Apache or nginx writes.
func errorLevel(s string) bool {
	switch s {
	case "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug":
		return true
	}
	return len(s) == 6 && strings.HasPrefix(s, "trace") && s[5] >= '1' && s[5] <= '8'
}

// apacheErrorParser reads Apache 2.2 and 2.4 error logs:
//
//	[Thu Jul 11 01:21:43 2013] [error] [client 1.2.3.4] message
//	[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] [pid 10691:tid 7] [client 1.2.3.4:44271] AH01630: message, referer: …
//
// also when relayed through syslog ("ErrorLog syslog"), where the syslog
// header gives the time.
type apacheErrorParser struct {
	loc *time.Location
	now func() time.Time
}

func newApacheError(o logs.Options) *apacheErrorParser {
	return &apacheErrorParser{loc: location(o), now: now(o)}
}

// Parse implements logs.Parser.
func (p *apacheErrorParser) Parse(line string, ev *logs.Event) error {
	s := trimLine(line)
	if s == "" {
		return logs.Malformed(reasonEmpty)
	}
	var t time.Time
	fromHeader := false
	if s[0] != '[' {
		ht, i, ok := syslogHeader(s, p.loc, p.now)
		if !ok || i >= len(s) || s[i] != '[' {
			return logs.Malformed(reasonNoTime)
		}
		t, fromHeader, s = ht, true, s[i:]
	}
	i := 0
	if len(s) > 1 && s[0] == '[' && s[1] >= 'A' && s[1] <= 'Z' {
		if tt, j, ok := apacheErrorTime(s, 1, p.loc); ok && j < len(s) && s[j] == ']' {
			t, i = tt, j+1
		} else if !fromHeader {
			return logs.Malformed(reasonBadTime)
		}
	}
	if i == 0 && !fromHeader {
		return logs.Malformed(reasonNoTime)
	}

	h := &ev.HTTP
	*h = logs.HTTPFields{}
	var src netip.Addr
	gotLevel, v24 := false, false
fields:
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) || s[i] != '[' {
			break
		}
		e := strings.IndexByte(s[i:], ']')
		if e < 0 {
			break
		}
		f := s[i+1 : i+e]
		switch {
		case !gotLevel:
			mod, lvl := "", f
			if c := strings.LastIndexByte(f, ':'); c >= 0 {
				mod, lvl = f[:c], f[c+1:]
				v24 = true
			}
			if !errorLevel(lvl) {
				break fields
			}
			h.Module, h.Level, gotLevel = mod, lvl, true
		case strings.HasPrefix(f, "pid "):
			v24 = true
		case strings.HasPrefix(f, "client "):
			a, ok := parseAddrPort(f[len("client "):], v24)
			if !ok {
				return logs.Malformed(reasonBadClient)
			}
			src = a
			i += e + 1
			break fields
		default:
			break fields
		}
		i += e + 1
	}
	if !gotLevel {
		return logs.Malformed(reasonNoLevel)
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	msg := s[i:]
	// mod_security 2 repeats the client ("[client a:port] [client a]").
	for src.IsValid() && strings.HasPrefix(msg, "[client ") {
		e := strings.IndexByte(msg, ']')
		if e < 0 {
			break
		}
		msg = strings.TrimLeft(msg[e+1:], " ")
	}
	// 2.4 may put an APR error before the client: "(70014)End of file
	// found: [client 1.2.3.4:5] AH02006: …"
	if !src.IsValid() && strings.HasPrefix(msg, "(") {
		if k := strings.Index(msg, ": [client "); k >= 0 && k < 160 {
			if e := strings.IndexByte(msg[k+2:], ']'); e >= 0 {
				a, ok := parseAddrPort(msg[k+2+len("[client "):k+2+e], v24)
				if !ok {
					return logs.Malformed(reasonBadClient)
				}
				src = a
				msg = strings.TrimLeft(msg[k+2+e+1:], " ")
			}
		}
	}
	if k := strings.LastIndex(msg, ", referer: "); k >= 0 {
		h.Referer = msg[k+len(", referer: "):]
		msg = msg[:k]
	}
	h.Message = msg
	h.Action = apacheAction(msg)

	ev.Time = t
	ev.Src = src
	ev.Kind = logs.KindHTTP
	ev.Format = NameApacheError
	return nil
}

// apacheAction classifies an Apache error message. The text decides, the
// AH code is the fallback, because 2.2 has no codes and some codes are
// shared by messages of different meaning.
func apacheAction(msg string) string {
	if strings.HasPrefix(msg, "ModSecurity:") {
		if strings.Contains(msg, "Access denied") {
			return logs.WebModSec
		}
		return logs.WebError
	}
	code := ""
	if len(msg) >= 8 && msg[0] == 'A' && msg[1] == 'H' && msg[7] == ':' {
		code = msg[:7]
		msg = strings.TrimLeft(msg[8:], " ")
	}
	switch {
	case strings.HasPrefix(msg, "client denied by server configuration"):
		return logs.WebDenied
	case strings.HasPrefix(msg, "File does not exist"),
		strings.HasPrefix(msg, "script not found or unable to stat"),
		strings.HasPrefix(msg, "script '") && strings.Contains(msg, "not found or unable to stat"):
		return logs.WebNotFound
	case strings.HasPrefix(msg, "user ") && (strings.Contains(msg, " not found") ||
		strings.Contains(msg, "authentication failure") ||
		strings.Contains(msg, "password mismatch") ||
		strings.Contains(msg, "Password Mismatch")):
		return logs.WebAuthFail
	}
	switch code {
	case "AH01617", "AH01618", "AH01614", "AH01790", "AH01792", "AH01807", "AH01808":
		// basic and digest: bad password, unknown user, wrong scheme
		return logs.WebAuthFail
	case "AH01630", "AH01797", "AH01631", "AH01637":
		// denied by configuration (authz_core, access_compat), authorization failure
		return logs.WebDenied
	case "AH00128", "AH02811", "AH01264":
		return logs.WebNotFound
	}
	return logs.WebError
}

// nginxErrorParser reads nginx error logs:
//
//	2024/01/02 03:04:05 [error] 123#0: *45 message, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", host: "x"
//
// with or without a syslog or journal prefix before the time.
type nginxErrorParser struct {
	loc *time.Location
}

func newNginxError(o logs.Options) *nginxErrorParser {
	return &nginxErrorParser{loc: location(o)}
}

// maxPrefix bounds how far into the line the nginx timestamp is looked for
// when a syslog or journal prefix comes first.
const maxPrefix = 256

// Parse implements logs.Parser.
func (p *nginxErrorParser) Parse(line string, ev *logs.Event) error {
	s := trimLine(line)
	if s == "" {
		return logs.Malformed(reasonEmpty)
	}
	start := -1
	for j := 0; j < len(s) && j < maxPrefix; j++ {
		if digit(s[j]) && (j == 0 || s[j-1] == ' ') && nginxTimeAt(s, j) {
			start = j
			break
		}
	}
	if start < 0 {
		return logs.Malformed(reasonNoTime)
	}
	t, ok := nginxErrorTime(s, start, p.loc)
	if !ok {
		return logs.Malformed(reasonBadTime)
	}
	i := start + 19
	if i+2 >= len(s) || s[i] != ' ' || s[i+1] != '[' {
		return logs.Malformed(reasonNoLevel)
	}
	e := strings.IndexByte(s[i+2:], ']')
	if e < 0 || !errorLevel(s[i+2:i+2+e]) {
		return logs.Malformed(reasonNoLevel)
	}
	h := &ev.HTTP
	*h = logs.HTTPFields{}
	h.Level = s[i+2 : i+2+e]
	i += 2 + e + 1
	for i < len(s) && s[i] == ' ' {
		i++
	}
	// "pid#tid: "
	j := i
	for j < len(s) && digit(s[j]) {
		j++
	}
	if j > i && j < len(s) && s[j] == '#' {
		k := j + 1
		for k < len(s) && digit(s[k]) {
			k++
		}
		if k+1 < len(s) && s[k] == ':' && s[k+1] == ' ' {
			i = k + 2
		}
	}
	// "*connection "
	if i < len(s) && s[i] == '*' {
		k := i + 1
		for k < len(s) && digit(s[k]) {
			k++
		}
		if k > i+1 && k < len(s) && s[k] == ' ' {
			i = k + 1
		}
	}
	rest := s[i:]

	// The context nginx appends starts at the first ", client: " followed
	// by an address; a message can quote a URI that imitates it, but only
	// after the real one would it also be followed by a request.
	var src netip.Addr
	msg, ctx := rest, ""
	for off := 0; off < len(rest); {
		k := strings.Index(rest[off:], ", client: ")
		if k < 0 {
			break
		}
		k += off
		v := rest[k+len(", client: "):]
		end := strings.Index(v, ", ")
		if end < 0 {
			end = len(v)
		}
		if a, ok := parseAddr(v[:end]); ok {
			src, msg, ctx = a, rest[:k], v[end:]
			break
		}
		off = k + 1
	}
	nginxContext(ctx, h)
	h.Message = msg
	h.Action = nginxAction(msg)

	ev.Time = t
	ev.Src = src
	ev.Kind = logs.KindHTTP
	ev.Format = NameNginxError
	return nil
}

// nginxKeys are the context keys nginx writes after the client.
var nginxKeys = [...]string{"server: ", "request: ", "upstream: ", "host: ", "referrer: ", "subrequest: ", "port: ", "login: ", "proxy_protocol_addr: "}

// nextKey reports whether s starts with ", key: ".
func nextKey(s string) bool {
	if !strings.HasPrefix(s, ", ") {
		return false
	}
	for _, k := range nginxKeys {
		if strings.HasPrefix(s[2:], k) {
			return true
		}
	}
	return false
}

// nginxContext reads `, server: x, request: "GET / HTTP/1.1", host: "x"`.
// Quoted values are raw (nginx does not escape them), so a value ends at a
// quote followed by the next known key or the end of the line.
func nginxContext(ctx string, h *logs.HTTPFields) {
	server := ""
	for len(ctx) > 2 && strings.HasPrefix(ctx, ", ") {
		ctx = ctx[2:]
		c := strings.Index(ctx, ": ")
		if c < 0 {
			return
		}
		key, v := ctx[:c], ctx[c+2:]
		var val string
		if strings.HasPrefix(v, `"`) {
			end := -1
			for k := 1; k < len(v); {
				q := strings.IndexByte(v[k:], '"')
				if q < 0 {
					break
				}
				q += k
				if q+1 == len(v) || nextKey(v[q+1:]) {
					end = q
					break
				}
				k = q + 1
			}
			if end < 0 {
				return
			}
			val, ctx = v[1:end], v[end+1:]
		} else {
			end := len(v)
			for k := 0; k < len(v); {
				q := strings.Index(v[k:], ", ")
				if q < 0 {
					break
				}
				q += k
				if nextKey(v[q:]) {
					end = q
					break
				}
				k = q + 1
			}
			val, ctx = v[:end], v[end:]
		}
		switch key {
		case "server":
			server = val
		case "request":
			splitRequest(val, h)
		case "host":
			h.Vhost = vhostName(val)
		case "referrer":
			h.Referer = val
		}
	}
	if h.Vhost == "" && server != "" && server != "_" {
		h.Vhost = vhostName(server)
	}
}

// nginxAction classifies an nginx error message.
func nginxAction(msg string) string {
	switch {
	case strings.HasPrefix(msg, "user \"") && (strings.Contains(msg, "\" was not found in \"") || strings.HasSuffix(msg, ": password mismatch")),
		strings.HasPrefix(msg, "no user/password was provided for basic authentication"),
		strings.HasPrefix(msg, "PAM: user ") && strings.Contains(msg, "not authenticated"):
		return logs.WebAuthFail
	case strings.HasPrefix(msg, "limiting requests"), strings.HasPrefix(msg, "delaying request"),
		strings.HasPrefix(msg, "limiting connections"):
		return logs.WebRateLimit
	case strings.HasPrefix(msg, "access forbidden by rule"):
		return logs.WebDenied
	case (strings.HasPrefix(msg, "open() \"") || strings.HasPrefix(msg, "\"")) &&
		(strings.Contains(msg, "(2: No such file or directory)") || strings.Contains(msg, "(20: Not a directory)")):
		return logs.WebNotFound
	}
	return logs.WebError
}
