package analyze

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// Prefixes returns the networks an address is grouped under: an IPv4
// address (also written IPv4-mapped, ::ffff:a.b.c.d) in its /24, an IPv6
// address in its /64 and its /48 (second is invalid for IPv4).
func Prefixes(a netip.Addr) (netip.Prefix, netip.Prefix) {
	a = a.Unmap()
	if !a.IsValid() {
		return netip.Prefix{}, netip.Prefix{}
	}
	if a.Is4() {
		p, _ := a.Prefix(24)
		return p, netip.Prefix{}
	}
	p64, _ := a.Prefix(64)
	p48, _ := a.Prefix(48)
	return p64, p48
}

// shardKey is what decides an address's shard: its /24 or /48, so an
// address and all its prefixes live in the same shard.
func shardKey(a netip.Addr) uint64 {
	if !a.IsValid() {
		return 0
	}
	if a.Is4() {
		b := a.As4()
		return mix64(uint64(binary.BigEndian.Uint32(b[:])) >> 8)
	}
	b := a.As16()
	return mix64(binary.BigEndian.Uint64(b[:8])>>16 | 1<<63)
}

// AppendPage appends the page key of a request to dst: the virtual host in
// lower case, then the path without its query string and with its
// percent-encoding normalised (escaped unreserved characters decoded, hex
// digits in upper case, a stray '%' escaped), so /a%2Db and /a-b are one
// page, and normalising a key again changes nothing.
func AppendPage(dst []byte, vhost, path string) []byte {
	for i := 0; i < len(vhost); i++ {
		c := vhost[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	start := len(dst)
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '?' { // the query string is no part of the page
			break
		}
		if c == '%' && i+2 < len(path) {
			if h, l := unhex(path[i+1]), unhex(path[i+2]); h >= 0 && l >= 0 {
				v := byte(h<<4 | l)
				if unreserved(v) {
					dst = append(dst, v)
				} else {
					dst = append(dst, '%', upperHex[v>>4], upperHex[v&15])
				}
				i += 2
				continue
			}
		}
		if c == '%' { // a stray '%' is written escaped, so decoding stays idempotent
			dst = append(dst, "%25"...)
			continue
		}
		dst = append(dst, c)
	}
	if len(dst) == start {
		return append(dst, '/')
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold reports whether s ends with suffix, ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// statusClass returns "1xx".."5xx", or "other".
func statusClass(code int) string {
	switch code / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "other"
}

// nullSender reports whether a mail's envelope sender is the null sender
// of bounces and delivery notifications.
func nullSender(from string) bool {
	switch from {
	case "", "<>", "MAILER-DAEMON":
		return true
	}
	return hasPrefixFold(from, "mailer-daemon@")
}

// asKey is the group key of an AS.
func asKey(asn uint32) string {
	if asn == 0 {
		return "AS unknown"
	}
	return "AS" + uitoa(uint64(asn))
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}
