package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/fleet"
	"github.com/irtui/irtui/internal/sanitize"
)

func init() {
	register(&command{name: "block", summary: "block addresses, prefixes or an AS (shows the rules, asks, journals, expires)", run: runBlock})
	register(&command{name: "unblock", summary: "remove irtui's blocks: by target, by ID, or --all", run: runUnblock})
	register(&command{name: "blocks", summary: "list irtui's active blocks with time left and packet counters", run: runBlocks})
}

// loadASTable opens offline AS tables for --whole-as; wire_trace.go sets
// it from the trace package so the block engine does not import trace.
var loadASTable func(paths []string) (block.ASTable, error)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// engineFlags are shared by block, unblock and blocks.
type engineFlags struct {
	backend   string
	stateDir  string
	allowFile string
	allow     multiFlag
	asnDB     multiFlag
	// fleet: a CrowdSec Local API as the backend, with the fleet's hosts
	// counted as "own" by the guard.
	crowdsecCreds string
	fleetHosts    multiFlag
	ssh           sshFlags
	// sources are ssh:// log sources (watch): their hosts are fleet hosts.
	sources []string
}

func (ef *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&ef.backend, "backend", "auto", "firewall: auto, nft, iptables, pf, crowdsec or dry-run")
	fs.StringVar(&ef.stateDir, "state-dir", "", "journal directory (default $IRTUI_STATE_DIR, else $XDG_STATE_HOME/irtui, else ~/.local/state/irtui)")
	fs.StringVar(&ef.allowFile, "allowlist", "", "file of addresses/prefixes never to block (default $XDG_CONFIG_HOME/irtui/allowlist)")
	fs.Var(&ef.allow, "allow", "an address or prefix never to block (repeatable)")
	fs.StringVar(&ef.crowdsecCreds, "crowdsec-credentials", "", "CrowdSec machine credentials (local_api_credentials.yaml: url, login, password) for --backend crowdsec")
	fs.Var(&ef.fleetHosts, "fleet-host", "a host of the fleet whose addresses must never be blocked (repeatable)")
	ef.ssh.register(fs)
}

func defaultAllowlist() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "irtui", "allowlist")
}

