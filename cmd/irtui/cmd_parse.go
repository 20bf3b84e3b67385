package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/irtui/irtui/internal/logs/formats"
	"github.com/irtui/irtui/internal/logs/ingest"
	"github.com/irtui/irtui/internal/sanitize"
)

func init() {
	register(&command{name: "parse", summary: "show how each log line is understood, as JSON (--summary for counts)", run: runParse})
}

const parseUsage = `usage: irtui parse [--format NAME] [--log-format '…'] [--summary] FILE…

Prints one JSON object per input line, in input order:
  {"line":N,"file":"…","format":"…","kind":"http|mail|dns","time":"…","src":"…",…}
or, for a line that is not understood,
  {"line":N,"file":"…","error":"<reason>"}
Each file's format is detected from its first lines; gzip files are read
as they are; "-" reads standard input.

flags:
`

func runParse(args []string) int { return parseMain(args, os.Stdout, os.Stderr) }

func parseMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "parse every file as this format instead of detecting it (see --list-formats)")
	logFormat := fs.String("log-format", "", "an Apache LogFormat or nginx log_format string; implies --format custom")
	summary := fs.Bool("summary", false, "print counts per file, format, kind, action and malformed reason instead of JSON")
	list := fs.Bool("list-formats", false, "list the formats irtui understands and exit")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parse with this many goroutines")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), parseUsage)
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *list {
		for _, f := range formats.All() {
			name := f.Name
			if f.NeedsLogFormat {
				name += " (with --log-format)"
			}
			fmt.Fprintf(stdout, "%-28s %-5s %s\n", name, f.Kind, f.Doc)
		}
		return 0
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "irtui parse: name one or more log files, or - for standard input (irtui parse --help)")
		return 2
	}
	stdin := 0
	for _, f := range files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		fmt.Fprintln(stderr, "irtui parse: standard input (-) can be read only once")
		return 2
	}
	cfg := ingest.Config{Format: *format, LogFormat: *logFormat}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	failed := 0
	fail := func(name string, err error) {
		failed++
		fmt.Fprintln(stderr, "irtui parse:", sanitize.Text(err.Error()))
	}
	var sum *ingest.Summary
	if *summary {
		sum, err = ingest.Summarize(ctx, files, cfg, *workers, fail)
	} else {
		sum, err = ingest.Parse(ctx, files, cfg, *workers, stdout, fail)
	}
	if err != nil {
		fmt.Fprintln(stderr, "irtui parse:", sanitize.Text(err.Error()))
		if sum == nil {
			return 2 // the flags named a format that does not exist
		}
		return 1
	}
	if *summary {
		if err := sum.WriteText(stdout); err != nil {
			return 1
		}
	}
	for _, f := range sum.Files {
		if f.Lines > 0 && f.Format == "" && *format == "" {
			fmt.Fprintf(stderr, "irtui parse: %s: format not recognised; name it with --format (one of %s) or give --log-format\n",
				sanitize.Text(f.Name), strings.Join(formats.Names(), ", "))
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
