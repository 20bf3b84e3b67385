package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/drill"
	"github.com/irtui/irtui/internal/sanitize"
	"github.com/irtui/irtui/internal/trace"
)

func init() {
	register(&command{name: "drill", summary: "tabletop drills: built-in attack scenarios, replay of recorded logs, a score", run: runDrill})
}

const drillUsage = `usage: irtui drill list
       irtui drill NAME [--speed N]                     the console, in DRILL mode
       irtui drill NAME --autopilot [--speed N] [--json] [--sandbox] [--keep]
       irtui drill --replay FILE… [--speed N] [--max-gap D] [--json]

A drill generates a scenario's logs (a benign baseline plus the attack) in
a temporary directory in real time, compressed by --speed. Blocks go to the
dry-run backend, or with --sandbox to real nftables rules inside a network
namespace irtui creates and removes: the real firewall is never touched.
--autopilot plays the scenario's recommended playbook itself and prints the
score. --replay plays recorded logs with their own timing, compressed.

flags:
`

func runDrill(args []string) int { return drillMain(args, os.Stdout, os.Stderr) }

func drillMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	speed := fs.Float64("speed", 1, "how much faster than real time the scenario (or the replayed log) runs")
	autopilot := fs.Bool("autopilot", false, "play the recommended playbook without a terminal and print the score")
	asJSON := fs.Bool("json", false, "print the score (or the replay summary) as one JSON object")
	sandbox := fs.Bool("sandbox", false, "apply blocks with real nftables inside a network namespace made for the drill (root)")
	keep := fs.Bool("keep", false, "keep the drill's directory (logs, AS table, journal, timeline, abuse report) and print where it is")
	replay := fs.Bool("replay", false, "replay the named log files with their original timing, compressed by --speed")
	maxGap := fs.Duration("max-gap", 2*time.Second, "with --replay: the longest pause between two lines, so quiet hours in the log do not stall the replay")
	seed := fs.Uint64("seed", 0, "fix the generated traffic (0: a new one each run)")
	config := fs.String("config", analyze.ConfigPath(), "analyzer thresholds for --replay (YAML); drills use the defaults")
	var asnDB multiFlag
	fs.Var(&asnDB, "asn-db", "offline IP-to-AS table for --replay (pfx2as, iptoasn TSV or mmdb; repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), drillUsage)
		fs.PrintDefaults()
	}
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *speed <= 0 || *speed > 1000 {
		fmt.Fprintln(stderr, "irtui drill: --speed must be between 0 and 1000 (e.g. 10)")
		return 2
	}
	if *replay {
		if len(rest) == 0 {
			fmt.Fprintln(stderr, "irtui drill --replay: name the log files to replay (irtui drill --replay /var/log/nginx/access.log.1 --speed 10)")
			return 2
		}
		if *maxGap <= 0 {
			fmt.Fprintln(stderr, "irtui drill --replay: --max-gap must be positive (e.g. 2s)")
			return 2
		}
		return runReplay(rest, drill.ReplayOptions{Speed: *speed, MaxGap: *maxGap, Keep: *keep}, *asJSON, *config, asnDB, stdout, stderr)
	}
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	if rest[0] == "list" {
		if len(rest) > 1 {
			fmt.Fprintln(stderr, "irtui drill list: takes no arguments")
			return 2
		}
		return listDrills(stdout, stderr)
	}
	if len(rest) > 1 {
		fmt.Fprintf(stderr, "irtui drill: one scenario at a time (got %d names); 'irtui drill list' shows them\n", len(rest))
		return 2
	}
	sc, err := drill.Find(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill:", sanitize.Text(err.Error()))
		return 2
	}
	if !*autopilot {
		// The console in DRILL mode: the same program as irtui watch.
		if !isTerminal(os.Stdin) || !isTerminal(os.Stdout) {
			fmt.Fprintf(stderr, "irtui drill %s: the drill console needs a terminal; without one, run it on autopilot:\n  irtui drill %s --autopilot --speed 10\n", sc.Name, sc.Name)
			return 1
		}
		wargs := []string{"--drill", sc.Name, "--speed", strconv.FormatFloat(*speed, 'g', -1, 64)}
		if *seed != 0 {
			wargs = append(wargs, "--seed", strconv.FormatUint(*seed, 10))
		}
		if *sandbox {
			wargs = append(wargs, "--sandbox")
		}
		if *keep {
			wargs = append(wargs, "--keep")
		}
		return runWatch(wargs)
	}
	ctx, stop := signalContext()
	defer stop()
	opt := drill.Options{Speed: *speed, Seed: *seed, Keep: *keep, Sandbox: *sandbox}
	if !*asJSON {
		mode := "dry-run backend"
		if *sandbox {
			mode = "nftables in a sandbox namespace"
		}
		fmt.Fprintf(stderr, "drill %q: %s, on autopilot with the %q playbook, %s at %g× (about %s)…\n",
			sc.Name, sc.Title, sc.Playbook, mode, *speed, (time.Duration(float64(sc.Duration-sc.AttackStart+drill.Lead) / *speed)).Round(time.Second))
	}
	score, sess, err := drill.RunHeadless(ctx, sc, opt, true)
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill:", sanitize.Text(err.Error()))
		if sess == nil {
			return 1
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if e := enc.Encode(score); e != nil {
			return 1
		}
	} else {
		score.WriteText(stdout)
	}
	if *keep && sess != nil {
		fmt.Fprintf(stderr, "kept the drill's directory: %s (timeline: %s)\n", sess.Dir, sess.Timeline.Path)
	}
	if err != nil {
		return 1
	}
	return 0
}

// listDrills prints one scenario per line, its name first.
func listDrills(w, stderr io.Writer) int {
	all, err := drill.Scenarios()
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill list:", err)
		return 1
	}
	width := 0
	for _, s := range all {
		width = max(width, len(s.Name))
	}
	for _, s := range all {
		fmt.Fprintf(w, "%-*s  %s\n", width, s.Name, s.Title)
	}
	return 0
}

func runReplay(files []string, opt drill.ReplayOptions, asJSON bool, config string, asnDB []string, stdout, stderr io.Writer) int {
	acfg, err := analyze.LoadConfig(config)
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill --replay:", sanitize.Text(err.Error()))
		return 2
	}
	opt.Analyzer = &acfg
	if len(asnDB) > 0 {
		tracer, err := trace.Open(trace.Config{Offline: true, NoDiskCache: true, ASNDB: asnDB})
		if err != nil {
			fmt.Fprintln(stderr, "irtui drill --replay:", sanitize.Text(err.Error()), "(check --asn-db)")
			return 2
		}
		defer tracer.Close()
		opt.Resolver = tracer
	}
	rp, err := drill.NewReplay(files, opt)
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill --replay:", sanitize.Text(err.Error()))
		return 1
	}
	defer rp.Close()
	ctx, stop := signalContext()
	defer stop()
	if !asJSON {
		fmt.Fprintf(stderr, "replaying %d file(s) at %g×…\n", len(files), opt.Speed)
	}
	if err := rp.Start(ctx); err != nil {
		fmt.Fprintln(stderr, "irtui drill --replay:", err)
		return 1
	}
	sum, err := rp.Wait(ctx)
	if asJSON {
		json.NewEncoder(stdout).Encode(sum)
	} else {
		sum.WriteText(stdout)
	}
	if opt.Keep {
		fmt.Fprintf(stderr, "kept the replayed files in %s\n", rp.Dir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "irtui drill --replay:", sanitize.Text(err.Error()))
		return 1
	}
	return 0
}
