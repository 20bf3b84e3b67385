// Package analyze owns all counting: sliding windows over events, groupings
// by source, prefix, AS, page, mail action and DNS name, behaviour clusters,
// baselines, the detectors that raise findings, and the immutable Snapshot
// the console and reports read. It does no I/O.
package analyze

import (
	"net/netip"
	"time"
)

// ASResolver is the enrichment the trace package fills. ASOf must not
// block: it answers from what is already known and returns ok=false for an
// address not resolved yet ("AS unknown").
type ASResolver interface {
	ASOf(ip netip.Addr) (asn uint32, name, country string, ok bool)
}

// ASEpocher is an ASResolver that can tell when asking again is worth it:
// ASEpoch returns a number that changes whenever ASOf may answer an address
// it could not answer before (a table loaded, a lookup done) or would now
// retry a lookup it gave up on. It is optional; with it, an address the
// resolver could not answer is not asked for again (as its count grows, or
// when a report sums the addresses) until the epoch changes.
type ASEpocher interface {
	ASEpoch() uint64
}

// Severity orders findings.
type Severity int

// Severities, lowest first.
const (
	SevInfo Severity = iota
	SevLow
	SevMedium
	SevHigh
	SevCritical
)

// String returns "info", "low", "medium", "high" or "critical".
func (s Severity) String() string {
	switch s {
	case SevLow:
		return "low"
	case SevMedium:
		return "medium"
	case SevHigh:
		return "high"
	case SevCritical:
		return "critical"
	}
	return "info"
}

// Snapshot is an immutable picture of the analyzer at one moment. Nothing
// in it is changed after it is returned, so it may be read from any goroutine.
type Snapshot struct {
	Taken     time.Time       // wall clock when taken
	Newest    time.Time       // time of the newest event seen (the data clock)
	From, To  time.Time       // oldest and newest event time
	Windows   []time.Duration // the sliding windows, shortest first
	Lines     int64           // lines read
	Parsed    int64           // lines understood
	Malformed int64           // lines not understood
	Skipped   int64           // lines understood but older than Config.Since
	Formats   map[string]int64
	// Total is the whole traffic as one group (rate against baseline).
	Total Group

	Sources []SourceHealth // one per log source followed

	IPs      []Group // Key is the address
	Prefixes []Group // Key is the prefix (v4 /24, v6 /64 and /48)
	ASes     []Group // Key is "AS<n>" or "AS unknown"
	Pages    []Group // Key is vhost+path
	Statuses []Group // Key is "2xx", "3xx", ...
	// StatusCodes has one row per HTTP status code, Key "200", "404", ...
	StatusCodes []Group

	MailActions []Group // Key is action, or action/reason for rejects
	MailClients []Group // Key is the client address
	MailSenders []Group // Key is the envelope sender

	DNSNames   []Group // Key is the query name
	DNSTypes   []Group // Key is the query type
	DNSClients []Group // Key is the client address
	DNSDenied  []Group // Key is the client address of denied/refused queries

	Clusters []Cluster
	Findings []Finding
	Recent   []RecentLine // the newest raw lines, oldest first, bounded
	Bad      []BadLine    // a bounded sample of malformed lines
}

// Group is one row of a grouping.
type Group struct {
	Key      string
	Prefix   netip.Prefix // for IP and prefix groups
	ASN      uint32       // 0 when unknown
	ASName   string
	Country  string
	Events   int64   // events in the longest window (or since start in a report)
	Bytes    int64   // response bytes (web) or message size (mail)
	Sources  int     // distinct source addresses (exact up to a bound, then estimated)
	Rate     float64 // events per second over the shortest window
	Baseline float64 // the group's own baseline rate (EWMA of the past)
	Share    float64 // share of all events in the same window, 0..1
	First    time.Time
	Last     time.Time
	Trend    []float64 // events per second, one point per shortest-window bucket, oldest first
	Top      []Member  // top members: addresses of a prefix, prefixes of an AS, ASes of a page

	// Vhost and Path split a page's Key.
	Vhost, Path string
	// Host is the fleet host of a page when Config.SplitByHost is set
	// (its Key then starts with "host "); "" for this host or when merged.
	Host string
	// Estimated is set when Events may be low by up to ErrorBound because
	// the group was evicted once (heavy-hitter tracking at high cardinality).
	Estimated  bool
	ErrorBound int64
	// Samples are a few raw lines of a top address (attacker-controlled:
	// sanitize before showing), for evidence in an abuse report.
	Samples []string
}

// Member is one top member of a group.
type Member struct {
	Key    string
	Events int64
}

// Cluster is a set of sources behaving alike: the same small set of pages,
// the same user agent, in the same window.
type Cluster struct {
	ID      string
	UA      string
	Pages   []string
	Size    int // distinct sources
	Events  int64
	Sources []netip.Addr // top sources, bounded
	ASes    []Member
}

// Finding is what a detector raised.
type Finding struct {
	ID       string // stable while the finding stays active
	Kind     string // page_flood, single_source_flood, distributed_flood, http_bruteforce, scanner, mail_relay, smtp_auth_bruteforce, outbound_spike, backscatter, dns_open_resolver, dns_amplification
	Severity Severity
	Summary  string
	Evidence []Evidence
	Samples  []string       // a few raw lines (attacker-controlled: sanitize before showing)
	Targets  []netip.Prefix // candidate block targets (single addresses as /32 or /128)
	Ports    []string       // suggested scope, e.g. "tcp/80", "tcp/443"
	First    time.Time
	Last     time.Time
}

// Evidence is one named count supporting a finding.
type Evidence struct {
	Label string
	Count int64
}

// SourceHealth describes one followed source.
type SourceHealth struct {
	Name      string
	Host      string
	Format    string
	Lines     int64
	Malformed int64
	Rate      float64   // lines per second now
	Trend     []float64 // lines per second, oldest first
	Lag       time.Duration
	Err       string // the last error, if any (already safe to show)
}

// RecentLine is one raw line kept for the console's log screen.
type RecentLine struct {
	Time   time.Time
	Source string
	Src    netip.Addr
	Kind   string
	Line   string // attacker-controlled: sanitize before showing
}

// BadLine is one malformed line kept as a sample.
type BadLine struct {
	Source string
	LineNo int64
	Reason string
	Line   string // attacker-controlled: sanitize before showing
}

// Impact is what blocking a set of targets would do.
type Impact struct {
	AttackCovered  float64 // share of current attack traffic the targets cover, 0..1
	BaselineCut    float64 // share of the baseline (pre-attack) traffic they would also cut, 0..1
	AttackEvents   int64
	BaselineEvents int64
}
