package analyze

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Config tunes the analyzer. Every detector threshold lives here so an
// operator can make irtui quieter or more eager without a rebuild; the file
// is $XDG_CONFIG_HOME/irtui/config.yaml (see ConfigPath).
type Config struct {
	// Windows are the sliding windows, e.g. 1m, 5m, 1h. The shortest gives
	// every group's Rate and Trend, the longest its Events.
	Windows []time.Duration `yaml:"windows"`
	// BaselineHalfLife is how fast a group's baseline (an EWMA of its past
	// rate) forgets: long enough that a one-hour attack does not become normal.
	BaselineHalfLife time.Duration `yaml:"baseline_half_life"`
	// Top is how many rows each grouping keeps in a Snapshot.
	Top int `yaml:"top"`
	// MaxSources bounds the addresses tracked with exact counts; beyond it
	// the least active are replaced (space-saving), so memory stays bounded.
	MaxSources int `yaml:"max_sources"`
	// MaxGroups bounds every other grouping (prefixes, pages, senders, names).
	MaxGroups int `yaml:"max_groups"`
	// Samples is how many raw lines are kept per top address and per finding.
	Samples int `yaml:"samples"`
	// Recent is the length of the ring of newest raw lines for the console.
	Recent int `yaml:"recent"`
	// Allowlist holds networks never proposed as block targets (CIDRs).
	Allowlist []string `yaml:"allowlist"`
	// OwnNetworks are the networks the operator's own clients live in: DNS
	// queries from them are not "from outside". Loopback and private
	// ranges always count as own.
	OwnNetworks []string `yaml:"own_networks"`
	// OwnDomains are the mail and DNS domains this server is responsible for.
	OwnDomains []string `yaml:"own_domains"`

	// SplitByHost keeps the pages, mail actions and DNS names of each fleet
	// host apart (keys prefixed "host "), so one page on two web servers is
	// two rows. Addresses, prefixes and ASes stay merged: an attacker is
	// one attacker across the fleet.
	SplitByHost bool `yaml:"split_by_host"`

	Clusters ClusterConfig `yaml:"clusters"`
	Detect   Thresholds    `yaml:"detect"`

	// Cumulative makes Events and Sources count since the first event
	// instead of over the longest window, as a report over files wants.
	Cumulative bool `yaml:"-"`
	// Since drops events older than this time (zero: keep all).
	Since time.Time `yaml:"-"`
	// Shards splits the state so concurrent AddEvents calls do not queue on
	// one lock; 0 picks from GOMAXPROCS.
	Shards int `yaml:"-"`

	allow, own []netip.Prefix
}

// ClusterConfig says what makes sources one behaviour cluster.
type ClusterConfig struct {
	// MaxPages is the largest page set a cluster can share ("a small set").
	MaxPages int `yaml:"max_pages"`
	// MinSize is the fewest distinct sources a cluster must have to be shown.
	MinSize int `yaml:"min_size"`
	// MinEventsPerSource leaves out one-page visitors: a cluster is shown
	// only when its members average at least this many requests.
	MinEventsPerSource float64 `yaml:"min_events_per_source"`
}

// Thresholds are the detector settings. Rates are events per second over
// the shortest window; counts are over the longest window (or the whole
// input in a report). A "factor" compares a rate with the group's baseline.
type Thresholds struct {
	PageFlood struct {
		Factor     float64 `yaml:"factor"`
		MinRate    float64 `yaml:"min_rate"`
		MinSources int     `yaml:"min_sources"`
	} `yaml:"page_flood"`
	SingleSourceFlood struct {
		MinRate  float64 `yaml:"min_rate"`
		MinShare float64 `yaml:"min_share"`
		Factor   float64 `yaml:"factor"`
	} `yaml:"single_source_flood"`
	DistributedFlood struct {
		Factor     float64 `yaml:"factor"`
		MinRate    float64 `yaml:"min_rate"`
		MaxASes    int     `yaml:"max_ases"`
		MinShare   float64 `yaml:"min_share"`
		MinSources int     `yaml:"min_sources"`
	} `yaml:"distributed_flood"`
	HTTPBruteforce struct {
		MinPerSource int64    `yaml:"min_per_source"`
		MinTotal     int64    `yaml:"min_total"`
		LoginPaths   []string `yaml:"login_paths"`
	} `yaml:"http_bruteforce"`
	Scanner struct {
		MinProbes   int64    `yaml:"min_probes"`
		MinNotFound int64    `yaml:"min_not_found"`
		ProbePaths  []string `yaml:"probe_paths"`
	} `yaml:"scanner"`
	MailRelay struct {
		MinPerSource int64 `yaml:"min_per_source"`
		MinTotal     int64 `yaml:"min_total"`
	} `yaml:"mail_relay"`
	SMTPAuthBruteforce struct {
		MinPerSource int64 `yaml:"min_per_source"`
		MinTotal     int64 `yaml:"min_total"`
	} `yaml:"smtp_auth_bruteforce"`
	OutboundSpike struct {
		Factor  float64 `yaml:"factor"`
		MinRate float64 `yaml:"min_rate"`
	} `yaml:"outbound_spike"`
	Backscatter struct {
		Factor  float64 `yaml:"factor"`
		MinRate float64 `yaml:"min_rate"`
	} `yaml:"backscatter"`
	DNSOpenResolver struct {
		MinPerSource int64 `yaml:"min_per_source"`
		MinTotal     int64 `yaml:"min_total"`
	} `yaml:"dns_open_resolver"`
	DNSAmplification struct {
		MinRate      float64  `yaml:"min_rate"`
		MinPerSource int64    `yaml:"min_per_source"`
		QTypes       []string `yaml:"qtypes"`
	} `yaml:"dns_amplification"`
}

