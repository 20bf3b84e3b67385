package drill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/report"
	"github.com/irtui/irtui/internal/trace"
	"github.com/irtui/irtui/playbooks"
)

// Modes of the block engine in a drill.
const (
	ModeDryRun  = "dry-run" // blocks are journaled and simulated, nothing is applied
	ModeSandbox = "sandbox" // real nftables rules inside a namespace made for the drill
)

// Options say how a drill session runs.
type Options struct {
	// Speed compresses scenario time: 10 plays four minutes in 24 seconds.
	Speed float64
	// Seed fixes the generated traffic; 0 picks one from the clock.
	Seed uint64
	// Keep leaves the drill's directory (logs, AS table, journal, timeline,
	// abuse report) behind instead of removing it.
	Keep bool
	// Sandbox applies blocks with real nftables inside a network namespace
	// the session creates and removes, instead of the dry-run backend.
	Sandbox bool
	// TempDir is where the drill's directory is made; os.TempDir when empty.
	TempDir string
	// Analyzer replaces analyze.DefaultConfig (drills are reproducible, so
	// the operator's thresholds are not read unless passed here).
	Analyzer *analyze.Config
	// NoIngest leaves following the logs to the caller (a console that runs
	// its own pipeline): it must then call Observe with its snapshots.
	NoIngest bool
	// FindingsByCaller leaves the findings out of Observe's timeline
	// entries: a console that records them itself (with their targets)
	// shares the timeline, and each finding belongs there once.
	FindingsByCaller bool
	// Poll is the wall time between two looks at the analyzer; 50 ms when zero.
	Poll time.Duration
	// Think is the data time the autopilot takes, after the attack is
	// detected, before it opens the playbook: the operator reading the
	// finding. 10 s when zero; negative means none.
	Think time.Duration
	// Guard replaces the block guard built from this host (SSH client,
	// loopback, own addresses).
	Guard *block.Guard
}

// Session is one drill running end to end without a terminal: the
// generator writing the scenario's logs into a temporary directory, the
// ingest pipeline following them into an analyzer that resolves ASes from
// the scenario's own offline table, detection of the attack, an optional
// autopilot playing the recommended playbook against a block engine that
// never touches the real firewall, and the score.
//
// A console shows the same drill by reading Analyzer (or running its own
// pipeline over Files and calling Observe), handing its blocks to Engine
// (the generator honours what the engine applies, as a firewall would),
// and calling Score at the end.
type Session struct {
	Scenario *Scenario
	Opts     Options
	// Dir holds the logs, the AS table, the complaint and the abuse report.
	Dir string
	// StateDir holds the block journal, the timeline and the playbook runs.
	StateDir  string
	Generator *Generator
	Analyzer  *analyze.Analyzer
	Tracer    *trace.Tracer
	// Engine is the drill's block engine: dry-run or the sandbox's nftables,
	// wired so that the generator stops blocked traffic.
	Engine   *block.Engine
	Timeline *playbook.Timeline
	// Namespace is the sandbox's network namespace; empty in dry-run.
	Namespace string

	mu        sync.Mutex
	started   bool
	detected  time.Time
	detectedC chan struct{}
	seen      map[string]bool
	finding   *analyze.Finding
	run       *playbook.Run
	steps     [2]int // done, skipped, when set by a console
	stepsSet  bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	genErr    error
	closed    bool
}

