// Package block owns firewall blocks: the plan (targets, scope, action,
// TTL), the safety check that never lets the operator lock themselves out,
// the exact rules text, the backends that apply it in one batch (nftables,
// iptables with ipset, pf, dry-run), and the journal that makes every block
// undoable, expiring and restart-safe.
//
// The flow is always Plan → (operator reads Plan.Rules) → Apply. Apply
// writes the journal and fsyncs it before the firewall changes; Reconcile,
// run at every start, brings the firewall back in line with the journal.
package block

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/sanitize"
)

// DefaultTTL is how long a block lasts unless told otherwise.
const DefaultTTL = time.Hour

// MaxTTL is the longest block: ipset's largest timeout is about 24.8 days,
// and a block that outlives an incident by weeks is a forgotten block.
const MaxTTL = 24 * 24 * time.Hour

// ASTable answers which prefixes an AS originates; the trace package's
// offline tables satisfy it.
type ASTable interface {
	PrefixesOf(asn uint32) []netip.Prefix
}

// Engine plans, applies, lists and undoes blocks on one backend.
type Engine struct {
	Backend Backend
	Journal *Journal
	Guard   *Guard
	// ASTable is needed only for WholeAS requests.
	ASTable ASTable
	// Preview, when set (the console sets it from the running analyzer),
	// tells what share of the attack and of the baseline a block would cut.
	Preview func(targets []netip.Prefix) (analyze.Impact, bool)
	// Who is recorded in the journal; CurrentUser() when empty.
	Who string
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	crashAfterJournal bool // tests: stop between the journal write and the apply
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) who() string {
	if e.Who != "" {
		return e.Who
	}
	return CurrentUser()
}

// CurrentUser names the Unix user, and the user behind sudo when there is one.
func CurrentUser() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" && s != name {
		name = sanitize.Truncate(s, 64) + " (sudo as " + name + ")"
	}
	return name
}

// Request is what to block.
type Request struct {
	Targets []netip.Prefix
	// AS with ASPrefixes blocks the prefixes of that AS seen attacking (the
	// caller knows them); with WholeAS, every prefix the ASTable lists.
	AS         uint32
	ASPrefixes []netip.Prefix
	WholeAS    bool
	Rule       Rule
	TTL        time.Duration // DefaultTTL when zero
	Why        string
}

// Plan is a change ready to apply: what it does in words and the exact
// rules text. Nothing has been written or applied yet.
type Plan struct {
	Op      string // "block", "unblock" or "unblock-all"
	Block   *Block // for "block"
	Undo    []netip.Prefix
	UndoIDs []string
	Batch   Batch
	Impact  *analyze.Impact // nil when no analyzer is running
	Notes   []string

	records     []Record
	journalSize int64
	backend     string
}

// Rules is the exact text that Apply will apply.
func (p *Plan) Rules() string { return p.Batch.Text() }

// Targets of the plan: blocked or unblocked.
func (p *Plan) Targets() []netip.Prefix {
	if p.Block != nil {
		return p.Block.Targets
	}
	return p.Undo
}

func newID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return "b" + now.UTC().Format("0102-150405") + "-" + hex.EncodeToString(b[:])
}

