// Command loggen writes realistic logs for benchmarks and drills:
//
//	loggen [-lines N] [-seed N] [-attacks page_flood,login,...] [-o FILE]   a combined access log
//	loggen append -o FILE -rate 50000 -duration 60s -marks MARKS          append live lines, noting when
//	loggen lag -marks MARKS SNAPSHOTS.jsonl                               append→snapshot lag percentiles
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/irtui/irtui/internal/loggen"
)

func main() {
	args := os.Args[1:]
	var code int
	switch {
	case len(args) > 0 && args[0] == "append":
		code = runAppend(args[1:])
	case len(args) > 0 && args[0] == "lag":
		code = runLag(args[1:])
	default:
		code = runFile(args)
	}
	os.Exit(code)
}

func runFile(args []string) int {
	fs := flag.NewFlagSet("loggen", flag.ContinueOnError)
	c := loggen.DefaultAccessLog()
	out := fs.String("o", "-", "output file (- for standard output)")
	fs.IntVar(&c.Lines, "lines", c.Lines, "lines to write")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed: the same seed writes the same file")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "benign requests per second of log time")
	fs.IntVar(&c.Clients, "clients", c.Clients, "distinct benign visitors")
	fs.Float64Var(&c.V6Share, "v6", c.V6Share, "share of IPv6 visitors")
	fs.BoolVar(&c.Vhost, "vhost", false, "write vhost_combined lines")
	attacks := fs.String("attacks", "", "attacks to mix in: page_flood,single_flood,login,scanner")
	fs.Float64Var(&c.AttackFrom, "attack-from", c.AttackFrom, "where attacks start, as a share of the lines")
	fs.Float64Var(&c.AttackShare, "attack-share", c.AttackShare, "share of attack lines once they started")
	start := fs.String("start", c.Start.Format(time.RFC3339), "time of the first line (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	t, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen: -start must be RFC 3339, like 2026-03-03T06:00:00Z")
		return 2
	}
	c.Start = t
	if *attacks != "" {
		c.Attacks = strings.Split(*attacks, ",")
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loggen:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	tr, err := loggen.WriteAccessLog(w, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "loggen: %d lines, %.1f MB, %d attack lines\n", tr.Lines, float64(tr.Bytes)/1e6, tr.AttackLines)
	return 0
}

// runAppend appends combined lines stamped with the current time at a
// steady rate, in 10 ms ticks, and notes after each write how many lines
// were written and when, for the lag measurement.
func runAppend(args []string) int {
	fs := flag.NewFlagSet("loggen append", flag.ContinueOnError)
	out := fs.String("o", "", "file to append to")
	rate := fs.Int("rate", 50000, "lines per second")
	dur := fs.Duration("duration", 60*time.Second, "how long to write")
	marks := fs.String("marks", "", "file to note \"lines wall-ns\" in after each write")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "loggen append: -o FILE is required")
		return 2
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen append:", err)
		return 1
	}
	defer f.Close()
	var mw *bufio.Writer
	if *marks != "" {
		m, err := os.Create(*marks)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loggen append:", err)
			return 1
		}
		defer m.Close()
		mw = bufio.NewWriter(m)
		defer mw.Flush()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	web := loggen.NewWeb(uint64(time.Now().UnixNano()), 40000, 0.1)
	const tick = 10 * time.Millisecond
	tk := time.NewTicker(tick)
	defer tk.Stop()
	begin := time.Now()
	var written int64
	buf := make([]byte, 0, 1<<20)
	for time.Since(begin) < *dur && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tk.C:
		}
		want := int64(time.Since(begin).Seconds() * float64(*rate))
		buf = buf[:0]
		now := time.Now()
		n := want - written
		for i := int64(0); i < n; i++ {
			r := web.Benign(now)
			buf = loggen.AppendCombined(buf, &r)
		}
		if _, err := f.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "loggen append:", err)
			return 1
		}
		written += n
		if mw != nil && n > 0 {
			fmt.Fprintf(mw, "%d %d\n", written, time.Now().UnixNano())
		}
	}
	fmt.Fprintf(os.Stderr, "loggen append: %d lines in %s\n", written, time.Since(begin).Round(time.Millisecond))
	return 0
}

// runLag matches the writer's marks with the snapshots `irtui report
// --follow --json` printed: a write is seen by the first snapshot whose
// parsed count covers it.
func runLag(args []string) int {
	fs := flag.NewFlagSet("loggen lag", flag.ContinueOnError)
	marks := fs.String("marks", "", "the marks file of loggen append")
	if err := fs.Parse(args); err != nil || *marks == "" || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: loggen lag -marks MARKS SNAPSHOTS.jsonl")
		return 2
	}
	type mark struct{ n, at int64 }
	var ms []mark
	mf, err := os.ReadFile(*marks)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen lag:", err)
		return 1
	}
	for _, l := range strings.Split(strings.TrimSpace(string(mf)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		at, _ := strconv.ParseInt(f[1], 10, 64)
		ms = append(ms, mark{n, at})
	}
	sf, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen lag:", err)
		return 1
	}
	defer sf.Close()
	type snap struct {
		Parsed  int64     `json:"parsed"`
		Emitted time.Time `json:"emitted"`
	}
	var snaps []snap
	sc := bufio.NewScanner(sf)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var s snap
		if json.Unmarshal(sc.Bytes(), &s) == nil && !s.Emitted.IsZero() {
			snaps = append(snaps, s)
		}
	}
	var lags []float64
	j := 0
	for _, m := range ms {
		for j < len(snaps) && (snaps[j].Parsed < m.n || snaps[j].Emitted.UnixNano() < m.at) {
			j++
		}
		if j == len(snaps) {
			break
		}
		lags = append(lags, float64(snaps[j].Emitted.UnixNano()-m.at)/1e6)
	}
	if len(lags) == 0 {
		fmt.Fprintln(os.Stderr, "loggen lag: no write was seen in a snapshot")
		return 1
	}
	seen := len(lags)
	slices.Sort(lags)
	pct := func(p float64) float64 { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	fmt.Printf("writes %d seen %d  lag ms: p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n",
		len(ms), seen, pct(0.5), pct(0.9), pct(0.99), lags[len(lags)-1])
	return 0
}