// NewSession prepares a drill of sc: its directory, the offline AS table,
// the tracer, the analyzer and the block engine (creating the sandbox
// namespace with Options.Sandbox). Nothing runs until Start; Close undoes
// everything.
func NewSession(sc *Scenario, opt Options) (s *Session, err error) {
	if opt.Speed <= 0 {
		opt.Speed = 1
	}
	if opt.Seed == 0 {
		opt.Seed = uint64(time.Now().UnixNano())
	}
	if opt.Poll <= 0 {
		opt.Poll = 50 * time.Millisecond
	}
	if opt.Think == 0 {
		opt.Think = 10 * time.Second
	}
	dir, err := os.MkdirTemp(opt.TempDir, "irtui-drill-"+sc.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("cannot create the drill's directory: %w (set TMPDIR to a writable place)", err)
	}
	s = &Session{Scenario: sc, Opts: opt, Dir: dir, StateDir: filepath.Join(dir, "state"),
		detectedC: make(chan struct{}), seen: map[string]bool{}}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	s.Generator = NewGenerator(sc, dir, opt.Speed, opt.Seed)
	if err := os.WriteFile(s.ASTablePath(), sc.ASTable(), 0o600); err != nil {
		return s, err
	}
	s.Tracer, err = trace.Open(trace.Config{Offline: true, NoDiskCache: true, Workers: 1, ASNDB: []string{s.ASTablePath()}})
	if err != nil {
		return s, fmt.Errorf("drill AS table: %w", err)
	}
	cfg := analyze.DefaultConfig()
	// Every attacker of a scenario fits in the snapshot, so the abuse
	// report at the end lists them all.
	cfg.Top = 1000
	if opt.Analyzer != nil {
		cfg = *opt.Analyzer
	}
	cfg.OwnNetworks = append(slices.Clone(cfg.OwnNetworks), sc.OwnNetworks...)
	s.Analyzer = analyze.New(cfg)
	s.Analyzer.SetASResolver(s.Tracer)
	s.Timeline = &playbook.Timeline{Path: filepath.Join(s.StateDir, "timeline.jsonl")}

	journal, err := block.OpenJournal(filepath.Join(s.StateDir, "blocks"))
	if err != nil {
		return s, err
	}
	var inner block.Backend = &block.DryRun{}
	if opt.Sandbox {
		ns, err := newSandbox()
		if err != nil {
			return s, err
		}
		s.Namespace = ns
		inner = &block.NFT{Runner: block.Runner{Prefix: []string{"ip", "netns", "exec", ns}}}
	}
	guard := opt.Guard
	if guard == nil {
		guard, err = block.NewGuard(block.GuardOptions{})
		if err != nil {
			return s, err
		}
	}
	s.Engine = &block.Engine{
		Backend: &firewall{inner: inner, gen: s.Generator, pending: map[string]*block.State{}},
		Journal: journal,
		Guard:   guard,
		Preview: func(t []netip.Prefix) (analyze.Impact, bool) { return s.Analyzer.Impact(t), true },
		Who:     block.CurrentUser() + " (drill)",
	}
	return s, nil
}

// Mode is ModeDryRun or ModeSandbox.
func (s *Session) Mode() string {
	if s.Namespace != "" {
		return ModeSandbox
	}
	return ModeDryRun
}

// Files are the three logs the generator writes: web, mail, DNS.
func (s *Session) Files() []string {
	return []string{filepath.Join(s.Dir, AccessLog), filepath.Join(s.Dir, MailLog), filepath.Join(s.Dir, QueryLog)}
}

// ASTablePath is the scenario's offline AS table (iptoasn TSV), for a
// tracer of the console's own.
func (s *Session) ASTablePath() string { return filepath.Join(s.Dir, ASTable) }

// ReportPath is where Report writes the abuse report in format.
func (s *Session) ReportPath(format string) string {
	switch format {
	case trace.ReportMarkdown:
		return filepath.Join(s.Dir, "abuse-report.md")
	case trace.ReportCSV:
		return filepath.Join(s.Dir, "abuse-report.csv")
	}
	return filepath.Join(s.Dir, "abuse-report.txt")
}

// Start writes the history, then runs the generator, the ingest pipeline
// (unless NoIngest) and the detector watch until the scenario ends, Close
// is called or ctx ends. The log files are complete up to the live part
// when Start returns, so a console can open them at once.
func (s *Session) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("drill session already started")
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.mu.Unlock()
	if err := s.Generator.Prepare(time.Now()); err != nil {
		return err
	}
	if err := s.Generator.WriteHistory(); err != nil {
		return err
	}
	s.Timeline.AppendAt(s.Generator.Now(), playbook.EventNote,
		fmt.Sprintf("drill %q started (%s, speed %g)", s.Scenario.Name, s.Mode(), s.Opts.Speed), s.Scenario.Title)
	if !s.Opts.NoIngest {
		var sources []logs.Source
		for _, f := range s.Files() {
			sources = append(sources, logs.NewFileSource(f, logs.FileOptions{FromStart: true}))
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ingest.Run(ctx, sources, ingest.Config{}, s.Analyzer)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.Generator.Run(ctx); err != nil {
			s.mu.Lock()
			s.genErr = err
			s.mu.Unlock()
		}
	}()
	if !s.Opts.NoIngest {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watch(ctx)
		}()
	}
	return nil
}

