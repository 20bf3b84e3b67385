package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/audit"
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/fleet"
	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/logs/remote"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/sanitize"
	"github.com/irtui/irtui/internal/trace"
	"github.com/irtui/irtui/internal/ui"
	"github.com/irtui/irtui/playbooks"
)

func init() {
	register(&command{name: "watch", summary: "the console: follow logs live, see who attacks and block them (default)", run: runWatch})
}

// defaultLogs are the places looked at when no log is named.
var defaultLogs = []string{
	"/var/log/nginx/access.log",
	"/var/log/apache2/access.log",
	"/var/log/httpd/access_log",
	"/var/log/mail.log",
	"/var/log/maillog",
	"/var/log/exim4/mainlog",
	"/var/log/named/query.log",
	"/var/log/named/queries.log",
	"/var/log/bind/query.log",
}

const watchUsage = `usage: irtui [watch] [flags] [FILE…]
       irtui --demo
       irtui watch --drill NAME [--speed N]

Follows the named log files ("-" for standard input), or the usual places
when none is named, and opens the console. Blocks go through the same
engine as 'irtui block': shown as rules text, journaled, undoable, expiring.
The Playbook screen (8) walks through the playbook the findings suggest;
every finding, step, block, unblock, report and note goes to the incident
timeline ('irtui timeline').

--demo and --drill run a scenario in DRILL mode instead: generated logs in
a temporary directory, blocks on the dry-run backend (the generator stops
the traffic they would stop), and a score at the end, printed on exit.
'irtui drill list' names the scenarios.

flags:
`