// DefaultConfig returns the settings irtui uses without a config file.
func DefaultConfig() Config {
	c := Config{
		Windows:          []time.Duration{time.Minute, 5 * time.Minute, time.Hour},
		BaselineHalfLife: time.Hour,
		Top:              100,
		MaxSources:       1 << 19,
		MaxGroups:        1 << 16,
		Samples:          3,
		Recent:           2000,
		Clusters:         ClusterConfig{MaxPages: 4, MinSize: 5, MinEventsPerSource: 10},
	}
	d := &c.Detect
	d.PageFlood.Factor, d.PageFlood.MinRate, d.PageFlood.MinSources = 5, 5, 20
	d.SingleSourceFlood.MinRate, d.SingleSourceFlood.MinShare, d.SingleSourceFlood.Factor = 5, 0.05, 5
	d.DistributedFlood.Factor, d.DistributedFlood.MinRate = 4, 10
	d.DistributedFlood.MaxASes, d.DistributedFlood.MinShare, d.DistributedFlood.MinSources = 3, 0.6, 20
	d.HTTPBruteforce.MinPerSource, d.HTTPBruteforce.MinTotal = 20, 200
	d.HTTPBruteforce.LoginPaths = []string{"/wp-login.php", "/xmlrpc.php", "/user/login", "/administrator/index.php", "/admin/login", "/login"}
	d.Scanner.MinProbes, d.Scanner.MinNotFound = 5, 50
	d.Scanner.ProbePaths = []string{
		"/.env", "/.git/", "/wp-admin/setup-config.php", "/phpmyadmin", "/pma/", "/myadmin",
		"/cgi-bin/", "/.aws/", "/config.json", "/server-status", "/actuator", "/boaform",
		"/HNAP1", "/vendor/phpunit", "/solr/", "/owa/", "/autodiscover", "/.DS_Store",
		"/wp-config.php", "/backup", "/shell", "/eval-stdin.php", "/manager/html",
	}
	d.MailRelay.MinPerSource, d.MailRelay.MinTotal = 3, 30
	d.SMTPAuthBruteforce.MinPerSource, d.SMTPAuthBruteforce.MinTotal = 10, 100
	d.OutboundSpike.Factor, d.OutboundSpike.MinRate = 5, 1
	d.Backscatter.Factor, d.Backscatter.MinRate = 5, 0.5
	d.DNSOpenResolver.MinPerSource, d.DNSOpenResolver.MinTotal = 10, 50
	d.DNSAmplification.MinRate, d.DNSAmplification.MinPerSource = 5, 100
	d.DNSAmplification.QTypes = []string{"ANY", "TXT", "DNSKEY", "RRSIG"}
	return c
}

// ConfigPath returns where the config file lives: $XDG_CONFIG_HOME/irtui/config.yaml,
// or ~/.config/irtui/config.yaml.
func ConfigPath() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "irtui", "config.yaml")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "irtui", "config.yaml")
}

// LoadConfig reads path over the defaults. A missing file is not an error:
// it yields DefaultConfig, so irtui needs no set-up.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return c, fmt.Errorf("cannot read config %s: %w", path, err)
		default:
			if err := yaml.Unmarshal(b, &c); err != nil {
				return c, fmt.Errorf("config %s: %w (compare with `irtui report --print-config`)", path, err)
			}
		}
	}
	if err := c.normalize(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// YAML renders c as a config file, for users to copy and edit.
func (c Config) YAML() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return ""
	}
	return string(b)
}

// normalize checks the values and fills what is missing.
func (c *Config) normalize() error {
	def := DefaultConfig()
	if len(c.Windows) == 0 {
		c.Windows = def.Windows
	}
	w := append([]time.Duration(nil), c.Windows...)
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	for _, d := range w {
		if d < 6*time.Second {
			return fmt.Errorf("window %s is shorter than 6s", d)
		}
	}
	c.Windows = w
	if c.BaselineHalfLife <= 0 {
		c.BaselineHalfLife = def.BaselineHalfLife
	}
	if c.Top <= 0 {
		c.Top = def.Top
	}
	if c.MaxSources <= 0 {
		c.MaxSources = def.MaxSources
	}
	if c.MaxGroups <= 0 {
		c.MaxGroups = def.MaxGroups
	}
	if c.Samples < 0 {
		c.Samples = 0
	}
	if c.Recent < 0 {
		c.Recent = 0
	}
	if c.Clusters.MaxPages <= 0 || c.Clusters.MaxPages > maxFPPages {
		c.Clusters.MaxPages = def.Clusters.MaxPages
	}
	if c.Clusters.MinSize <= 0 {
		c.Clusters.MinSize = def.Clusters.MinSize
	}
	parse := func(list []string, what string) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, s := range list {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, err2 := netip.ParseAddr(s)
				if err2 != nil {
					return nil, fmt.Errorf("%s entry %q is not an address or CIDR", what, s)
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			out = append(out, p.Masked())
		}
		return out, nil
	}
	var err error
	if c.allow, err = parse(c.Allowlist, "allowlist"); err != nil {
		return err
	}
	if c.own, err = parse(c.OwnNetworks, "own_networks"); err != nil {
		return err
	}
	return nil
}

// AllowPrefixes returns the parsed allowlist.
func (c *Config) AllowPrefixes() []netip.Prefix { return c.allow }

// allowed reports whether a is on the allowlist.
func (c *Config) allowed(a netip.Addr) bool {
	for _, p := range c.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// inside reports whether a is one of the operator's own clients.
func (c *Config) inside(a netip.Addr) bool {
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return true
	}
	for _, p := range c.own {
		if p.Contains(a) {
			return true
		}
	}
	return c.allowed(a)
}