// watch looks at the analyzer until the scenario has been written and
// the pipeline had a moment to catch up.
func (s *Session) watch(ctx context.Context) {
	t := time.NewTicker(s.Opts.Poll)
	defer t.Stop()
	var over <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Generator.Done():
			if over == nil {
				over = time.After(500 * time.Millisecond)
			}
		case <-over:
			s.Observe(s.Analyzer.Snapshot())
			return
		case <-t.C:
			s.Observe(s.Analyzer.Snapshot())
		}
	}
}

// Observe notes the findings of a snapshot: new ones go to the timeline,
// and the first finding that names the attack (its kind is one the
// scenario expects, raised once the attack started) marks it detected on
// the drill's data clock, as far as the analyzer has read.
func (s *Session) Observe(snap *analyze.Snapshot) {
	if snap == nil {
		return
	}
	// The detection time is the data time the analyzer had reached (its
	// newest event), not the generator's clock: at a compressed speed a
	// pipeline that lags by a moment of wall time on a busy machine would
	// otherwise be charged speed times over, which a real server following
	// its logs at 1× never is.
	now := s.Generator.Now()
	if n := snap.Newest; !n.IsZero() && n.Before(now) {
		now = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range snap.Findings {
		f := &snap.Findings[i]
		if !s.seen[f.ID] {
			s.seen[f.ID] = true
			if !s.Opts.FindingsByCaller {
				s.Timeline.AppendAt(now, playbook.EventFinding, f.Summary, f.Kind)
			}
		}
		if s.detected.IsZero() && slices.Contains(s.Scenario.Expect, f.Kind) && !now.Before(s.Generator.AttackStart()) {
			s.detected = now
			close(s.detectedC)
		}
	}
}

// Detected returns when the attack was detected on the data clock (zero
// while it is not).
func (s *Session) Detected() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detected
}

// DetectedC is closed when the attack is detected.
func (s *Session) DetectedC() <-chan struct{} { return s.detectedC }

// expected returns the finding the playbook is run for: of the findings
// naming the attack, the one of the kind the scenario lists first.
func (s *Session) expected(snap *analyze.Snapshot) *analyze.Finding {
	if snap == nil {
		return nil
	}
	for _, kind := range s.Scenario.Expect {
		for i := range snap.Findings {
			if snap.Findings[i].Kind == kind {
				f := snap.Findings[i]
				return &f
			}
		}
	}
	return nil
}

// Autopilot waits for the attack to be detected, gives the operator
// Options.Think of data time, then plays the scenario's recommended
// playbook through playbook.Autopilot. It returns when the playbook is
// finished, the scenario is over (the steps left stay pending) or ctx ends.
func (s *Session) Autopilot(ctx context.Context) error {
	lib, err := playbook.Load(playbooks.FS, "")
	if err != nil {
		return err
	}
	pb, ok := lib.Get(s.Scenario.Playbook)
	if !ok {
		return fmt.Errorf("scenario %s recommends playbook %q, which does not exist", s.Scenario.Name, s.Scenario.Playbook)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.Generator.Done():
		return fmt.Errorf("the attack of drill %s was never detected", s.Scenario.Name)
	case <-s.detectedC:
	}
	if s.Opts.Think > 0 {
		until := s.Detected().Add(s.Opts.Think)
		for s.Generator.Now().Before(until) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(s.Opts.Poll):
			}
		}
	}
	f := s.expected(s.Analyzer.Snapshot())
	run := playbook.NewRun(pb, f, s.Generator.Now())
	s.mu.Lock()
	s.finding, s.run = f, run
	s.mu.Unlock()
	// The drill ends when the scenario does: a playbook still verifying
	// then has its remaining steps left pending.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Generator.Done():
			time.Sleep(500 * time.Millisecond)
			cancel()
		case <-actx.Done():
		}
	}()
	store := &playbook.Store{Dir: filepath.Join(s.StateDir, "runs")}
	err = playbook.Autopilot(actx, pb, run, &env{s: s}, s.Timeline, store, s.Opts.Poll*2)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		// the scenario ended first: not an error of the drill
		s.Timeline.AppendAt(s.Generator.Now(), playbook.EventNote, "drill over before the playbook finished", "")
		return nil
	}
	return err
}

// Run returns the playbook run of the autopilot, nil before it started.
func (s *Session) Run() *playbook.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run
}