// engine opens the journal, picks the backend, builds the guard, and
// reconciles: every block subcommand starts by bringing the firewall in
// line with the journal, and says what that did.
func (ef *engineFlags) engine(ctx context.Context) (*block.Engine, error) {
	dir := ef.stateDir
	if dir == "" {
		d, err := block.DefaultStateDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	j, err := block.OpenJournal(dir)
	if err != nil {
		return nil, err
	}
	var be block.Backend
	var lapiURL string
	if ef.backend == "crowdsec" || ((ef.backend == "auto" || ef.backend == "") && ef.crowdsecCreds != "") {
		if ef.crowdsecCreds == "" {
			return nil, errors.New("--backend crowdsec needs --crowdsec-credentials FILE (a local_api_credentials.yaml, as made by cscli machines add -f FILE)")
		}
		cs, err := crowdsec.Open(ef.crowdsecCreds, nil)
		if err != nil {
			return nil, err
		}
		be, lapiURL = cs, cs.Client.URL("")
	} else if ef.backend == "auto" || ef.backend == "" {
		be, err = block.Detect(ctx, block.Runner{}, j)
	} else {
		be, err = block.NewBackend(ef.backend, block.Runner{})
	}
	if err != nil {
		return nil, err
	}
	allowFile := ef.allowFile
	if allowFile == "" {
		allowFile = defaultAllowlist()
	}
	var allow []netip.Prefix
	if allowFile != "" {
		allow, err = block.ReadAllowlist(allowFile)
		if err != nil {
			return nil, err
		}
	}
	for _, a := range ef.allow {
		p, err := block.ParseTarget(a)
		if err != nil {
			return nil, fmt.Errorf("--allow: %w", err)
		}
		allow = append(allow, p)
	}
	g, err := block.NewGuard(block.GuardOptions{Allow: allow})
	if err != nil {
		return nil, err
	}
	if lapiURL != "" || len(ef.fleetHosts) > 0 || len(ef.sources) > 0 {
		sshArgs, err := ef.ssh.args()
		if err != nil {
			return nil, err
		}
		hosts, err := fleet.Resolve(ctx, fleet.Names(ef.sources, lapiURL, ef.fleetHosts), sshArgs, nil)
		if err != nil {
			return nil, err
		}
		if err := fleet.Protect(g, hosts); err != nil {
			return nil, err
		}
	}
	e := &block.Engine{Backend: be, Journal: j, Guard: g}
	rep, err := e.Reconcile(ctx)
	if err != nil {
		return nil, err
	}
	if s := rep.String(); s != "" {
		fmt.Fprintln(os.Stderr, "irtui:", s)
	}
	return e, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// isTerminal asks the terminal driver, not the file mode: /dev/null is a
// character device too, and must not count as someone to ask.
func isTerminal(f *os.File) bool { return term.IsTerminal(f.Fd()) }

// maxShownLines bounds the rules text printed before a confirmation; the
// full text is one --dry-run away.
const maxShownLines = 60

func printRules(w io.Writer, p *block.Plan, all bool) {
	text := p.Rules()
	if text == "" {
		if p.Op == "block" {
			fmt.Fprintln(w, "rules: nothing to change in the firewall (already in place); the journal still records this block")
		} else {
			fmt.Fprintln(w, "rules: nothing of irtui's to remove from the firewall")
		}
		return
	}
	fmt.Fprintf(w, "rules (%s), exactly as they will be applied:\n", p.Batch.Backend)
	lines := strings.SplitAfter(text, "\n")
	if !all && len(lines) > maxShownLines {
		for _, l := range lines[:maxShownLines/2] {
			fmt.Fprint(w, "  ", l)
		}
		fmt.Fprintf(w, "  … %d more lines (irtui block --dry-run … prints them all) …\n", len(lines)-maxShownLines)
		for _, l := range lines[len(lines)-maxShownLines/2:] {
			fmt.Fprint(w, "  ", l)
		}
		return
	}
	for _, l := range lines {
		if l != "" {
			fmt.Fprint(w, "  ", l)
		}
	}
}

func runBlock(args []string) int {
	// One short run: its garbage (the target list, the rules text, the
	// journal record) is tens of MB for 100,000 targets.
	deferGC(heapBeforeGC)
	fs := flag.NewFlagSet("block", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	fs.Var(&ef.asnDB, "asn-db", "offline AS table for --whole-as (repeatable)")
	port := fs.String("port", "", "scope: only these ports, e.g. tcp/80,tcp/443 (default: all traffic)")
	action := fs.String("action", "drop", "drop, reject or ratelimit")
	rate := fs.String("rate", "10/s", "ratelimit: new connections per source, N/s, N/m or N/h")
	burst := fs.Int("burst", 0, "ratelimit: connections allowed at once above the rate (default max(rate, 5))")
	ttl := fs.Duration("ttl", block.DefaultTTL, "how long the block lasts (the firewall expires it by itself)")
	why := fs.String("why", "", "the reason, kept in the journal")
	fromFile := fs.String("from-file", "", "read targets from a file, one or more per line (- for stdin)")
	wholeAS := fs.Bool("whole-as", false, "with AS<n>: every prefix the AS originates (needs --asn-db)")
	dryRun := fs.Bool("dry-run", false, "print the plan and rules, change nothing")
	yes := fs.Bool("yes", false, "apply without asking (required without a terminal)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: irtui block [flags] TARGET…

TARGET is an address, a prefix (v4 or v6) or AS<n> (with --whole-as).
Refused: the SSH client of this session, loopback, link-local, this host's
addresses and the allowlist. The rules are shown before anything changes.

examples:
  irtui block --why "wp-login flood" 192.0.2.7 198.51.100.0/24
  irtui block --port tcp/80,tcp/443 --action ratelimit --rate 5/s 203.0.113.0/24
  irtui block --from-file attackers.txt --ttl 6h --yes

flags:`)
		fs.PrintDefaults()
	}
	posArgs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var req block.Request
	for _, a := range posArgs {
		if n, ok := parseAS(a); ok {
			if req.AS != 0 && req.AS != n {
				fmt.Fprintln(os.Stderr, "irtui block: one AS at a time")
				return 2
			}
			req.AS = n
			continue
		}
		p, err := block.ParseTarget(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui block:", err)
			return 2
		}
		req.Targets = append(req.Targets, p)
	}
	if *fromFile != "" {
		var r io.Reader = os.Stdin
		if *fromFile != "-" {
			f, err := os.Open(*fromFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "irtui block:", err)
				return 2
			}
			defer f.Close()
			r = f
		}
		ps, err := block.ParseTargets(bufio.NewReader(r))
		if err != nil {
			fmt.Fprintf(os.Stderr, "irtui block: %s: %v\n", *fromFile, err)
			return 2
		}
		req.Targets = append(req.Targets, ps...)
	}
	if len(req.Targets) == 0 && req.AS == 0 {
		fmt.Fprintln(os.Stderr, "irtui block: name what to block: addresses, prefixes, AS<n> --whole-as, or --from-file (irtui block --help)")
		return 2
	}
	act, err := block.ParseAction(*action)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui block:", err)
		return 2
	}
	scope, err := block.ParseScope(*port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui block: --port:", err)
		return 2
	}
	req.Rule = block.Rule{Action: act, Scope: scope}
	if act == block.RateLimit {
		r, err := block.ParseRate(*rate)
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui block: --rate:", err)
			return 2
		}
		r.Burst = *burst
		req.Rule.Rate = r
	}
	req.TTL = *ttl
	req.Why = *why
	req.WholeAS = *wholeAS
	ctx, cancel := signalContext()
	defer cancel()
	e, err := ef.engine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui block:", err)
		return 1
	}
	if req.WholeAS && req.AS != 0 {
		if len(ef.asnDB) == 0 {
			fmt.Fprintln(os.Stderr, "irtui block: --whole-as needs an offline AS table: --asn-db FILE")
			return 2
		}
		if loadASTable == nil {
			fmt.Fprintln(os.Stderr, "irtui block: this build cannot read offline AS tables; name the AS's prefixes instead")
			return 1
		}
		t, err := loadASTable(ef.asnDB)
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui block:", err)
			return 1
		}
		e.ASTable = t
	} else if req.AS != 0 {
		fmt.Fprintf(os.Stderr, "irtui block: AS%d: the command line does not know which of its prefixes attack; name them, or use --whole-as --asn-db FILE (the console blocks only the prefixes seen attacking)\n", req.AS)
		return 2
	}
	if cs, ok := e.Backend.(*crowdsec.Backend); ok {
		cs.SetReason(req.Why)
		if n := crowdsec.RangeNote(req.Targets); n != "" {
			fmt.Fprintln(os.Stderr, "note:", n)
		}
	}
	plan, err := e.Plan(ctx, req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui block:", err)
		return 1
	}
	out := os.Stdout
	b := plan.Block
	fmt.Fprintf(out, "plan: block %d target(s) (%s): %s, for %s until %s\n", len(b.Targets), shortTargets(b.Targets, 4), b.Rule, b.TTL, b.Expires.Local().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(out, "by %s; why: %s\n", sanitize.Text(b.Who), orDash(b.Why))
	for _, n := range plan.Notes {
		fmt.Fprintln(out, "note:", n)
	}
	if plan.Impact != nil {
		fmt.Fprintf(out, "impact: covers %.0f%% of the attack, would also cut %.1f%% of baseline traffic\n", plan.Impact.AttackCovered*100, plan.Impact.BaselineCut*100)
	} else {
		fmt.Fprintln(out, "impact: no preview here (no analyzer running; the console shows the share of attack and customer traffic a block cuts)")
	}
	printRules(out, plan, *dryRun)
	if *dryRun {
		fmt.Fprintln(out, "dry run: nothing applied, nothing journaled")
		return 0
	}
	if !*yes {
		if !isTerminal(os.Stdin) || *fromFile == "-" {
			fmt.Fprintln(os.Stderr, "irtui block: not applied: no terminal to confirm on; add --yes to apply, or --dry-run to only look")
			return 1
		}
		fmt.Fprint(out, "apply? [y/N] ")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(out, "not applied")
			return 1
		}
	}
	start := time.Now()
	if err := e.Apply(ctx, plan); err != nil {
		fmt.Fprintln(os.Stderr, "irtui block:", err)
		return 1
	}
	fmt.Fprintf(out, "blocked: %s (%d target(s), applied in %s); undo: irtui unblock %s\n", b.ID, len(b.Targets), time.Since(start).Round(time.Millisecond), b.ID)
	return 0
}

func parseAS(s string) (uint32, bool) {
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "AS")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return sanitize.Text(s)
}

func shortTargets(ts []netip.Prefix, n int) string {
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

func runUnblock(args []string) int {
	fs := flag.NewFlagSet("unblock", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	all := fs.Bool("all", false, "remove every block of irtui's and its table/chain/sets/anchor (the panic button)")
	dryRun := fs.Bool("dry-run", false, "print what would be removed, change nothing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: irtui unblock [flags] TARGET|ID…   or   irtui unblock --all

Removes exactly what irtui added: a target (and the targets inside it),
a block by its ID (irtui blocks lists them), or everything with --all.
The operator's own rules are never touched.

flags:`)
		fs.PrintDefaults()
	}
	posArgs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *all == (len(posArgs) > 0) {
		fmt.Fprintln(os.Stderr, "irtui unblock: name targets or block IDs, or use --all (irtui blocks lists them)")
		return 2
	}
	var targets []netip.Prefix
	var ids []string
	for _, a := range posArgs {
		if p, err := block.ParseTarget(a); err == nil {
			targets = append(targets, p)
		} else {
			ids = append(ids, a)
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	e, err := ef.engine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui unblock:", err)
		return 1
	}
	var plan *block.Plan
	if *all {
		plan, err = e.PlanUnblockAll(ctx)
	} else {
		plan, err = e.PlanUnblock(ctx, targets, ids)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui unblock:", err)
		return 1
	}
	printRules(os.Stdout, plan, *dryRun)
	if *dryRun {
		fmt.Fprintln(os.Stdout, "dry run: nothing applied, nothing journaled")
		return 0
	}
	if err := e.Apply(ctx, plan); err != nil {
		fmt.Fprintln(os.Stderr, "irtui unblock:", err)
		return 1
	}
	if plan.Batch.Empty() {
		fmt.Println("unblocked in the journal; the firewall held nothing of it")
	} else if plan.Batch.Summary.RemovesAll {
		fmt.Println("unblocked: nothing of irtui's is left in the firewall")
	} else {
		fmt.Printf("unblocked: %d network(s) removed from the firewall\n", plan.Batch.Summary.Removed)
	}
	return 0
}

// blockJSON is one line of irtui blocks --json.
type blockJSON struct {
	ID          string    `json:"id"`
	Targets     []string  `json:"targets"`
	Action      string    `json:"action"`
	Rate        string    `json:"rate,omitempty"`
	Scope       string    `json:"scope"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	LeftSeconds int64     `json:"left_seconds"`
	Packets     uint64    `json:"packets"`
	Bytes       uint64    `json:"bytes"`
	Missing     int       `json:"missing"`
	Who         string    `json:"who"`
	Why         string    `json:"why"`
	Backend     string    `json:"backend"`
}

func runBlocks(args []string) int {
	fs := flag.NewFlagSet("blocks", flag.ContinueOnError)
	var ef engineFlags
	ef.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per block")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: irtui blocks [flags]\n\nLists irtui's active blocks with the time left and the firewall's own\npacket counters, after reconciling the firewall with the journal.\n\nflags:")
		fs.PrintDefaults()
	}
	posArgs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(posArgs) > 0 {
		fmt.Fprintln(os.Stderr, "irtui blocks: takes no arguments (irtui blocks --help)")
		return 2
	}
	ctx, cancel := signalContext()
	defer cancel()
	e, err := ef.engine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui blocks:", err)
		return 1
	}
	list, err := e.List(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui blocks:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		for _, a := range list {
			j := blockJSON{ID: a.ID, Action: string(a.Rule.Action), Scope: block.ScopeString(a.Rule.Scope),
				Created: a.Created, Expires: a.Expires, LeftSeconds: int64(a.Left / time.Second),
				Packets: a.Packets, Bytes: a.Bytes, Missing: a.Missing, Who: sanitize.Text(a.Who), Why: sanitize.Text(a.Why), Backend: a.Backend}
			if a.Rule.Action == block.RateLimit {
				j.Rate = a.Rule.Rate.String()
			}
			for _, t := range a.Targets {
				j.Targets = append(j.Targets, t.String())
			}
			enc.Encode(j)
		}
		return 0
	}
	if len(list) == 0 {
		fmt.Printf("no active blocks (%s)\n", e.Backend.Name())
		return 0
	}
	fmt.Printf("%-21s %-24s %-16s %8s %9s  %s\n", "ID", "TARGETS", "RULE", "LEFT", "PACKETS", "WHO / WHY")
	for _, a := range list {
		rule := string(a.Rule.Action)
		if a.Rule.Action == block.RateLimit {
			rule = "limit " + a.Rule.Rate.String()
		}
		if len(a.Rule.Scope) > 0 {
			rule += " " + block.ScopeString(a.Rule.Scope)
		}
		missing := ""
		if a.Missing > 0 {
			missing = fmt.Sprintf(" (%d missing!)", a.Missing)
		}
		fmt.Printf("%-21s %-24s %-16s %8s %9d  %s / %s%s\n", a.ID, sanitize.Truncate(shortTargets(a.Targets, 1), 24),
			sanitize.Truncate(rule, 16), a.Left.Round(time.Second), a.Packets, sanitize.Truncate(a.Who, 16), sanitize.Truncate(orDash(a.Why), 40), missing)
	}
	return 0
}