// Plan checks a request and renders the change. A *RefusedError means the
// guard refused at least one target; nothing is planned then.
func (e *Engine) Plan(ctx context.Context, req Request) (*Plan, error) {
	now := e.now()
	seen := make(map[netip.Prefix]struct{}, len(req.Targets)+len(req.ASPrefixes))
	targets := make([]netip.Prefix, 0, len(req.Targets)+len(req.ASPrefixes))
	addT := func(p netip.Prefix) {
		p = NormalizePrefix(p)
		if _, dup := seen[p]; p.IsValid() && !dup {
			seen[p] = struct{}{}
			targets = append(targets, p)
		}
	}
	for _, t := range req.Targets {
		addT(t)
	}
	var notes []string
	if req.AS != 0 {
		if req.WholeAS {
			if e.ASTable == nil {
				return nil, fmt.Errorf("blocking all of AS%d needs an offline AS table (--asn-db FILE)", req.AS)
			}
			ps := e.ASTable.PrefixesOf(req.AS)
			if len(ps) == 0 {
				return nil, fmt.Errorf("the AS table lists no prefixes for AS%d", req.AS)
			}
			for _, p := range ps {
				addT(p)
			}
			notes = append(notes, fmt.Sprintf("AS%d: all %d prefixes it originates (--whole-as)", req.AS, len(ps)))
		} else {
			if len(req.ASPrefixes) == 0 {
				return nil, fmt.Errorf("AS%d: no attacking prefixes given; name them, or use --whole-as with an offline AS table", req.AS)
			}
			for _, p := range req.ASPrefixes {
				addT(p)
			}
			notes = append(notes, fmt.Sprintf("AS%d: only the %d prefixes seen attacking", req.AS, len(req.ASPrefixes)))
		}
	}
	if len(targets) == 0 {
		return nil, errors.New("nothing to block: name addresses, prefixes or an AS")
	}
	if len(targets) > MaxTargets {
		return nil, fmt.Errorf("more than %d targets: block the prefixes they share instead", MaxTargets)
	}
	if e.Guard == nil {
		return nil, errors.New("no safety guard configured: refusing to plan a block")
	}
	if err := e.Guard.Check(targets); err != nil {
		return nil, err
	}
	rule := req.Rule
	if rule.Action == "" {
		rule.Action = Drop
	}
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < time.Second || ttl > MaxTTL {
		return nil, fmt.Errorf("--ttl %s: use 1s to %s", ttl, MaxTTL)
	}
	recs, _, err := e.Journal.Read()
	if err != nil {
		return nil, err
	}
	size := e.Journal.size()
	st, err := replay(recs, e.Backend.Name())
	if err != nil {
		return nil, err
	}
	b := &Block{ID: newID(now), Targets: targets, Rule: rule, TTL: ttl, Created: now,
		Expires: now.Add(ttl), Who: e.who(), Why: sanitize.Truncate(req.Why, 500), Backend: e.Backend.Name(), AS: req.AS}
	active := st.active(now)
	split := splitsBulk(e.Backend)
	want := wantState(append(active, b), split)
	have, err := e.Backend.Installed(ctx)
	if err != nil {
		return nil, err
	}
	batch, err := e.Backend.Prepare(want, have, now)
	if err != nil {
		return nil, err
	}
	notes = append(notes, coverNotes(b, active, want, split)...)
	p := &Plan{Op: "block", Block: b, Batch: batch, Notes: notes,
		records: []Record{b.record()}, journalSize: size, backend: e.Backend.Name()}
	if e.Preview != nil {
		if imp, ok := e.Preview(targets); ok {
			p.Impact = &imp
		}
	}
	return p, nil
}

// coverNotes says which new targets are already blocked the same way, or
// sit inside a wider prefix under the same rule.
func coverNotes(b *Block, active []*Block, want *State, split bool) []string {
	var notes []string
	id := ruleID(b, split)
	rs := want.Rules[id]
	inside := 0
	var example string
	for _, t := range b.Targets {
		if rs.Bulk && len(rs.Elems) == len(b.Targets) {
			break // a rule of its own that holds every target: none is inside another
		}
		if _, ok := rs.Elems[t]; !ok {
			inside++
			if example == "" {
				example = t.String()
			}
		}
	}
	if inside > 0 {
		notes = append(notes, fmt.Sprintf("%d target(s) (e.g. %s) lie inside a wider prefix blocked the same way; they are journaled and enter the firewall if the wider block ends first", inside, example))
	}
	again := 0
	for _, a := range active {
		if a.Rule.ID() != b.Rule.ID() {
			continue
		}
		set := map[netip.Prefix]bool{}
		for _, t := range a.Targets {
			set[t] = true
		}
		for _, t := range b.Targets {
			if set[t] {
				again++
			}
		}
	}
	if again > 0 {
		notes = append(notes, fmt.Sprintf("%d target(s) were already blocked the same way; their expiry is extended", again))
	}
	return notes
}

// ErrStalePlan means the journal changed between Plan and Apply.
var ErrStalePlan = errors.New("the journal changed since this plan was made (another irtui?): plan again")

