// Package sanitize makes attacker-controlled text safe to draw on a terminal
// or write into a report: log lines, user agents, paths, PTR names and lookup
// answers all pass through it before anyone sees them.
package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s with every control character, escape sequence and invalid
// UTF-8 byte made visible and inert: C0/C1 controls and DEL become '?',
// ESC introduces nothing, bidi overrides are dropped. Tabs become a space.
// Printable text is returned unchanged and without allocation.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('?')
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteByte('?')
		case isBidi(r) || r == '\u200b' || r == '\ufeff':
			// invisible or direction-changing: drop
		case !unicode.IsPrint(r) && !unicode.IsSpace(r):
			b.WriteByte('?')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Truncate sanitizes s and cuts it to at most n runes, marking a cut with '…'.
func Truncate(s string, n int) string {
	s = Text(s)
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				return cleanUTF8(s[i:])
			}
			return false
		}
	}
	return true
}

func cleanUTF8(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			isBidi(r) || r == '\u200b' || r == '\ufeff' || (!unicode.IsPrint(r) && !unicode.IsSpace(r)) {
			return false
		}
	}
	return true
}

func isBidi(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c'
}
