package report

import (
	"encoding/json"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/irtui/irtui/internal/analyze"
)

// The JSON report. Field names are a contract: scripts outside the project
// read them (see the README). Strings from logs are JSON-escaped, which
// makes control characters inert; invalid UTF-8 becomes U+FFFD.
type jsonReport struct {
	Lines     int64            `json:"lines"`
	Parsed    int64            `json:"parsed"`
	Malformed int64            `json:"malformed"`
	Skipped   int64            `json:"skipped"`
	Formats   map[string]int64 `json:"formats"`
	From      *time.Time       `json:"from"`
	To        *time.Time       `json:"to"`
	Newest    *time.Time       `json:"newest"`
	Emitted   *time.Time       `json:"emitted,omitempty"`
	Total     jsonTotal        `json:"total"`
	Files     []jsonFile       `json:"files"`
	Sources   []jsonSource     `json:"sources"`
	Prefixes  []jsonPrefix     `json:"prefixes"`
	ASes      []jsonAS         `json:"ases"`
	Pages     []jsonPage       `json:"pages"`
	Statuses  []jsonCount      `json:"statuses"`
	Codes     []jsonCount      `json:"status_codes"`
	Clusters  []jsonCluster    `json:"clusters"`
	Mail      jsonMail         `json:"mail"`
	DNS       jsonDNS          `json:"dns"`
	Findings  []jsonFinding    `json:"findings"`
}

type jsonTotal struct {
	Events   int64   `json:"events"`
	Bytes    int64   `json:"bytes"`
	Rate     float64 `json:"rate"`
	Baseline float64 `json:"baseline"`
}

type jsonFile struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	Lines     int64  `json:"lines"`
	Events    int64  `json:"events"`
	Malformed int64  `json:"malformed"`
	Skipped   int64  `json:"skipped"`
	Error     string `json:"error,omitempty"`
}

type jsonSource struct {
	IP        string    `json:"ip"`
	Events    int64     `json:"events"`
	Bytes     int64     `json:"bytes"`
	Prefix    string    `json:"prefix"`
	ASN       uint32    `json:"asn"`
	ASName    string    `json:"as_name,omitempty"`
	Country   string    `json:"country,omitempty"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Rate      float64   `json:"rate"`
	Share     float64   `json:"share"`
	Estimated bool      `json:"estimated,omitempty"`
	Samples   []string  `json:"samples,omitempty"`
}

type jsonPrefix struct {
	Prefix  string    `json:"prefix"`
	Events  int64     `json:"events"`
	Bytes   int64     `json:"bytes"`
	Sources int       `json:"sources"`
	ASN     uint32    `json:"asn"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Share   float64   `json:"share"`
	Top     []jsonKV  `json:"top,omitempty"`
}

type jsonAS struct {
	ASN     uint32   `json:"asn"`
	Name    string   `json:"name"`
	Country string   `json:"country,omitempty"`
	Sources int      `json:"sources"`
	Events  int64    `json:"events"`
	Bytes   int64    `json:"bytes"`
	Share   float64  `json:"share"`
	Rate    float64  `json:"rate"`
	Top     []jsonKV `json:"top,omitempty"`
}

type jsonPage struct {
	Host    string   `json:"host,omitempty"` // with --split-by-host: the fleet host
	Vhost   string   `json:"vhost"`
	Path    string   `json:"path"`
	Events  int64    `json:"events"`
	Bytes   int64    `json:"bytes"`
	Sources int      `json:"sources"`
	Share   float64  `json:"share"`
	Rate    float64  `json:"rate"`
	ASes    []jsonKV `json:"ases,omitempty"`
}

type jsonCount struct {
	Key     string `json:"key"`
	Events  int64  `json:"events"`
	Bytes   int64  `json:"bytes"`
	Sources int    `json:"sources"`
}

type jsonKV struct {
	Key    string `json:"key"`
	Events int64  `json:"events"`
}

type jsonCluster struct {
	ID      string   `json:"id"`
	UA      string   `json:"ua"`
	Pages   []string `json:"pages"`
	Size    int      `json:"size"`
	Events  int64    `json:"events"`
	Sources []string `json:"sources"`
	ASes    []jsonKV `json:"ases"`
}

type jsonMail struct {
	Actions []jsonCount `json:"actions"`
	Clients []jsonCount `json:"clients"`
	Senders []jsonCount `json:"senders"`
}

type jsonDNS struct {
	Names   []jsonCount `json:"names"`
	Types   []jsonCount `json:"types"`
	Clients []jsonCount `json:"clients"`
	Denied  []jsonCount `json:"denied"`
}

type jsonFinding struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Summary  string         `json:"summary"`
	Evidence []jsonEvidence `json:"evidence"`
	Targets  []string       `json:"targets"`
	Ports    []string       `json:"ports"`
	Samples  []string       `json:"samples"`
	First    time.Time      `json:"first"`
	Last     time.Time      `json:"last"`
}

type jsonEvidence struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func counts(gs []analyze.Group, top int) []jsonCount {
	out := make([]jsonCount, 0, min(top, len(gs)))
	for _, g := range gs[:min(top, len(gs))] {
		out = append(out, jsonCount{Key: g.Key, Events: g.Events, Bytes: g.Bytes, Sources: g.Sources})
	}
	return out
}

func kvs(ms []analyze.Member) []jsonKV {
	out := make([]jsonKV, 0, len(ms))
	for _, m := range ms {
		out = append(out, jsonKV{m.Key, m.Events})
	}
	return out
}