// Apply writes the plan to the journal (fsync'd), then applies its batch.
// If the firewall refuses, a "failed" record cancels the plan in the
// journal, and Reconcile brings back whatever a partial apply changed.
func (e *Engine) Apply(ctx context.Context, p *Plan) error {
	if p.backend != e.Backend.Name() {
		return fmt.Errorf("this plan is for backend %s, not %s", p.backend, e.Backend.Name())
	}
	unlock, err := e.Journal.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if e.Journal.size() != p.journalSize {
		return ErrStalePlan
	}
	if err := e.Journal.Append(p.records...); err != nil {
		return err
	}
	if e.crashAfterJournal {
		return errors.New("test: crashed after the journal write")
	}
	if err := e.Backend.Exec(ctx, p.Batch); err != nil {
		ids := make([]string, 0, len(p.records))
		for _, r := range p.records {
			ids = append(ids, r.ID)
		}
		ferr := e.Journal.Append(Record{Op: "failed", ID: "f" + ids[0], At: e.now(), Backend: p.backend, IDs: ids, Error: sanitize.Truncate(err.Error(), 2000)})
		if ferr != nil {
			return fmt.Errorf("%w (and the journal could not record the failure: %v; run irtui blocks to reconcile)", err, ferr)
		}
		return fmt.Errorf("the firewall refused the change, so it is not active: %w", err)
	}
	return nil
}

// PlanUnblock plans removing targets (and everything inside them) and
// blocks by ID. A target irtui did not block is an error naming it.
func (e *Engine) PlanUnblock(ctx context.Context, targets []netip.Prefix, ids []string) (*Plan, error) {
	now := e.now()
	recs, _, err := e.Journal.Read()
	if err != nil {
		return nil, err
	}
	size := e.Journal.size()
	st, err := replay(recs, e.Backend.Name())
	if err != nil {
		return nil, err
	}
	active := st.active(now)
	for i := range targets {
		targets[i] = NormalizePrefix(targets[i])
	}
	for _, t := range targets {
		found := false
		var wider netip.Prefix
		for _, b := range active {
			for _, bt := range b.Targets {
				if t.Bits() <= bt.Bits() && t.Contains(bt.Addr()) {
					found = true
				} else if bt.Bits() < t.Bits() && bt.Contains(t.Addr()) {
					wider = bt
				}
			}
		}
		if !found {
			if wider.IsValid() {
				return nil, fmt.Errorf("%s is not blocked on its own: it is inside the blocked %s (unblock %s, then block what should stay blocked)", t, wider, wider)
			}
			return nil, fmt.Errorf("%s is not blocked by irtui (irtui blocks lists what is)", t)
		}
	}
	for _, id := range ids {
		if _, ok := st.blocks[id]; !ok {
			return nil, fmt.Errorf("no active block has ID %s (irtui blocks lists them)", clip(id))
		}
	}
	var rest []*Block
	for _, b := range active {
		if contains(ids, b.ID) {
			continue
		}
		nb := *b
		nb.Targets = removeCovered(b.Targets, targets)
		if len(nb.Targets) > 0 {
			rest = append(rest, &nb)
		}
	}
	rec := Record{Op: "unblock", ID: "u" + newID(now)[1:], At: now, Who: e.who(), Backend: e.Backend.Name(), IDs: ids}
	for _, t := range targets {
		rec.Targets = append(rec.Targets, t.String())
	}
	return e.planState(ctx, "unblock", rest, rec, size, targets, ids)
}

// PlanUnblockAll plans the panic button: everything of irtui's goes, the
// journal's blocks and anything of irtui's found in the firewall beyond them.
func (e *Engine) PlanUnblockAll(ctx context.Context) (*Plan, error) {
	now := e.now()
	rec := Record{Op: "unblock", ID: "u" + newID(now)[1:], At: now, Who: e.who(), Backend: e.Backend.Name(), All: true}
	return e.planState(ctx, "unblock-all", nil, rec, e.Journal.size(), nil, nil)
}

