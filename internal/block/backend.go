package block

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"
)

// Backend is a firewall (or any engine that enforces blocks) irtui drives.
// A backend never sees the journal: it is told the state irtui wants and
// asked what it has, and renders the difference as one batch. The batch's
// text is what the operator is shown, and exactly what Exec applies.
type Backend interface {
	// Name is "nft", "iptables", "pf", "dry-run", …
	Name() string
	// Installed reads what irtui has in the firewall now. A firewall with
	// nothing of irtui's returns an empty Installed, not an error.
	Installed(ctx context.Context) (*Installed, error)
	// Prepare renders the change from have to want. An empty batch means
	// nothing to do. When want is empty, everything of irtui's goes,
	// including its table, chain, sets or anchor.
	Prepare(want *State, have *Installed, now time.Time) (Batch, error)
	// Exec applies a batch made by Prepare.
	Exec(ctx context.Context, b Batch) error
}

// State is what irtui wants in the firewall: per rule, the networks it
// covers and when each stops.
type State struct {
	Rules map[string]*RuleState // by Rule.ID()
}

// RuleState is one rule and its networks.
type RuleState struct {
	Rule  Rule
	Elems map[netip.Prefix]time.Time // network → expiry
	// Bulk: the rule holds one bulk block's networks; its own counters
	// count the block's packets (see BulkSplitter).
	Bulk bool
}

// Empty reports whether nothing is wanted.
func (s *State) Empty() bool {
	for _, r := range s.Rules {
		if len(r.Elems) > 0 {
			return false
		}
	}
	return true
}

// IDs returns the rule IDs with at least one network, sorted.
func (s *State) IDs() []string {
	var ids []string
	for id, r := range s.Rules {
		if len(r.Elems) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Installed is what irtui has in a firewall.
type Installed struct {
	Present bool                  // irtui's table, chain or anchor exists
	Elems   map[ElemKey]ElemState // every network in irtui's sets
	// Names are the backend's own objects (sets, tables, chains) present.
	Names map[string]bool
	// Rules are the backend's own rules, by the label irtui gave them.
	Rules map[string]InstalledRule
}

// ElemKey is one network under one rule.
type ElemKey struct {
	Rule   string
	Prefix netip.Prefix
}

// ElemState is a network as the firewall holds it.
type ElemState struct {
	Expires time.Time // zero when the firewall keeps no expiry (pf)
	Packets uint64
	Bytes   uint64
}

// InstalledRule is one of irtui's rules as the firewall holds it.
type InstalledRule struct {
	Handle  string // nft rule handle; empty elsewhere
	Packets uint64
	Bytes   uint64
}

func newInstalled() *Installed {
	return &Installed{Elems: map[ElemKey]ElemState{}, Names: map[string]bool{}, Rules: map[string]InstalledRule{}}
}

// Batch is one change to a firewall, rendered.
type Batch struct {
	Backend string
	Steps   []Step
	Summary Summary
}

// Step is one program run with its input, or for backends that are not
// programs, one request with its body.
type Step struct {
	Program string
	Args    []string
	Input   string
}

// Summary counts what a batch does, for the report after it ran.
type Summary struct {
	Added, Refreshed, Removed int // networks
	RulesAdded, RulesRemoved  int
	RemovesAll                bool // irtui's table/chain/sets/anchor go
}

// Empty reports whether the batch changes nothing.
func (b Batch) Empty() bool { return len(b.Steps) == 0 }

// Text is the batch as the operator sees it: each command line, then its
// input. It is exactly what Exec runs.
func (b Batch) Text() string {
	var sb strings.Builder
	for i, s := range b.Steps {
		if i > 0 {
			sb.WriteString("\n")
		}
		sb.WriteString("# ")
		sb.WriteString(s.Program)
		for _, a := range s.Args {
			sb.WriteString(" ")
			sb.WriteString(a)
		}
		sb.WriteString("\n")
		sb.WriteString(s.Input)
		if s.Input != "" && !strings.HasSuffix(s.Input, "\n") {
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

// Runner runs a firewall program with its input on stdin. Tests and drills
// give a Prefix ("ip", "netns", "exec", NAME) to act inside a namespace.
type Runner struct {
	Prefix []string
}

// Run runs program with args, input on stdin, and returns stdout. Never a
// shell: the argument vector goes straight to exec.
func (r Runner) Run(ctx context.Context, input string, program string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, r.Prefix...), program), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return stdout.Bytes(), &RunError{Program: program, Args: args, Err: err, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

// RunError is a firewall program that failed, with what it said.
type RunError struct {
	Program string
	Args    []string
	Err     error
	Stderr  string
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.Program, strings.Join(e.Args, " "), e.Err)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

func (e *RunError) Unwrap() error { return e.Err }

// execSteps runs every step in order, stopping at the first failure.
func execSteps(ctx context.Context, r Runner, b Batch) error {
	for _, s := range b.Steps {
		if _, err := r.Run(ctx, s.Input, s.Program, s.Args...); err != nil {
			return err
		}
	}
	return nil
}

// diff compares want and have network by network. A network is refreshed
// when its expiry in the firewall is off by more than slack from the
// journal's (extended, or shortened by an unblock of an overlapping block).
type elemDiff struct {
	add, refresh, del []ElemKey
}

const expirySlack = 15 * time.Second

func diffElems(want *State, have *Installed, now time.Time, withExpiry bool) elemDiff {
	var d elemDiff
	n := 0
	for _, rs := range want.Rules {
		n += len(rs.Elems)
	}
	if len(have.Elems) == 0 {
		d.add = make([]ElemKey, 0, n)
	}
	for id, rs := range want.Rules {
		for p, exp := range rs.Elems {
			k := ElemKey{Rule: id, Prefix: p}
			h, ok := have.Elems[k]
			switch {
			case !ok:
				d.add = append(d.add, k)
			case withExpiry && !h.Expires.IsZero() && AbsDur(h.Expires.Sub(exp)) > expirySlack:
				d.refresh = append(d.refresh, k)
			}
			_ = now
		}
	}
	for k := range have.Elems {
		rs, ok := want.Rules[k.Rule]
		if !ok {
			d.del = append(d.del, k)
			continue
		}
		if _, ok := rs.Elems[k.Prefix]; !ok {
			d.del = append(d.del, k)
		}
	}
	for _, l := range [][]ElemKey{d.add, d.refresh, d.del} {
		sortKeys(l)
	}
	return d
}

func sortKeys(l []ElemKey) {
	slices.SortFunc(l, func(a, b ElemKey) int {
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
}

// PrefixLess orders prefixes by address, then by length: the order rules
// text lists them in, so the same plan always renders the same text.
func PrefixLess(a, b netip.Prefix) bool {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c < 0
	}
	return a.Bits() < b.Bits()
}

// AbsDur is the absolute value of d.
func AbsDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// SecondsLeft is the timeout to give a network so it expires at exp, at
// least one second.
func SecondsLeft(exp, now time.Time) int64 {
	s := int64((exp.Sub(now) + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// family of a network: 4 or 6.
func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}