// BuildJSON returns the JSON report's value (for tests and embedding).
func BuildJSON(s *analyze.Snapshot, m Meta, top int) any {
	r := jsonReport{
		Lines: max(m.Lines, s.Lines+m.Skipped), Parsed: s.Parsed, Malformed: s.Malformed, Skipped: s.Skipped + m.Skipped,
		Formats: s.Formats, From: timePtr(s.From), To: timePtr(s.To), Newest: timePtr(s.Newest), Emitted: timePtr(m.Emitted),
		Total: jsonTotal{Events: s.Total.Events, Bytes: s.Total.Bytes, Rate: s.Total.Rate, Baseline: s.Total.Baseline},
	}
	if r.Formats == nil {
		r.Formats = map[string]int64{}
	}
	for _, f := range m.Files {
		r.Files = append(r.Files, jsonFile{Name: f.Source, Format: f.Format, Lines: f.Lines, Events: f.Events,
			Malformed: f.Malformed, Skipped: f.Skipped, Error: f.Err})
	}
	for _, g := range s.IPs[:min(top, len(s.IPs))] {
		ip := g.Prefix.Addr()
		p1, _ := analyze.Prefixes(ip)
		r.Sources = append(r.Sources, jsonSource{IP: g.Key, Events: g.Events, Bytes: g.Bytes, Prefix: p1.String(),
			ASN: g.ASN, ASName: g.ASName, Country: g.Country, First: g.First, Last: g.Last, Rate: g.Rate, Share: g.Share,
			Estimated: g.Estimated, Samples: g.Samples})
	}
	for _, g := range s.Prefixes[:min(top, len(s.Prefixes))] {
		r.Prefixes = append(r.Prefixes, jsonPrefix{Prefix: g.Key, Events: g.Events, Bytes: g.Bytes, Sources: g.Sources,
			ASN: g.ASN, First: g.First, Last: g.Last, Share: g.Share, Top: kvs(g.Top)})
	}
	for _, g := range s.ASes[:min(top, len(s.ASes))] {
		name := g.ASName
		if g.ASN == 0 {
			name = "AS unknown"
		}
		r.ASes = append(r.ASes, jsonAS{ASN: g.ASN, Name: name, Country: g.Country, Sources: g.Sources, Events: g.Events,
			Bytes: g.Bytes, Share: g.Share, Rate: g.Rate, Top: kvs(g.Top)})
	}
	for _, g := range s.Pages[:min(top, len(s.Pages))] {
		r.Pages = append(r.Pages, jsonPage{Host: g.Host, Vhost: g.Vhost, Path: g.Path, Events: g.Events, Bytes: g.Bytes,
			Sources: g.Sources, Share: g.Share, Rate: g.Rate, ASes: kvs(g.Top)})
	}
	r.Statuses = counts(s.Statuses, 16)
	codes := append([]analyze.Group(nil), s.StatusCodes...)
	sort.SliceStable(codes, func(i, j int) bool {
		a, _ := strconv.Atoi(codes[i].Key)
		b, _ := strconv.Atoi(codes[j].Key)
		return a < b
	})
	r.Codes = counts(codes, len(codes))
	for _, c := range s.Clusters[:min(top, len(s.Clusters))] {
		jc := jsonCluster{ID: c.ID, UA: c.UA, Pages: c.Pages, Size: c.Size, Events: c.Events, ASes: kvs(c.ASes), Sources: []string{}}
		for _, a := range c.Sources {
			jc.Sources = append(jc.Sources, a.String())
		}
		r.Clusters = append(r.Clusters, jc)
	}
	r.Mail = jsonMail{Actions: counts(s.MailActions, top), Clients: counts(s.MailClients, top), Senders: counts(s.MailSenders, top)}
	r.DNS = jsonDNS{Names: counts(s.DNSNames, top), Types: counts(s.DNSTypes, top), Clients: counts(s.DNSClients, top),
		Denied: counts(s.DNSDenied, top)}
	for _, f := range s.Findings {
		jf := jsonFinding{ID: f.ID, Kind: f.Kind, Severity: f.Severity.String(), Summary: f.Summary, Ports: f.Ports,
			Samples: f.Samples, First: f.First, Last: f.Last, Targets: prefixes(f.Targets)}
		for _, e := range f.Evidence {
			jf.Evidence = append(jf.Evidence, jsonEvidence{e.Label, e.Count})
		}
		r.Findings = append(r.Findings, jf)
	}
	// Empty lists are [] rather than null, so scripts can iterate blindly.
	if r.Sources == nil {
		r.Sources = []jsonSource{}
	}
	if r.Prefixes == nil {
		r.Prefixes = []jsonPrefix{}
	}
	if r.ASes == nil {
		r.ASes = []jsonAS{}
	}
	if r.Pages == nil {
		r.Pages = []jsonPage{}
	}
	if r.Clusters == nil {
		r.Clusters = []jsonCluster{}
	}
	if r.Findings == nil {
		r.Findings = []jsonFinding{}
	}
	if r.Files == nil {
		r.Files = []jsonFile{}
	}
	return r
}

func prefixes(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Bits() == p.Addr().BitLen() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out
}

// WriteJSON writes the report as one JSON object on one line.
func WriteJSON(w io.Writer, s *analyze.Snapshot, m Meta, top int) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(BuildJSON(s, m, top))
}
