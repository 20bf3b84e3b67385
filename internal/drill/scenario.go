// Package drill owns tabletop drills: attack scenarios defined as YAML,
// a generator that writes their logs into a temporary directory in real
// time (a benign baseline plus the incident, with the ground truth of who
// attacks), replay of recorded logs, and the score. A drill never touches
// the real firewall: blocks go to the dry-run backend, or to a sandbox
// namespace, and the generator stops the blocked sources' traffic itself.
package drill

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed scenarios/*.yaml
var scenarioFS embed.FS

// Scenario is one drill, as loaded from YAML.
type Scenario struct {
	Name        string        `yaml:"name"`
	Title       string        `yaml:"title"`
	Description string        `yaml:"description"`
	Order       int           `yaml:"order"`    // position in 'irtui drill list'; the first is the demo
	Playbook    string        `yaml:"playbook"` // the recommended playbook
	Expect      []string      `yaml:"expect"`   // finding kinds that name the attack
	Duration    time.Duration `yaml:"duration"` // scenario time
	AttackStart time.Duration `yaml:"attack_start"`
	Complaint   string        `yaml:"complaint"` // an abuse complaint that "arrives" at the attack's start
	// Audit holds what the self-audit would measure on the drill's server
	// (open_relay, open_resolver, syn_recv): playbook checks read it.
	Audit map[string]float64 `yaml:"audit"`
	// OwnNetworks are the drill server's own client networks (its
	// resolver's users, its office): the analyzer does not count them as
	// outsiders.
	OwnNetworks []string  `yaml:"own_networks"`
	Networks    []Network `yaml:"networks"`
	Traffic     []Stream  `yaml:"traffic"`
}

// Network is a made-up autonomous system of the scenario; the drill writes
// them as an offline AS table so tracing works without any network.
type Network struct {
	ASN      uint32   `yaml:"asn"`
	Name     string   `yaml:"name"`
	Country  string   `yaml:"country"`
	Prefixes []string `yaml:"prefixes"`
	// Abuse is the network's abuse contact, listed in the drill's abuse
	// report; abuse@asN.example when empty.
	Abuse string `yaml:"abuse"`
}

// AbuseContact returns the abuse address of the network with asn, "" when
// the scenario has no such network.
func (s *Scenario) AbuseContact(asn uint32) string {
	for _, n := range s.Networks {
		if n.ASN == asn {
			if n.Abuse != "" {
				return n.Abuse
			}
			return fmt.Sprintf("abuse@as%d.example", n.ASN)
		}
	}
	return ""
}

// Stream is one kind of traffic from one population of sources.
type Stream struct {
	Name     string        `yaml:"name"`
	Role     string        `yaml:"role"` // benign or attack
	Kind     string        `yaml:"kind"` // web, mail, dns
	What     string        `yaml:"what"` // see the generator: browse, flood, login, inbound, outbound, auth_fail, relay, backscatter, query, any, denied
	Rate     float64       `yaml:"rate"` // events per second of scenario time
	Start    time.Duration `yaml:"start"`
	Sources  int           `yaml:"sources"`  // how many distinct addresses
	Networks []uint32      `yaml:"networks"` // ASes the sources come from
	Pages    []string      `yaml:"pages"`
	UAs      []string      `yaml:"uas"`
	Names    []string      `yaml:"names"` // DNS query names, mail domains
	// Assets are fetched with every page view of a browse stream (style
	// sheets, scripts, images), as browsers do.
	Assets []string `yaml:"assets"`
	// Share names an earlier stream whose sources this one uses: the same
	// hosts doing two things (spammers probing the relay they abuse).
	Share string `yaml:"share"`
}

// Scenarios returns the built-in scenarios in list order.
func Scenarios() ([]*Scenario, error) {
	entries, err := fs.ReadDir(scenarioFS, "scenarios")
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	for _, e := range entries {
		data, err := scenarioFS.ReadFile("scenarios/" + e.Name())
		if err != nil {
			return nil, err
		}
		s, err := ParseScenario(e.Name(), data)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, nil
}

// Find returns the built-in scenario called name.
func Find(name string) (*Scenario, error) {
	all, err := Scenarios()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("no drill scenario %q (known: %s)", name, strings.Join(names, ", "))
}

// Bounds that keep a scenario file from asking for unbounded time or memory.
const (
	maxDuration = 24 * time.Hour
	maxRate     = 100000
	maxSources  = 100000
)

// ParseScenario reads and checks one scenario.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: scenario %q: %s", file, s.Name, fmt.Sprintf(format, a...))
	}
	if s.Name == "" || s.Title == "" {
		return nil, bad("name and title are required")
	}
	if s.Duration <= 0 || s.AttackStart <= 0 || s.AttackStart >= s.Duration {
		return nil, bad("needs 0 < attack_start < duration")
	}
	if s.Duration > maxDuration {
		return nil, bad("duration %s is longer than %s", s.Duration, maxDuration)
	}
	asns := map[uint32]bool{}
	for _, n := range s.Networks {
		if len(n.Prefixes) == 0 {
			return nil, bad("network AS%d has no prefixes", n.ASN)
		}
		for _, p := range n.Prefixes {
			if _, err := netip.ParsePrefix(p); err != nil {
				return nil, bad("network AS%d: %v", n.ASN, err)
			}
		}
		asns[n.ASN] = true
	}
	for _, p := range s.OwnNetworks {
		if _, err := netip.ParsePrefix(p); err != nil {
			return nil, bad("own_networks: %v", err)
		}
	}
	attack := false
	streams := map[string]bool{}
	for _, t := range s.Traffic {
		if t.Share != "" && !streams[t.Share] {
			return nil, bad("stream %q shares the sources of %q, which is not an earlier stream", t.Name, t.Share)
		}
		streams[t.Name] = true
		if t.Role != "benign" && t.Role != "attack" {
			return nil, bad("stream %q: role must be benign or attack", t.Name)
		}
		attack = attack || t.Role == "attack"
		if _, ok := whats[t.Kind+"/"+t.What]; !ok {
			return nil, bad("stream %q: unknown kind/what %s/%s", t.Name, t.Kind, t.What)
		}
		if !(t.Rate > 0 && t.Rate <= maxRate) {
			return nil, bad("stream %q: rate must be above 0 and at most %d events a second", t.Name, maxRate)
		}
		if t.Sources < 0 || t.Sources > maxSources {
			return nil, bad("stream %q: sources must be 0 to %d", t.Name, maxSources)
		}
		if len(t.Networks) == 0 && t.Share == "" {
			return nil, bad("stream %q: sources need networks", t.Name)
		}
		for _, a := range t.Networks {
			if !asns[a] {
				return nil, bad("stream %q: AS%d is not among the networks", t.Name, a)
			}
		}
	}
	if !attack {
		return nil, bad("has no attack stream")
	}
	return &s, nil
}

// ASTable returns the scenario's networks as an iptoasn-style TSV
// (range_start range_end AS_number country_code AS_description), the
// offline table a drill hands to the tracer.
func (s *Scenario) ASTable() []byte {
	var b bytes.Buffer
	for _, n := range s.Networks {
		for _, p := range n.Prefixes {
			pfx := netip.MustParsePrefix(p).Masked()
			b.WriteString(pfx.Addr().String())
			b.WriteByte('\t')
			b.WriteString(lastAddr(pfx).String())
			b.WriteByte('\t')
			b.WriteString(strconv.FormatUint(uint64(n.ASN), 10))
			b.WriteByte('\t')
			b.WriteString(n.Country)
			b.WriteByte('\t')
			b.WriteString(n.Name)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		for bit := 0; bit < 8; bit++ {
			if i*8+bit >= bits {
				a[i] |= 0x80 >> bit
			}
		}
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}
