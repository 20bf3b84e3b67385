package trace

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/irtui/irtui/internal/sanitize"
)

// infoJSON is the `irtui trace --json` contract: every key always present,
// unknown values null.
type infoJSON struct {
	IP           string   `json:"ip"`
	ASN          *uint32  `json:"asn"`
	ASNs         []uint32 `json:"origins"`
	ASName       *string  `json:"as_name"`
	Prefix       *string  `json:"prefix"`
	Country      *string  `json:"country"`
	Registry     *string  `json:"registry"`
	Allocated    *string  `json:"allocated"`
	Routed       *bool    `json:"routed"`
	PTR          *string  `json:"ptr"`
	PTRConfirmed *bool    `json:"ptr_confirmed"`
	Abuse        []string `json:"abuse"`
	Source       *string  `json:"source"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	s = sanitize.Text(s)
	return &s
}

// MarshalJSON writes the fields of the trace contract; unknown is null.
func (i Info) MarshalJSON() ([]byte, error) {
	j := infoJSON{
		IP:        i.IP.String(),
		ASName:    strPtr(i.ASName),
		Country:   strPtr(i.Country),
		Registry:  strPtr(i.Registry),
		Allocated: strPtr(i.Allocated),
		PTR:       strPtr(i.PTR),
		Source:    strPtr(i.ASSource),
		ASNs:      i.ASNs,
	}
	if i.ASN != 0 {
		asn := i.ASN
		j.ASN = &asn
	}
	if i.Prefix.IsValid() {
		j.Prefix = strPtr(i.Prefix.String())
	}
	switch {
	case i.ASN != 0:
		t := true
		j.Routed = &t
	case i.Unrouted:
		f := false
		j.Routed = &f
	}
	if i.PTRChecked && i.PTR != "" {
		c := i.PTRConfirmed
		j.PTRConfirmed = &c
	}
	if i.Abuse != nil {
		j.Abuse = make([]string, 0, len(i.Abuse))
		for _, a := range i.Abuse {
			j.Abuse = append(j.Abuse, sanitize.Text(a))
		}
	}
	return json.Marshal(j)
}

// WriteText writes info as the human-readable block `irtui trace` prints.
func WriteText(w io.Writer, i Info) error {
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return sanitize.Text(s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", i.IP)
	switch {
	case i.ASN != 0:
		fmt.Fprintf(&b, "  AS        AS%d %s\n", i.ASN, unknown(i.ASName))
		if len(i.ASNs) > 1 {
			others := make([]string, 0, len(i.ASNs)-1)
			for _, a := range i.ASNs[1:] {
				others = append(others, "AS"+strconv.FormatUint(uint64(a), 10))
			}
			fmt.Fprintf(&b, "  also       originated by %s\n", strings.Join(others, ", "))
		}
	case i.Unrouted:
		fmt.Fprintf(&b, "  AS        not routed\n")
	default:
		fmt.Fprintf(&b, "  AS        unknown\n")
	}
	prefix := "unknown"
	if i.Prefix.IsValid() {
		prefix = i.Prefix.String()
	}
	fmt.Fprintf(&b, "  prefix    %s\n", prefix)
	fmt.Fprintf(&b, "  country   %s\n", unknown(i.Country))
	reg := unknown(i.Registry)
	if i.Allocated != "" {
		reg += ", allocated " + sanitize.Text(i.Allocated)
	}
	fmt.Fprintf(&b, "  registry  %s\n", reg)
	ptr := unknown(i.PTR)
	switch {
	case i.PTR == "" && i.PTRChecked:
		ptr = "none"
	case i.PTR != "" && i.PTRChecked && i.PTRConfirmed:
		ptr += " (forward-confirmed)"
	case i.PTR != "" && i.PTRChecked:
		ptr += " (NOT forward-confirmed: the name does not resolve back to this address)"
	case i.PTR != "":
		ptr += " (forward confirmation unknown)"
	}
	fmt.Fprintf(&b, "  PTR       %s\n", ptr)
	abuse := "unknown"
	if i.Abuse != nil {
		abuse = "none published"
		if len(i.Abuse) > 0 {
			clean := make([]string, len(i.Abuse))
			for k, a := range i.Abuse {
				clean[k] = sanitize.Text(a)
			}
			abuse = strings.Join(clean, ", ")
		}
	}
	fmt.Fprintf(&b, "  abuse     %s\n", abuse)
	if i.ASSource != "" {
		fmt.Fprintf(&b, "  source    %s\n", sanitize.Text(i.ASSource))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// listFlag is a repeatable string flag.
type listFlag struct{ l *[]string }

func (f listFlag) String() string {
	if f.l == nil {
		return ""
	}
	return strings.Join(*f.l, ",")
}

func (f listFlag) Set(s string) error {
	*f.l = append(*f.l, s)
	return nil
}

// resolverFlag accepts HOST, HOST:PORT or [V6]:PORT, repeatable.
type resolverFlag struct{ l *[]string }

func (f resolverFlag) String() string { return listFlag(f).String() }

func (f resolverFlag) Set(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "53"
	}
	if host == "" {
		return fmt.Errorf("want HOST:PORT, e.g. 127.0.0.1:53")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	*f.l = append(*f.l, net.JoinHostPort(host, port))
	return nil
}

// AddFlags registers the lookup flags every subcommand that looks
// anything up shares, and returns the Config they fill.
func AddFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.Var(resolverFlag{&c.Resolvers}, "resolver", "DNS resolver `HOST:PORT` to ask (repeatable; default: the system's, from /etc/resolv.conf)")
	fs.BoolVar(&c.Offline, "offline", false, "send no network queries at all: answer from --asn-db tables and the cache only")
	fs.Var(listFlag{&c.ASNDB}, "asn-db", "offline IP→AS table `FILE` (RouteViews pfx2as, iptoasn TSV, GeoLite2-ASN .mmdb; .gz ok; repeatable)")
	fs.BoolVar(&c.RDAP, "rdap", false, "ask RDAP for abuse contacts when the Abusix zone has none (HTTPS to rdap.org)")
	return c
}
