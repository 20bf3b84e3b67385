package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/sanitize"
	"github.com/irtui/irtui/internal/trace"
	"github.com/irtui/irtui/internal/ui"
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

Follows the named log files ("-" for standard input), or the usual places
when none is named, and opens the console. Blocks go through the same
engine as 'irtui block': shown as rules text, journaled, undoable, expiring.

flags:
`

func runWatch(args []string) int {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	refresh := fs.Duration("refresh", time.Second, "how often the screen takes a new snapshot (slower uses fewer bytes on slow links)")
	demo := fs.Bool("demo", false, "run the built-in demo drill: generated logs, blocks only simulated, no root and no files needed")
	dryRun := fs.Bool("dry-run", false, "plan and show blocks, never apply them (same as --backend dry-run)")
	format := fs.String("format", "", "parse every file as this format instead of detecting it (see 'irtui parse --list-formats')")
	logFormat := fs.String("log-format", "", "an Apache LogFormat or nginx log_format string; implies --format custom")
	fromStart := fs.Bool("from-start", false, "read the files from their beginning, not only new lines")
	since := fs.Duration("since", 0, "also read rotated copies, keeping this much history (e.g. 2h)")
	poll := fs.Bool("poll", false, "poll files instead of inotify (NFS, some container mounts)")
	config := fs.String("config", analyze.ConfigPath(), "analyzer thresholds (YAML)")
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
	fopt := logs.FileOptions{FromStart: *fromStart, Backfill: *since > 0, Poll: *poll}
	if *since > 0 {
		fopt.NotBefore = time.Now().Add(-*since)
	}

	if !*demo && len(files) == 0 {
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

	tcfg := trace.Config{Offline: *offline, ASNDB: asnDB}
	var gen *drill.Generator
	if *demo {
		mode = ui.ModeDrill
		dir, err := os.MkdirTemp("", "irtui-demo-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui --demo: cannot create a temporary directory:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		scen, err := drill.Scenarios()
		if err != nil || len(scen) == 0 {
			fmt.Fprintln(os.Stderr, "irtui --demo: no built-in scenario:", err)
			return 1
		}
		gen = drill.NewGenerator(scen[0], filepath.Join(dir, "logs"), 1, uint64(time.Now().UnixNano()))
		if err := gen.Prepare(time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, "irtui --demo:", err)
			return 1
		}
		files = []string{filepath.Join(gen.Dir, drill.AccessLog), filepath.Join(gen.Dir, drill.MailLog), filepath.Join(gen.Dir, drill.QueryLog)}
		fopt.FromStart = true
		// a drill never touches the real firewall nor asks the network
		ef.backend, ef.stateDir = "dry-run", filepath.Join(dir, "state")
		tcfg = trace.Config{Offline: true, NoDiskCache: true, ASNDB: []string{filepath.Join(gen.Dir, drill.ASTable)}}
	}

	acfg, err := analyze.LoadConfig(*config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()))
		return 2
	}
	an := analyze.New(acfg)
	tracer, err := trace.Open(tcfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui:", sanitize.Text(err.Error()), "(check --asn-db)")
		return 2
	}
	defer tracer.Close()
	an.SetASResolver(tracer)

	eng, err := ef.engine(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui: the block engine is not available:", sanitize.Text(err.Error()),
			"(run with sudo for the firewall, or use --dry-run)")
		return 1
	}
	reportPath := *report
	if reportPath == "" {
		dir := ef.stateDir
		if dir == "" {
			dir, _ = block.DefaultStateDir()
		}
		reportPath = filepath.Join(dir, "abuse-report.md")
	}

	sources := make([]logs.Source, 0, len(files))
	for _, f := range files {
		if f == "-" {
			sources = append(sources, logs.Stdin())
			continue
		}
		sources = append(sources, logs.NewFileSource(f, fopt))
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ingestDone := make(chan error, 1)
	go func() {
		ingestDone <- ingest.Run(runCtx, sources, ingest.Config{Format: *format, LogFormat: *logFormat, Since: *since, Poll: *poll}, an)
	}()
	if gen != nil {
		go gen.Run(runCtx)
	}

	err = ui.Run(runCtx, ui.Config{
		Engines: ui.Engines{
			Snapshot: an.Snapshot,
			Impact:   an.Impact,
			Block:    ui.BlockEngine(eng),
			Trace:    ui.TraceEngine(runCtx, tracer),
			Report:   &ui.AbuseReport{Path: reportPath, Snapshot: an.Snapshot, Contacts: tracer},
		},
		Mode:    mode,
		Refresh: *refresh,
	})
	cancel()
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
