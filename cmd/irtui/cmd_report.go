package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/report"
	"github.com/irtui/irtui/internal/trace"
)

func init() {
	register(&command{name: "report", summary: "print who hits what, and the findings, as text or JSON (--json)", run: runReport})
}

const reportUsage = `usage: irtui report [--json] [--since DUR] [--top N] [--follow [--interval 1s]] [--format NAME] [--log-format '…'] FILE…
       irtui report --abuse [--format text|markdown|csv] [--mask NAME]… [--offline] [--asn-db FILE]… FILE…

Reads the log files (gzip too; "-" is standard input) and prints the
groupings by AS, address, prefix, page, status, behaviour cluster, mail
action and DNS name, and the findings with their evidence and candidate
block targets. --json prints one JSON object (see the README for its keys);
--follow keeps following the files and prints one report every --interval,
each with the newest event's time and the time it was emitted.
Thresholds and windows come from the config file (--print-config shows the
defaults to copy there).

flags:
`

func runReport(args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	since := fs.Duration("since", 0, "only events from the last DUR (e.g. 2h); 0 reads everything")
	top := fs.Int("top", 20, "rows per table")
	followF := fs.Bool("follow", false, "keep following the files; print a report every --interval")
	interval := fs.Duration("interval", time.Second, "with --follow: time between reports")
	fromStart := fs.Bool("from-start", false, "with --follow: read the files from their start first")
	format := fs.String("format", "", "parse every file as this format instead of detecting it (irtui parse --list-formats)")
	logFormat := fs.String("log-format", "", "an Apache LogFormat or nginx log_format string; implies --format custom")
	configPath := fs.String("config", analyze.ConfigPath(), "config file with windows and detector thresholds")
	splitByHost := fs.Bool("split-by-host", false, "show each fleet host's pages, mail actions and DNS names as their own rows (addresses stay merged)")
	printConfig := fs.Bool("print-config", false, "print the default config as YAML and exit")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parse with this many goroutines")
	abuse := fs.Bool("abuse", false, "write the abuse report instead: one section per AS with its abuse contacts, the attacking addresses sorted by AS and IP (--format text|markdown|csv)")
	var mask multiFlag
	fs.Var(&mask, "mask", "with --abuse: a host name or address of yours to replace by [masked] in evidence lines (repeatable)")
	tcfg := trace.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reportUsage)
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *printConfig {
		fmt.Print(analyze.DefaultConfig().YAML())
		return 0
	}
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "irtui report: name one or more log files, or - for standard input (irtui report --help)")
		return 2
	}
	if *top <= 0 || *interval <= 0 || *since < 0 {
		fmt.Fprintln(os.Stderr, "irtui report: --top and --interval must be positive, --since not negative")
		return 2
	}
	cfg, err := analyze.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui report:", err)
		return 2
	}
	if *splitByHost {
		cfg.SplitByHost = true
	}
	// With --abuse, --format names the report's format; the log format is
	// then detected (the two sets of names do not overlap).
	abuseFormat := trace.ReportText
	if *abuse {
		switch *format {
		case trace.ReportText, trace.ReportMarkdown, trace.ReportCSV:
			abuseFormat, *format = *format, ""
		}
	}
	if !*followF {
		deferGC(heapBeforeGC)
	}
	tracer, err := trace.Open(*tcfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui report:", err, "(check --asn-db)")
		return 2
	}
	defer tracer.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := report.Options{
		Paths: files, JSON: *asJSON, Since: *since, Top: *top, Follow: *followF, Interval: *interval,
		FromStart: *fromStart, Format: *format, LogFormat: *logFormat, Workers: *workers, Config: cfg,
		Out: os.Stdout, Err: os.Stderr, Resolver: tracer,
	}
	if *abuse {
		err = writeAbuse(ctx, o, tracer, trace.AbuseOptions{Format: abuseFormat, Mask: mask})
	} else {
		err = report.Run(ctx, o)
	}
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, report.ErrNoAttackers):
		fmt.Fprintln(os.Stderr, "irtui report --abuse:", err, "(irtui report FILE… shows what was found)")
		return 1
	case errors.Is(err, report.ErrNoInput):
		fmt.Fprintln(os.Stderr, "irtui report: none of the files could be read (check the paths and permissions; sudo or group adm may be needed)")
		return 1
	default:
		fmt.Fprintln(os.Stderr, "irtui report:", err)
		return 1
	}
}

func writeAbuse(ctx context.Context, o report.Options, tracer *trace.Tracer, opts trace.AbuseOptions) error {
	// Every attacking address belongs in the report, not only the top rows.
	o.Top = max(o.Top, 10000)
	snap, err := report.Analyze(ctx, o)
	if err != nil {
		return err
	}
	return report.WriteAbuse(ctx, os.Stdout, snap, tracer, tracer, opts)
}