// SetSteps records the playbook steps a console's operator did and
// skipped, for the score.
func (s *Session) SetSteps(done, skipped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps, s.stepsSet = [2]int{done, skipped}, true
}

// Wait returns when the generator has written the whole scenario.
func (s *Session) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.Generator.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.genErr
}

// Score computes the score from the generator's ground truth, the
// detection time and the playbook steps (the autopilot's, or those set
// with SetSteps).
func (s *Session) Score() Score {
	s.mu.Lock()
	detected := s.detected
	done, skipped := s.steps[0], s.steps[1]
	if !s.stepsSet && s.run != nil {
		done, skipped = s.run.Counts()
	}
	s.mu.Unlock()
	return NewScore(s.Scenario, s.Generator.Counts(), detected, done, skipped)
}

// Close stops everything, removes the sandbox namespace and, unless
// Options.Keep, the drill's directory. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
	var errs []error
	if s.Tracer != nil {
		errs = append(errs, s.Tracer.Close())
	}
	if s.Namespace != "" {
		errs = append(errs, removeSandbox(s.Namespace))
	}
	if !s.Opts.Keep && s.Dir != "" {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// RunHeadless plays sc end to end without a terminal: with autopilot the
// recommended playbook is played, without it the drill only watches. The
// score comes back once the scenario is over; the session is closed, and
// its directory kept with Options.Keep (its path is in the returned Session).
func RunHeadless(ctx context.Context, sc *Scenario, opt Options, autopilot bool) (Score, *Session, error) {
	s, err := NewSession(sc, opt)
	if err != nil {
		return Score{}, nil, err
	}
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		return Score{}, s, err
	}
	apErr := make(chan error, 1)
	if autopilot {
		go func() { apErr <- s.Autopilot(ctx) }()
	} else {
		apErr <- nil
	}
	if err := s.Wait(ctx); err != nil {
		return s.Score(), s, err
	}
	if err := <-apErr; err != nil {
		return s.Score(), s, err
	}
	sc2 := s.Score()
	s.Timeline.AppendAt(s.Generator.Now(), playbook.EventNote, fmt.Sprintf("drill %q over: %.0f %% of the attack stopped, %.2f %% of legitimate traffic cut",
		sc.Name, sc2.AttackStopped*100, sc2.Collateral*100), "")
	return sc2, s, nil
}

// env is the playbook's view of the drill.
type env struct{ s *Session }

func (e *env) Snapshot() *analyze.Snapshot { return e.s.Analyzer.Snapshot() }
func (e *env) Now() time.Time              { return e.s.Generator.Now() }
func (e *env) Values() map[string]float64  { return e.s.Scenario.Audit }

// Block plans the request on the drill's engine, leaves out what the guard
// refuses, and applies the rest.
func (e *env) Block(ctx context.Context, req playbook.BlockRequest) (string, error) {
	breq, err := blockRequest(req)
	if err != nil {
		return "", err
	}
	eng := e.s.Engine
	p, err := eng.Plan(ctx, breq)
	var refused *block.RefusedError
	note := ""
	if errors.As(err, &refused) {
		bad := map[netip.Prefix]bool{}
		for _, r := range refused.Refusals {
			bad[r.Target] = true
		}
		var rest []netip.Prefix
		for _, t := range breq.Targets {
			if !bad[block.NormalizePrefix(t)] {
				rest = append(rest, t)
			}
		}
		note = fmt.Sprintf(" (%d refused by the guard)", len(refused.Refusals))
		if len(rest) == 0 {
			return "", err
		}
		breq.Targets = rest
		p, err = eng.Plan(ctx, breq)
	}
	if err != nil {
		return "", err
	}
	if err := eng.Apply(ctx, p); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s for %d target(s)%s, %s backend", p.Block.ID, p.Block.Rule, len(p.Block.Targets), note, e.s.Engine.Backend.Name()), nil
}

// blockRequest turns a playbook step's request into the engine's.
func blockRequest(req playbook.BlockRequest) (block.Request, error) {
	action, err := block.ParseAction(req.Action)
	if err != nil {
		return block.Request{}, err
	}
	scope, err := block.ParseScope(strings.Join(req.Ports, ","))
	if err != nil {
		return block.Request{}, err
	}
	rule := block.Rule{Action: action, Scope: scope}
	if action == block.RateLimit {
		if rule.Rate, err = block.ParseRate(req.Rate); err != nil {
			return block.Request{}, err
		}
	}
	return block.Request{Targets: req.Targets, Rule: rule, TTL: req.TTL, Why: req.Reason}, nil
}

