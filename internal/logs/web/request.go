package web

import (
	"strings"

	"github.com/irtui/irtui/internal/logs"
)

// escaped reports whether the quote at s[j] is preceded by an odd number of
// backslashes after position from. Runs of backslashes before different
// quotes never overlap, so a whole scan stays linear.
func escaped(s string, from, j int) bool {
	n := 0
	for k := j - 1; k >= from && s[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// quotedEnd returns the index of the quote closing a field that opened at
// s[from-1]: the first unescaped '"' followed by a blank or the end of the
// line. Apache escapes embedded quotes as \" and nginx as \x22, but old
// servers wrote them raw, hence the check of what follows.
func quotedEnd(s string, from int) int {
	// "-": the usual empty referer
	if from+1 < len(s) && s[from] == '-' && s[from+1] == '"' && (from+2 == len(s) || s[from+2] == ' ' || s[from+2] == '\t') {
		return from + 1
	}
	i := from
	for i < len(s) {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		if !escaped(s, from, j) && (j+1 == len(s) || s[j+1] == ' ' || s[j+1] == '\t') {
			return j
		}
		i = j + 1
	}
	return -1
}

// requestEnd returns the index of the quote closing the request field: an
// unescaped '"' followed by " " and a status (digits or "-"). A request
// holding raw quotes still ends at the right place because a status must
// follow.
func requestEnd(s string, from int) int {
	i := from
	for i < len(s) {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		if !escaped(s, from, j) && j+2 < len(s) && s[j+1] == ' ' && (digit(s[j+2]) || s[j+2] == '-') {
			return j
		}
		i = j + 1
	}
	return -1
}

// splitRequest fills method, path, query and protocol from a request line
// such as "GET /a?b=c HTTP/1.1". Empty, "-", binary (TLS handshakes logged
// as "\x16\x03\x01…") and other junk requests leave every field empty: they
// are still requests worth counting, just not ones with a page.
func splitRequest(r string, h *logs.HTTPFields) {
	h.Method, h.Path, h.Query, h.Proto = "", "", "", ""
	m := 0
	for m < len(r) && m < 32 && (r[m] >= 'A' && r[m] <= 'Z' || m > 0 && (r[m] == '-' || r[m] == '_')) {
		m++
	}
	if m == 0 || m >= len(r) || r[m] != ' ' {
		return
	}
	h.Method = r[:m]
	target := r[m+1:]
	if sp := strings.LastIndexByte(target, ' '); sp >= 0 && strings.HasPrefix(target[sp+1:], "HTTP/") {
		h.Proto = target[sp+1:]
		target = target[:sp]
	}
	setTarget(target, h)
}

// setTarget splits a request target into path and query.
func setTarget(target string, h *logs.HTTPFields) {
	if q := strings.IndexByte(target, '?'); q >= 0 {
		h.Path, h.Query = target[:q], target[q+1:]
	} else {
		h.Path, h.Query = target, ""
	}
}

// unquoteDash turns the "-" a server logs for an absent value into "".
func unquoteDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// parseStatus parses a status code: up to three digits, or "-" for none.
func parseStatus(s string) (int, bool) {
	if s == "-" {
		return 0, true
	}
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// parseBytes parses a byte count; "-" is 0. Counts beyond 18 digits are
// refused rather than overflowed.
func parseBytes(s string) (int64, bool) {
	if s == "-" {
		return 0, true
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return 0, false
		}
		v = v*10 + int64(s[i]-'0')
	}
	return v, true
}
