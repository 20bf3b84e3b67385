// Package ui owns the console: the Bubble Tea models of each screen, their
// key maps and styles. It reads analyzer snapshots and sends intents (trace
// this, block that, add to the report) to engines it only knows through the
// small interfaces below, so it never parses logs or builds firewall rules.
package ui

import (
	"context"
	"net/netip"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/playbook"
)

// Mode is what the console is connected to; it is shown in the header at
// all times so nobody mistakes a drill for the real firewall.
type Mode int

// The modes.
const (
	ModeLive   Mode = iota // blocks change the real firewall
	ModeDrill              // a drill: generated or replayed logs, sandboxed blocks
	ModeDryRun             // blocks are planned and shown, never applied
)

// String returns "LIVE", "DRILL" or "DRY-RUN".
func (m Mode) String() string {
	switch m {
	case ModeDrill:
		return "DRILL"
	case ModeDryRun:
		return "DRY-RUN"
	}
	return "LIVE"
}

// Action is what a block does to matching packets.
type Action string

// The block actions the dialog offers.
const (
	ActionDrop      Action = "drop"
	ActionReject    Action = "reject"
	ActionRateLimit Action = "ratelimit"
)

// BlockRequest is what the operator asked for in the block dialog.
type BlockRequest struct {
	Targets []netip.Prefix
	Ports   []string // "tcp/80"; empty means every port
	Action  Action
	TTL     time.Duration
	Rate    string // ratelimit: new connections per source ("10/second"); a human pace when empty
	Reason  string // the finding or group the block came from
}

// Refusal is a target the planner refused, with the reason (for instance the
// operator's own SSH client).
type Refusal struct {
	Target netip.Prefix
	Reason string
}

// BlockPlan is a planned block: the exact rules text the operator confirms
// and an opaque handle the engine applies.
type BlockPlan struct {
	Request BlockRequest
	Rules   string
	Refused []Refusal
	Handle  any
}

// ActiveBlock is one block in force.
type ActiveBlock struct {
	ID      string
	Target  string
	Ports   string
	Action  string
	Expires time.Time // zero: never
	Packets uint64
	Bytes   uint64
	Reason  string
	// Targets is every prefix of the block (Target may abbreviate them), so
	// an undo in a drill lifts exactly these from the generator.
	Targets []netip.Prefix
}

// Blocker is the block engine as the console sees it. Every method may be
// slow (it runs firewall tools); the console calls them only inside commands.
type Blocker interface {
	Plan(ctx context.Context, req BlockRequest) (BlockPlan, error)
	Apply(ctx context.Context, plan BlockPlan) error
	List(ctx context.Context) ([]ActiveBlock, error)
	Unblock(ctx context.Context, id string) error
	UnblockAll(ctx context.Context) (int, error)
}

// TraceResult is what the tracer learned about one address.
type TraceResult struct {
	Addr         netip.Addr
	ASN          uint32
	ASName       string
	Country      string
	Prefix       netip.Prefix
	PTR          string // attacker-controlled
	PTRConfirmed bool   // the PTR name resolves back to the address
	Abuse        string // abuse contact, attacker-controlled
	Err          string
}

// Tracer looks addresses up asynchronously: Request never blocks, results
// arrive on Results in any order.
type Tracer interface {
	Request(addr netip.Addr)
	Results() <-chan TraceResult
}

// Reporter collects targets for the abuse report.
type Reporter interface {
	Add(ctx context.Context, targets []netip.Prefix, reason string) error
}

// ReportPath is implemented by a Reporter that writes a file, so the
// console can say where the report went.
type ReportPath interface {
	ReportPath() string
}

// Drill is a running drill as the console sees it. Its block engine (the
// console's Block) hands whatever the firewall holds to the generator, and
// the drill itself notices the detection, so the console only shows the
// drill's clock, its complaint and, at the end, its score. Every method is
// quick (a lock at most) except Complaint, which reads a file and is only
// called inside commands.
type Drill interface {
	// Name is the scenario's name.
	Name() string
	// Clock maps a wall time to the drill's data clock.
	Clock(wall time.Time) time.Time
	// Complaint returns the abuse complaint once it has arrived ("" before).
	Complaint() (string, error)
	// Values are what the self-audit would measure on the drill's server.
	Values() map[string]float64
	// Done is closed when the scenario's duration has been played.
	Done() <-chan struct{}
	// Score computes the score with the playbook steps done and skipped.
	Score(done, skipped int) drill.Score
}

// Engines is everything the console talks to. Snapshot is required; a nil
// engine disables its keys (and their help) instead of failing.
type Engines struct {
	Snapshot func() *analyze.Snapshot
	// Audit returns the self-audit's latest measurements (syn_recv,
	// open_relay, open_resolver) for playbook checks; it must not block.
	// A drill's own values take its place.
	Audit  func() map[string]float64
	Impact func([]netip.Prefix) analyze.Impact
	Block  Blocker
	Trace  Tracer
	Report Reporter
	// Playbooks is the playbook library; nil hides the Playbook screen's
	// suggestions.
	Playbooks *playbook.Library
	// Runs saves playbook runs after every step and finds the unfinished
	// one to resume; nil keeps runs in memory only.
	Runs *playbook.Store
	// Timeline receives every finding, playbook step, block, unblock,
	// report and note; nil records nothing.
	Timeline *playbook.Timeline
	// StateDir is where a command step's text is saved with y.
	StateDir string
	// Drill is set in DRILL mode.
	Drill Drill
}

// Config is how the console is started.
type Config struct {
	Engines
	Mode    Mode
	Refresh time.Duration // how often a snapshot is taken; 1 s when zero
	NoColor bool          // NO_COLOR: information is never carried by colour anyway
	// Now returns the wall clock; tests fix it so TTL countdowns are stable.
	Now func() time.Time
}
