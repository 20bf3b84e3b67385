// Package remote follows log files on other hosts through the system's
// ssh client, so the operator's keys, known_hosts and ~/.ssh/config
// (ProxyJump included) apply. A source reconnects with backoff after a
// dropped link and resumes at the byte after the last whole line it
// delivered, checking the file's identity first: lines are neither lost
// nor repeated across a reconnect, and across a rotation when the rotated
// file is still at PATH.1.
package remote

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// URL is an ssh:// source: ssh://[user@]host[:port]/path/to/log.
type URL struct {
	User string
	Host string // a name, an ~/.ssh/config alias, or an address (IPv6 in brackets in the URL)
	Port int    // 0: ssh's default (or the config's)
	Path string // absolute
}

// IsURL reports whether s names a remote source.
func IsURL(s string) bool { return strings.HasPrefix(s, "ssh://") }

// ParseURL parses ssh://[user@]host[:port]/path. The path is taken as is
// (no percent-decoding beyond what a path needs), must be absolute and
// free of control characters; host and user must not look like options.
func ParseURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, "ssh://")
	if !ok {
		return URL{}, fmt.Errorf("%q is not an ssh:// source (use ssh://[user@]host[:port]/path/to/log)", clip(s))
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return URL{}, fmt.Errorf("%q has no path: use ssh://host/var/log/nginx/access.log", clip(s))
	}
	auth, path := rest[:slash], rest[slash:]
	u, err := url.Parse("ssh://" + auth)
	if err != nil || u.Host == "" {
		return URL{}, fmt.Errorf("%q: cannot read the host part (use ssh://[user@]host[:port]/path)", clip(s))
	}
	var out URL
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return URL{}, errors.New("ssh:// sources take no password: ssh uses your keys and agent")
		}
		out.User = u.User.Username()
		if out.User == "" || !safeWord(out.User) {
			return URL{}, fmt.Errorf("%q: the user name is not usable", clip(s))
		}
	}
	out.Host = u.Hostname()
	if strings.Contains(out.Host, ":") {
		// Only a bracketed IPv6 address may hold colons.
		a, err := netip.ParseAddr(out.Host)
		if err != nil || !a.Is6() || a.Zone() != "" || !strings.HasPrefix(u.Host, "[") {
			return URL{}, fmt.Errorf("%q: write an IPv6 host in brackets, as in ssh://[2001:db8::7]/path", clip(s))
		}
	}
	if !safeWord(out.Host) {
		return URL{}, fmt.Errorf("%q: the host name is not usable", clip(s))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return URL{}, fmt.Errorf("%q: port must be 1-65535", clip(s))
		}
		out.Port = n
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return URL{}, fmt.Errorf("%q: the path holds control characters", clip(s))
	}
	if len(path) > 4096 {
		return URL{}, errors.New("the path is longer than 4096 bytes")
	}
	out.Path = path
	return out, nil
}

// safeWord accepts host and user names ssh will not read as options or
// split: no leading '-', no spaces, controls or shell-significant bytes.
func safeWord(s string) bool {
	if s == "" || s[0] == '-' || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte("'\"`$\\;&|<>(){}*?[]!#~,%", c) >= 0 {
			return false
		}
	}
	return true
}

// String returns the URL in its canonical form.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString("ssh://")
	if u.User != "" {
		b.WriteString(u.User)
		b.WriteByte('@')
	}
	if strings.Contains(u.Host, ":") {
		b.WriteString("[" + u.Host + "]")
	} else {
		b.WriteString(u.Host)
	}
	if u.Port != 0 {
		b.WriteString(":" + strconv.Itoa(u.Port))
	}
	b.WriteString(u.Path)
	return b.String()
}

// sshArgs returns ssh's arguments up to and including the destination.
// The operator's extra options come first: ssh keeps the first value it
// sees for each option, so they override irtui's defaults.
func (u URL) sshArgs(extra []string) []string {
	args := append([]string{}, extra...)
	args = append(args, "-T",
		"-o", "BatchMode=yes",
		"-o", "ServerAliveInterval=5",
		"-o", "ServerAliveCountMax=3",
		"-o", "ConnectTimeout=10")
	if u.Port != 0 {
		args = append(args, "-p", strconv.Itoa(u.Port))
	}
	if u.User != "" {
		args = append(args, "-l", u.User)
	}
	return append(args, "--", u.Host)
}

// shQuote quotes s as one word for a POSIX shell: inside single quotes
// nothing is special, and a single quote is closed, escaped and reopened.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func clip(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
