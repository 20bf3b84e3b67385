package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the part of irtui's config file the audit reads.
type Config struct {
	// OwnDomains are the mail domains the operator runs; `irtui audit`
	// checks their mail DNS records.
	OwnDomains []string `yaml:"own_domains"`
	// DKIMSelectors are checked for every own domain.
	DKIMSelectors []string `yaml:"dkim_selectors"`
}

// ConfigPath is $XDG_CONFIG_HOME/irtui/config.yaml, or ~/.config/… when the
// variable is unset or relative.
func ConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec says to ignore relative paths
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "irtui", "config.yaml")
}

// maxConfigSize keeps a mistaken path (a log, a device) from being read whole.
const maxConfigSize = 1 << 20

// LoadConfig reads the config file; a missing file is an empty config.
// Keys other sections own are ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("cannot read %s: %v", path, err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return c, fmt.Errorf("cannot read %s: %v", path, err)
	}
	if len(b) > maxConfigSize {
		return c, fmt.Errorf("%s is larger than 1 MiB; is it the right file?", path)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %v (fix the YAML, or point XDG_CONFIG_HOME elsewhere)", path, err)
	}
	return c, nil
}

// LocalOptions configures the checklist `irtui audit` runs on this host.
type LocalOptions struct {
	// ProcRoot is where /proc is (tests use fixtures); "/proc" when empty.
	ProcRoot string
	// Config holds the operator's own domains.
	Config Config
	// Timeout bounds every network step.
	Timeout time.Duration
	// Resolver answers the mail-DNS lookups; system resolver when empty.
	Resolver string
	// SMTPPort and DNSPort are the ports looked for (25 and 53 by default).
	SMTPPort, DNSPort uint16
	// Relay carries the made-up domains for the relay check.
	Relay RelayOptions
}

// CheckLocal audits this host: the mail server and DNS server it runs, if
// any (talking only to this host's own addresses), the mail DNS of the
// operator's own domains, and the SYN backlog.
func CheckLocal(ctx context.Context, o LocalOptions) []Result {
	if o.SMTPPort == 0 {
		o.SMTPPort = 25
	}
	if o.DNSPort == 0 {
		o.DNSPort = 53
	}
	var out []Result

	addrs := Listening(o.ProcRoot, false, o.SMTPPort)
	if host, loopOnly, ok := localTarget(addrs); ok {
		ro := o.Relay
		ro.Addr = net.JoinHostPort(host, strconv.Itoa(int(o.SMTPPort)))
		ro.Timeout = o.Timeout
		ro.FromThisHost = true
		r := CheckRelay(ctx, ro)
		if d, ok := r.Data.(*RelayData); ok && loopOnly && r.Verdict == Unknown && relayAccepted(d) {
			r.Verdict = Fine
			r.Summary = "relays for this host, but listens only on " + addrList(addrs) + ": strangers cannot reach it"
		}
		out = append(out, r)
	} else {
		out = append(out, Result{Check: "relay", Target: fmt.Sprintf("port %d", o.SMTPPort), Skipped: true,
			Summary: fmt.Sprintf("no mail server listens on port %d here", o.SMTPPort)})
	}

	addrs = append(Listening(o.ProcRoot, true, o.DNSPort), Listening(o.ProcRoot, false, o.DNSPort)...)
	if host, loopOnly, ok := localTarget(addrs); ok {
		r := CheckResolver(ctx, ResolverOptions{Addr: net.JoinHostPort(host, strconv.Itoa(int(o.DNSPort))), Timeout: o.Timeout, FromThisHost: true})
		if d, ok := r.Data.(*ResolverData); ok && loopOnly && r.Verdict == Unknown && d.Recursion.Recursive {
			r.Verdict = Fine
			r.Summary = "resolves for this host, but listens only on " + addrList(addrs) + ": strangers cannot reach it"
		}
		out = append(out, r)
	} else {
		out = append(out, Result{Check: "resolver", Target: fmt.Sprintf("port %d", o.DNSPort), Skipped: true,
			Summary: fmt.Sprintf("no DNS server listens on port %d here", o.DNSPort)})
	}

	if len(o.Config.OwnDomains) == 0 {
		out = append(out, Result{Check: "mail-dns", Target: "own_domains", Skipped: true,
			Summary: "no own_domains in " + ConfigPath() + " (add them to check SPF, DMARC, DKIM, MX and PTR)"})
	}
	for _, d := range o.Config.OwnDomains {
		out = append(out, CheckMailDNS(ctx, MailDNSOptions{Domain: d, Resolver: o.Resolver, DKIMSelectors: o.Config.DKIMSelectors, Timeout: o.Timeout}))
	}

	out = append(out, CheckSYN(o.ProcRoot))
	return out
}

// localTarget picks the address to talk to among the ones a service listens
// on: 127.0.0.1 when it listens there or on every address, else its own
// specific address. loopOnly says strangers cannot reach it at all.
func localTarget(addrs []netip.Addr) (host string, loopOnly, ok bool) {
	if len(addrs) == 0 {
		return "", false, false
	}
	loopOnly = true
	var loop, other netip.Addr
	wildcard := false
	for _, a := range addrs {
		switch {
		case a.IsUnspecified():
			wildcard, loopOnly = true, false
		case a.IsLoopback():
			if !loop.IsValid() || a == netip.MustParseAddr("127.0.0.1") {
				loop = a
			}
		default:
			loopOnly = false
			if !other.IsValid() {
				other = a
			}
		}
	}
	switch {
	case wildcard:
		return "127.0.0.1", false, true
	case loop.IsValid():
		return loop.String(), loopOnly, true
	default:
		return other.String(), false, true
	}
}

func relayAccepted(d *RelayData) bool {
	for _, a := range d.Attempts {
		if a.Outcome == outcomeAccepted {
			return true
		}
	}
	return false
}

func addrList(addrs []netip.Addr) string {
	seen := map[netip.Addr]bool{}
	var s []string
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			s = append(s, a.String())
		}
	}
	return strings.Join(s, ", ")
}