// Report writes the abuse report for the addresses of the snapshot that
// targets cover, with their sample lines, into the drill's directory.
func (e *env) Report(ctx context.Context, targets []netip.Prefix, format string) (string, error) {
	var rows []trace.AbuseRow
	if len(targets) > 0 { // with none, AbuseRows would take the findings'
		rows, _ = report.AbuseRows(e.s.Analyzer.Snapshot(), targets)
	}
	if len(rows) == 0 {
		return "", errors.New("no address of the chosen targets is in the current data")
	}
	// the scenario's own AS table names the networks (an offline lookup)
	report.Enrich(ctx, rows, e.s.Tracer, 4, 5*time.Second)
	path := e.s.ReportPath(format)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	err = trace.WriteAbuseReport(f, rows, trace.AbuseOptions{
		Format:    format,
		Contacts:  trace.ContactsFunc(func(asn uint32, _ netip.Addr) []string { return nonEmpty(e.s.Scenario.AbuseContact(asn)) }),
		Title:     "Abuse report (drill " + e.s.Scenario.Name + ")",
		Generated: e.s.Generator.Now(),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (%d addresses)", path, len(rows)), nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// firewall wraps the drill's backend: whatever the engine applies (blocks,
// unblocks, expiries) is also handed to the generator, which then stops
// the traffic the rules would stop.
type firewall struct {
	inner block.Backend
	gen   *Generator

	mu      sync.Mutex
	pending map[string]*block.State
}

func (f *firewall) Name() string { return f.inner.Name() }

func (f *firewall) Installed(ctx context.Context) (*block.Installed, error) {
	return f.inner.Installed(ctx)
}

func (f *firewall) Prepare(want *block.State, have *block.Installed, now time.Time) (block.Batch, error) {
	b, err := f.inner.Prepare(want, have, now)
	if err == nil && !b.Empty() {
		f.mu.Lock()
		if len(f.pending) > 64 {
			clear(f.pending)
		}
		f.pending[b.Text()] = want
		f.mu.Unlock()
	}
	return b, err
}

func (f *firewall) Exec(ctx context.Context, b block.Batch) error {
	if err := f.inner.Exec(ctx, b); err != nil {
		return err
	}
	f.mu.Lock()
	want, ok := f.pending[b.Text()]
	delete(f.pending, b.Text())
	f.mu.Unlock()
	if ok {
		f.gen.SetBlocks(generatorBlocks(want, f.gen.Now()))
	}
	return nil
}

// generatorBlocks turns the firewall's wanted state into the generator's blocks.
func generatorBlocks(st *block.State, at time.Time) []Block {
	var out []Block
	for id, rs := range st.Rules {
		var ports []string
		for _, p := range rs.Rule.Scope {
			ports = append(ports, p.String())
		}
		b := Block{Ports: ports, Action: string(rs.Rule.Action), Rule: id, At: at}
		if rs.Rule.Action == block.RateLimit && rs.Rule.Rate.Per > 0 {
			b.PerSecond = float64(rs.Rule.Rate.Count) / rs.Rule.Rate.Per.Seconds()
			b.Burst = float64(rs.Rule.Rate.Burst)
		}
		for p := range rs.Elems {
			b.Prefix = p
			out = append(out, b)
		}
	}
	return out
}

// newSandbox creates the network namespace a sandboxed drill's firewall
// lives in. The real (root namespace) firewall is never touched.
func newSandbox() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("--sandbox needs root to create a network namespace (run with sudo, or drop --sandbox to use the dry-run backend)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			pkg := map[string]string{"ip": "iproute2", "nft": "nftables"}[tool]
			return "", fmt.Errorf("--sandbox needs %s (apt-get install %s), or drop --sandbox to use the dry-run backend", tool, pkg)
		}
	}
	var b [4]byte
	rand.Read(b[:])
	ns := "irtui-drill-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot create the sandbox namespace %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		removeSandbox(ns)
		return "", fmt.Errorf("cannot bring up loopback in %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return ns, nil
}

func removeSandbox(ns string) error {
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot remove the sandbox namespace %s: %v: %s (remove it with: ip netns del %s)", ns, err, strings.TrimSpace(string(out)), ns)
	}
	return nil
}
