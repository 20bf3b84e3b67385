package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
	"github.com/irtui/irtui/internal/trace"
)

func init() {
	register(&command{name: "trace", summary: "show AS, prefix, PTR and abuse contact of addresses (--json)", run: runTrace})
}

const traceUsage = `usage: irtui trace [--json] [--offline] [--asn-db FILE]… [--resolver HOST:PORT] [--rdap] ADDRESS…

Looks up the origin AS, announced prefix, country, registry, PTR name (and
whether it resolves back to the address) and abuse contacts of each
address, through Team Cymru's and Abusix's DNS zones, or offline from
RouteViews pfx2as, iptoasn or GeoLite2-ASN tables. Answers are cached in
%s.

With --json, one object per line with the keys ip asn as_name prefix
country registry ptr ptr_confirmed abuse (and origins allocated routed
source); what is not known is null.

flags:
`

func runTrace(args []string) int { return traceMain(args, os.Stdout, os.Stderr) }

func traceMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "one JSON object per address and line")
	timeout := fs.Duration("timeout", 15*time.Second, "give up on an address after `DURATION`")
	cfg := trace.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), traceUsage, trace.DefaultCacheDir())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "irtui trace: name one or more addresses, e.g. irtui trace 192.0.2.1 2001:db8::1")
		return 2
	}
	addrs := make([]netip.Addr, 0, fs.NArg())
	for _, a := range fs.Args() {
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Zone() != "" {
			fmt.Fprintf(stderr, "irtui trace: %q is not an IP address (give addresses like 192.0.2.1 or 2001:db8::1)\n", sanitize.Truncate(a, 80))
			return 2
		}
		addrs = append(addrs, ip.Unmap())
	}

	tr, err := trace.Open(*cfg)
	if err != nil {
		fmt.Fprintf(stderr, "irtui trace: %s\n(check the file given to --asn-db: RouteViews pfx2as, iptoasn TSV or a GeoLite2-ASN .mmdb)\n", sanitize.Text(err.Error()))
		return 1
	}
	defer func() {
		if err := tr.Close(); err != nil {
			fmt.Fprintf(stderr, "irtui trace: %s\n", sanitize.Text(err.Error()))
		}
	}()
	if err := tr.CacheError(); err != nil {
		fmt.Fprintf(stderr, "irtui trace: %s\n", sanitize.Text(err.Error()))
	}

	type answer struct {
		info trace.Info
		err  error
	}
	answers := make([]answer, len(addrs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, ip := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			defer cancel()
			answers[i].info, answers[i].err = tr.Lookup(ctx, ip)
		}()
	}
	wg.Wait()

	enc := json.NewEncoder(stdout)
	for i, a := range answers {
		if *jsonOut {
			if err := enc.Encode(a.info); err != nil {
				fmt.Fprintln(stderr, "irtui trace:", err)
				return 1
			}
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if err := trace.WriteText(stdout, a.info); err != nil {
				fmt.Fprintln(stderr, "irtui trace:", err)
				return 1
			}
		}
		if a.err != nil {
			fmt.Fprintf(stderr, "irtui trace: %s: some answers are missing: %s\n", a.info.IP,
				sanitize.Text(strings.ReplaceAll(a.err.Error(), "\n", "; ")))
		}
	}
	return 0
}