func (e *Engine) planState(ctx context.Context, op string, rest []*Block, rec Record, size int64, targets []netip.Prefix, ids []string) (*Plan, error) {
	have, err := e.Backend.Installed(ctx)
	if err != nil {
		return nil, err
	}
	batch, err := e.Backend.Prepare(wantState(rest, splitsBulk(e.Backend)), have, e.now())
	if err != nil {
		return nil, err
	}
	return &Plan{Op: op, Undo: targets, UndoIDs: ids, Batch: batch, records: []Record{rec}, journalSize: size, backend: e.Backend.Name()}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Unblock removes one target (an address, a prefix and what lies inside
// it) or one block by its ID, and returns what was applied.
func (e *Engine) Unblock(ctx context.Context, target string) (*Plan, error) {
	var p *Plan
	var err error
	if pfx, perr := ParseTarget(target); perr == nil {
		p, err = e.PlanUnblock(ctx, []netip.Prefix{pfx}, nil)
	} else {
		p, err = e.PlanUnblock(ctx, nil, []string{target})
	}
	if err != nil {
		return nil, err
	}
	return p, e.Apply(ctx, p)
}

// UnblockAll is the panic button.
func (e *Engine) UnblockAll(ctx context.Context) (*Plan, error) {
	p, err := e.PlanUnblockAll(ctx)
	if err != nil {
		return nil, err
	}
	return p, e.Apply(ctx, p)
}

// Active is a block in force, with the firewall's own view of it.
type Active struct {
	Block
	Left    time.Duration
	Packets uint64 // packets the firewall matched against this block's networks
	Bytes   uint64
	// Missing counts networks of this block absent from the firewall
	// (Reconcile re-applies them); Covered those left out because a wider
	// prefix under the same rule holds them.
	Missing, Covered int
}

// List returns the active blocks, oldest first, with time left and the
// firewall's packet counters for their networks.
func (e *Engine) List(ctx context.Context) ([]Active, error) {
	now := e.now()
	recs, _, err := e.Journal.Read()
	if err != nil {
		return nil, err
	}
	st, err := replay(recs, e.Backend.Name())
	if err != nil {
		return nil, err
	}
	have, err := e.Backend.Installed(ctx)
	if err != nil {
		return nil, err
	}
	blocks := st.active(now)
	split := splitsBulk(e.Backend)
	want := wantState(blocks, split)
	out := make([]Active, 0, len(blocks))
	for _, b := range blocks {
		a := Active{Block: *b, Left: b.Expires.Sub(now)}
		id := ruleID(b, split)
		bulk := want.Rules[id].Bulk
		for _, t := range b.Targets {
			if _, ok := want.Rules[id].Elems[t]; !ok {
				a.Covered++
				continue
			}
			el, ok := have.Elems[ElemKey{Rule: id, Prefix: t}]
			if !ok {
				a.Missing++
				continue
			}
			a.Packets += el.Packets
			a.Bytes += el.Bytes
		}
		if bulk {
			// Its networks carry no counters: its rules count for it.
			for label, r := range have.Rules {
				if strings.HasPrefix(label, id+" ") {
					a.Packets += r.Packets
					a.Bytes += r.Bytes
				}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	Expired []Block // blocks whose time ran out since irtui last looked
	Batch   Batch   // what was applied to bring the firewall in line
}

// String is one or two sentences for the operator, empty when nothing
// happened.
func (r *ReconcileReport) String() string {
	var parts []string
	if n := len(r.Expired); n > 0 {
		var ids []string
		for i, b := range r.Expired {
			if i == 3 {
				ids = append(ids, "…")
				break
			}
			ids = append(ids, fmt.Sprintf("%s (%s)", b.ID, targetsShort(b.Targets, 2)))
		}
		parts = append(parts, fmt.Sprintf("%d block(s) expired: %s", n, strings.Join(ids, ", ")))
	}
	s := r.Batch.Summary
	if s.Added > 0 {
		parts = append(parts, fmt.Sprintf("re-applied %d network(s) missing from the firewall", s.Added))
	}
	if s.Refreshed > 0 {
		parts = append(parts, fmt.Sprintf("corrected the expiry of %d network(s)", s.Refreshed))
	}
	if s.Removed > 0 {
		parts = append(parts, fmt.Sprintf("removed %d network(s) no active block holds", s.Removed))
	}
	if s.RulesAdded > 0 || s.RulesRemoved > 0 {
		parts = append(parts, fmt.Sprintf("%d rule(s) restored, %d removed", s.RulesAdded, s.RulesRemoved))
	}
	if s.RemovesAll {
		parts = append(parts, "nothing of irtui's is left, so its table/chain/sets are gone")
	}
	if len(parts) == 0 {
		return ""
	}
	return "reconciled with the journal: " + strings.Join(parts, "; ")
}

func targetsShort(ts []netip.Prefix, n int) string {
	var parts []string
	for i, t := range ts {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(ts)-n))
			break
		}
		parts = append(parts, t.String())
	}
	return strings.Join(parts, " ")
}

// Reconcile brings the firewall in line with the journal: blocks that
// should be active and are missing (a crash between journal and apply, a
// reboot, someone flushing the ruleset) are re-applied; what expired or is
// no longer in the journal goes. Every block subcommand and the console
// call it at start.
func (e *Engine) Reconcile(ctx context.Context) (*ReconcileReport, error) {
	unlock, err := e.Journal.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := e.now()
	recs, _, err := e.Journal.Read()
	if err != nil {
		return nil, err
	}
	st, err := replay(recs, e.Backend.Name())
	if err != nil {
		return nil, err
	}
	rep := &ReconcileReport{}
	var expiredIDs []string
	for _, b := range st.blocks {
		if !b.Expires.After(now) && !st.expired[b.ID] {
			rep.Expired = append(rep.Expired, *b)
			expiredIDs = append(expiredIDs, b.ID)
		}
	}
	sort.Slice(rep.Expired, func(i, j int) bool { return rep.Expired[i].Expires.Before(rep.Expired[j].Expires) })
	sort.Strings(expiredIDs)
	have, err := e.Backend.Installed(ctx)
	if err != nil {
		return nil, err
	}
	batch, err := e.Backend.Prepare(wantState(st.active(now), splitsBulk(e.Backend)), have, now)
	if err != nil {
		return nil, err
	}
	rep.Batch = batch
	if !batch.Empty() {
		if err := e.Backend.Exec(ctx, batch); err != nil {
			return rep, fmt.Errorf("reconcile could not bring the firewall in line with the journal: %w", err)
		}
	}
	if len(expiredIDs) > 0 || !batch.Empty() {
		rec := Record{Op: "reconcile", ID: "r" + newID(now)[1:], At: now, Who: e.who(), Backend: e.Backend.Name(), Note: rep.String()}
		var extra []Record
		if len(expiredIDs) > 0 {
			extra = append(extra, Record{Op: "expired", ID: "e" + newID(now)[1:], At: now, Backend: e.Backend.Name(), IDs: expiredIDs})
		}
		if err := e.Journal.Append(append(extra, rec)...); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// NewBackend returns the backend called name ("nft", "iptables", "pf",
// "dry-run") running its programs through r.
func NewBackend(name string, r Runner) (Backend, error) {
	switch name {
	case "nft", "nftables":
		return &NFT{Runner: r}, nil
	case "iptables", "ipset":
		return &IPTables{Runner: r}, nil
	case "pf", "pfctl":
		return &PF{Runner: r}, nil
	case "dry-run", "dryrun":
		return &DryRun{}, nil
	}
	return nil, fmt.Errorf("unknown backend %q (use nft, iptables, pf or dry-run)", clip(name))
}

// Detect picks the backend: the one holding active blocks in the journal
// if any (so blocks stay undoable), else the first firewall that answers:
// nftables, then iptables with ipset, then pf.
func Detect(ctx context.Context, r Runner, j *Journal) (Backend, error) {
	if j != nil {
		if recs, _, err := j.Read(); err == nil {
			now := time.Now()
			for _, name := range []string{"nft", "iptables", "pf"} {
				if st, err := replay(recs, name); err == nil && len(st.active(now)) > 0 {
					return NewBackend(name, r)
				}
			}
		}
	}
	if _, err := r.Run(ctx, "", "nft", "list", "tables"); err == nil {
		return &NFT{Runner: r}, nil
	}
	if _, err := r.Run(ctx, "", "iptables-save", "-t", "filter"); err == nil {
		if _, err := r.Run(ctx, "", "ipset", "list", "-n"); err == nil {
			return &IPTables{Runner: r}, nil
		}
	}
	if _, err := r.Run(ctx, "", "pfctl", "-s", "info"); err == nil {
		return &PF{Runner: r}, nil
	}
	return nil, errors.New("no usable firewall found: install nftables (apt-get install nftables) and run as root, or choose --backend dry-run to practise")
}