func runWatch(args []string) int {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	refresh := fs.Duration("refresh", time.Second, "how often the screen takes a new snapshot (slower uses fewer bytes on slow links)")
	demo := fs.Bool("demo", false, "run the built-in demo drill: generated logs, blocks only simulated, no root and no files needed")
	drillName := fs.String("drill", "", "run this drill scenario in the console (see 'irtui drill list')")
	speed := fs.Float64("speed", 1, "with --demo or --drill: how much faster than real time the scenario runs")
	sandbox := fs.Bool("sandbox", false, "with --demo or --drill: apply blocks with real nftables inside a network namespace made for the drill (root)")
	keep := fs.Bool("keep", false, "with --demo or --drill: keep the drill's directory (logs, journal, timeline, abuse report)")
	seed := fs.Uint64("seed", 0, "with --demo or --drill: fix the generated traffic (0: a new one each run)")
	dryRun := fs.Bool("dry-run", false, "plan and show blocks, never apply them (same as --backend dry-run)")
	format := fs.String("format", "", "parse every file as this format instead of detecting it (see 'irtui parse --list-formats')")
	logFormat := fs.String("log-format", "", "an Apache LogFormat or nginx log_format string; implies --format custom")
	fromStart := fs.Bool("from-start", false, "read the files from their beginning, not only new lines")
	since := fs.Duration("since", 0, "also read rotated copies, keeping this much history (e.g. 2h)")
	var cmds multiFlag
	fs.Var(&cmds, "cmd", "follow a command's output, e.g. 'journalctl -f -o short-iso -u postfix' (run without a shell; repeatable)")
	poll := fs.Bool("poll", false, "poll files instead of inotify (NFS, some container mounts)")
	config := fs.String("config", analyze.ConfigPath(), "analyzer thresholds (YAML)")
	splitByHost := fs.Bool("split-by-host", false, "show each fleet host's pages, mail actions and DNS names as their own rows (addresses stay merged)")
	offline := fs.Bool("offline", false, "no network lookups: AS from --asn-db tables and the cache only")
	report := fs.String("report", "", "abuse report file the r key adds to (default STATE_DIR/abuse-report.md)")
	var asnDB multiFlag
	fs.Var(&asnDB, "asn-db", "offline IP-to-AS table (pfx2as, iptoasn TSV or MaxMind mmdb; repeatable)")
	var ef engineFlags
	ef.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), watchUsage)
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *refresh < 100*time.Millisecond {
		fmt.Fprintln(os.Stderr, "irtui watch: --refresh must be at least 100ms")
		return 2
	}
	if *speed <= 0 || *speed > 1000 {
		fmt.Fprintln(os.Stderr, "irtui watch: --speed must be between 0 and 1000 (e.g. 10)")
		return 2
	}
	var scen *drill.Scenario
	if *drillName != "" {
		if *demo {
			fmt.Fprintln(os.Stderr, "irtui watch: --demo is the first drill; give either --demo or --drill NAME")
			return 2
		}
		if len(files) > 0 {
			fmt.Fprintln(os.Stderr, "irtui watch: a drill writes its own logs; drop the file names or --drill")
			return 2
		}
		if scen, err = drill.Find(*drillName); err != nil {
			fmt.Fprintln(os.Stderr, "irtui watch:", sanitize.Text(err.Error()))
			return 2
		}
	}
	if _, _, err := formats.ResolveAmong(formats.All(), *format, *logFormat); err != nil {
		fmt.Fprintln(os.Stderr, "irtui watch:", sanitize.Text(err.Error()))
		return 2
	}
	ctx, stop := signalContext()
	defer stop()

	mode := ui.ModeLive
	if *dryRun {
		ef.backend = "dry-run"
	}
	if ef.backend == "dry-run" {
		mode = ui.ModeDryRun
	}
	icfg := ingest.Config{Format: *format, LogFormat: *logFormat, FromStart: *fromStart, Since: *since, Poll: *poll}
	if icfg.SSHArgs, err = ef.ssh.args(); err != nil {
		fmt.Fprintln(os.Stderr, "irtui watch:", err)
		return 2
	}
	for _, f := range files {
		if remote.IsURL(f) {
			// the hosts logs come from are the operator's own: never block them
			ef.sources = append(ef.sources, f)
		}
	}

	if !*demo && scen == nil && len(files) == 0 && len(cmds) == 0 {
		for _, p := range defaultLogs {
			if f, err := os.Open(p); err == nil {
				f.Close()
				files = append(files, p)
			} else if errors.Is(err, os.ErrPermission) {
				fmt.Fprintf(os.Stderr, "irtui: cannot read %s: permission denied (run with sudo, or add your user to group adm)\n", p)
			}
		}
		if len(files) == 0 {
			if !isTerminal(os.Stdout) {
				fmt.Fprintln(os.Stderr, "irtui: no log found at the usual places; name the files (irtui watch FILE…) or try irtui --demo")
				return 1
			}
			choice, err := ui.RunNoLogs(ctx, defaultLogs)
			if err != nil {
				fmt.Fprintln(os.Stderr, "irtui:", err)
				return 1
			}
			if choice != ui.NoLogsDemo {
				return 0
			}
			*demo = true
		}
	}

	if *demo && scen == nil {
		all, err := drill.Scenarios()
		if err != nil || len(all) == 0 {
			fmt.Fprintln(os.Stderr, "irtui --demo: no built-in scenario:", err)
			return 1
		}
		scen = all[0]
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		an       *analyze.Analyzer
		tracer   *trace.Tracer
		eng      *block.Engine
		stateDir string
		sess     *drill.Session
	)
	abuse := &ui.AbuseReport{Path: *report}
	userPlaybooks := playbook.ConfigDir()
	if scen != nil {
		// A drill is a drill.Session: it writes the logs, follows them into
		// its analyzer (the operator's thresholds are not read, so the score
		// compares with autopilot's), resolves ASes from the scenario's own
		// table, detects the attack, and its dry-run engine hands whatever
		// the firewall holds to the generator. The real firewall, the
		// network and the operator's state directory are never touched.
		mode = ui.ModeDrill
		sess, err = drill.NewSession(scen, drill.Options{Speed: *speed, Seed: *seed, Sandbox: *sandbox, Keep: *keep, FindingsByCaller: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui drill:", sanitize.Text(err.Error()))
			return 1
		}
		defer sess.Close()
		// the history goes in first, so the console opens on a baseline
		if err := sess.Start(runCtx); err != nil {
			fmt.Fprintln(os.Stderr, "irtui drill:", sanitize.Text(err.Error()))
			return 1
		}
		an, tracer, eng, stateDir = sess.Analyzer, sess.Tracer, sess.Engine, sess.StateDir
		if abuse.Path == "" {
			abuse.Path = sess.ReportPath(trace.ReportMarkdown)
		}
		// the drill's reports name the scenario's own abuse contacts, and
		// its playbooks are the shipped ones, as on autopilot
		abuse.Contacts = trace.ContactsFunc(func(asn uint32, _ netip.Addr) []string {
			if c := scen.AbuseContact(asn); c != "" {
				return []string{c}
			}
			return nil
		})
		userPlaybooks = ""
	} else {
		acfg, err := analyze.LoadConfig(*config)
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()))
			return 2
		}
		if *splitByHost {
			acfg.SplitByHost = true
		}
		an = analyze.New(acfg)
		tracer, err = trace.Open(trace.Config{Offline: *offline, ASNDB: asnDB})
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()), "(check --asn-db)")
			return 2
		}
		defer tracer.Close()
		an.SetASResolver(tracer)
		if eng, err = ef.engine(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "irtui: the block engine is not available:", sanitize.Text(err.Error()),
				"(run with sudo for the firewall, or use --dry-run)")
			return 1
		}
		if stateDir = ef.stateDir; stateDir == "" {
			stateDir = playbook.StateDir()
		}
		if abuse.Path == "" {
			abuse.Path = filepath.Join(stateDir, "abuse-report.md")
		}
		abuse.Contacts = tracer
	}
	abuse.Snapshot = an.Snapshot
	lib, err := playbook.Load(playbooks.FS, userPlaybooks)
	if lib == nil {
		fmt.Fprintln(os.Stderr, "irtui: the playbooks did not load:", sanitize.Text(err.Error()))
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui: some of your playbooks were not loaded (check them with 'irtui playbook check'):\n"+sanitize.Text(err.Error()))
	}

	timeline := &playbook.Timeline{Path: filepath.Join(stateDir, "timeline.jsonl")}
	var drillLink ui.Drill
	ingestDone := make(chan error, 1)
	if sess != nil {
		// the session follows its own logs
		timeline, drillLink = sess.Timeline, ui.SessionDrill(sess)
		ingestDone <- nil
	} else {
		sources, err := ingest.Open(files, cmds, icfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()))
			return 2
		}
		go func() {
			ingestDone <- ingest.Run(runCtx, sources, icfg, an)
		}()
	}
	// What the fleet's CrowdSec agents already detected shows beside
	// irtui's own findings.
	snapshot := an.Snapshot
	if cs, ok := eng.Backend.(*crowdsec.Backend); ok {
		feed := fleet.NewAlerts(cs.Client, 30*time.Second, 24*time.Hour)
		go feed.Run(runCtx)
		snapshot = func() *analyze.Snapshot { return feed.Merge(an.Snapshot()) }
	}

	// Playbook checks read the self-audit of this host: half-open
	// connections (every 10 s, from /proc), and whether its own mail or DNS
	// server is open (one conversation each at start, not a probe every few
	// minutes in the operator's own mail log).
	var auditValues func() map[string]float64
	if sess == nil {
		v := audit.NewValues(audit.LocalOptions{Timeout: 5 * time.Second}, 10*time.Second, 24*time.Hour)
		go v.Run(runCtx)
		auditValues = v.Get
	}

	res, err := ui.Run(runCtx, ui.Config{
		Engines: ui.Engines{
			Snapshot:  snapshot,
			Audit:     auditValues,
			Impact:    an.Impact,
			Block:     ui.BlockEngine(eng),
			Trace:     ui.TraceEngine(runCtx, tracer),
			Report:    abuse,
			Playbooks: lib,
			Runs:      &playbook.Store{Dir: filepath.Join(stateDir, "runs")},
			Timeline:  timeline,
			StateDir:  stateDir,
			Drill:     drillLink,
		},
		Mode:    mode,
		Refresh: *refresh,
	})
	cancel()
	if res.Score != nil {
		res.Score.WriteText(os.Stdout)
	}
	if sess != nil && *keep {
		fmt.Printf("The drill's logs, journal, timeline and abuse report are kept in %s\n", sess.Dir)
	}
	select {
	case ierr := <-ingestDone:
		if ierr != nil && err == nil {
			fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(ierr.Error()))
			return 2
		}
	case <-time.After(2 * time.Second):
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()))
		return 1
	}
	return 0
}
