package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/irtui/irtui/internal/audit"
)

func init() {
	register(&command{name: "audit", summary: "is this server the problem? open relay, open resolver, mail DNS, SYN backlog", run: runAudit})
}

// auditList collects a repeatable string flag.
type auditList []string

func (l *auditList) String() string     { return strings.Join(*l, ",") }
func (l *auditList) Set(v string) error { *l = append(*l, v); return nil }

const auditUsage = `usage:
  irtui audit [flags]                        check this host (its own addresses, own_domains from the config)
  irtui audit relay HOST[:PORT] [flags]      does the SMTP server relay for strangers? (port 25)
  irtui audit resolver HOST[:PORT] [flags]   open recursion, ANY amplification, rate limiting (port 53)
  irtui audit mail-dns DOMAIN [flags]        SPF, DMARC, DKIM, MX and the MX hosts' PTR records
  irtui audit syn [flags]                    half-open connections and SYN-flood settings from /proc

It talks only to the host you name (or this host), one conversation per check.
Exit status: 0 fine, 1 problem found, 2 could not tell (or a usage error).
`

type auditFlags struct {
	fs         *flag.FlagSet
	json       bool
	timeout    time.Duration
	transcript bool
	quiet      bool
	// relay
	helo, fromDomain, toDomain, localPart, domain string
	noTLS                                         bool
	// resolver
	name, anyName string
	burst         int
	// mail-dns
	resolver  string
	selectors auditList
	// syn
	proc string
}

func newAuditFlags(sub string, stderr io.Writer) *auditFlags {
	f := &auditFlags{fs: flag.NewFlagSet(strings.TrimSpace("irtui audit "+sub), flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(stderr)
	fs.BoolVar(&f.json, "json", false, "one JSON object per check (verdict, details, transcript, data)")
	fs.DurationVar(&f.timeout, "timeout", audit.DefaultTimeout, "limit for connecting and for every reply or DNS exchange")
	switch sub {
	case "relay":
		fs.BoolVar(&f.quiet, "quiet", false, "do not print the SMTP transcript")
		fs.StringVar(&f.helo, "helo", "relay-test.example.com", "name to greet with")
		fs.StringVar(&f.fromDomain, "from-domain", "example.org", "outside sender's domain (use a reserved example domain)")
		fs.StringVar(&f.toDomain, "to-domain", "example.net", "outside recipient's domain (use a reserved example domain)")
		fs.StringVar(&f.localPart, "local-part", "relay-test", "user part of the made-up addresses")
		fs.StringVar(&f.domain, "domain", "", "a domain the server receives mail for, used by the percent-hack, bang-path, quoted and source-route tricks (default: the name in its greeting)")
		fs.BoolVar(&f.noTLS, "no-starttls", false, "do not repeat the checks after STARTTLS")
	case "resolver":
		fs.BoolVar(&f.quiet, "quiet", false, "do not print the queries and answers")
		fs.StringVar(&f.name, "name", "example.com", "a name the server is not authoritative for")
		fs.StringVar(&f.anyName, "any-name", "", "name to ask ANY for (default --name; give one of its own zones for an authoritative server)")
		fs.IntVar(&f.burst, "burst", 50, "identical queries sent to test rate limiting (at most 500)")
	case "mail-dns":
		fs.BoolVar(&f.quiet, "quiet", false, "do not print the DNS queries")
		fs.StringVar(&f.resolver, "resolver", "", "DNS server to ask, HOST[:PORT] (default: the first nameserver in /etc/resolv.conf)")
		fs.Var(&f.selectors, "dkim-selector", "DKIM selector to check (repeatable)")
	case "syn":
		fs.StringVar(&f.proc, "proc", "/proc", "where the proc file system is mounted")
	default:
		fs.BoolVar(&f.transcript, "transcript", false, "print each check's transcript under the checklist")
		fs.StringVar(&f.resolver, "resolver", "", "DNS server for the mail-DNS checks, HOST[:PORT] (default: /etc/resolv.conf)")
		fs.StringVar(&f.proc, "proc", "/proc", "where the proc file system is mounted")
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, auditUsage)
		fmt.Fprintf(stderr, "\nflags of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	return f
}

// parse accepts flags before and after the positional arguments, so
// "audit relay mx.example.com --json" works as well as the other order.
func (f *auditFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			return nil, err
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runAudit(args []string) int {
	return auditMain(args, os.Stdout, os.Stderr)
}

func auditMain(args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "", "relay", "resolver", "mail-dns", "syn":
	default:
		fmt.Fprintf(stderr, "irtui audit: unknown check %q\n\n%s", sub, auditUsage)
		return 2
	}
	f := newAuditFlags(sub, stderr)
	pos, err := f.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if f.timeout <= 0 {
		fmt.Fprintln(stderr, "irtui audit: --timeout must be positive (for example 10s)")
		return 2
	}
	want := 1
	if sub == "" || sub == "syn" {
		want = 0
	}
	if len(pos) != want {
		switch want {
		case 0:
			fmt.Fprintf(stderr, "irtui audit %s: takes no arguments (got %q)\n", sub, pos)
		default:
			fmt.Fprintf(stderr, "irtui audit %s: give exactly one target, for example: irtui audit %s %s\n", sub, sub, map[string]string{"relay": "mx.example.com", "resolver": "ns1.example.com", "mail-dns": "example.com"}[sub])
		}
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var results []audit.Result
	showTranscript := !f.quiet
	switch sub {
	case "relay":
		addr, err := audit.HostPort(pos[0], "25")
		if err != nil {
			fmt.Fprintf(stderr, "irtui audit relay: %v\n", err)
			return 2
		}
		results = append(results, audit.CheckRelay(ctx, audit.RelayOptions{
			Addr: addr, Timeout: f.timeout, Helo: f.helo, FromDomain: f.fromDomain, ToDomain: f.toDomain,
			LocalPart: f.localPart, TargetDomain: f.domain, NoTLS: f.noTLS,
		}))
	case "resolver":
		addr, err := audit.HostPort(pos[0], "53")
		if err != nil {
			fmt.Fprintf(stderr, "irtui audit resolver: %v\n", err)
			return 2
		}
		results = append(results, audit.CheckResolver(ctx, audit.ResolverOptions{
			Addr: addr, Timeout: f.timeout, Name: f.name, AnyName: f.anyName, Burst: f.burst,
		}))
	case "mail-dns":
		results = append(results, audit.CheckMailDNS(ctx, audit.MailDNSOptions{
			Domain: pos[0], Resolver: f.resolver, DKIMSelectors: f.selectors, Timeout: f.timeout,
		}))
	case "syn":
		showTranscript = false
		results = append(results, audit.CheckSYN(f.proc))
	default:
		cfg, err := audit.LoadConfig(audit.ConfigPath())
		if err != nil {
			fmt.Fprintf(stderr, "irtui audit: %v\n", err)
			return 2
		}
		results = audit.CheckLocal(ctx, audit.LocalOptions{ProcRoot: f.proc, Config: cfg, Timeout: f.timeout, Resolver: f.resolver})
	}

	switch {
	case f.json:
		err = audit.WriteJSON(stdout, results)
	case sub == "":
		err = audit.WriteChecklist(stdout, results)
		if err == nil && f.transcript {
			fmt.Fprintln(stdout)
			err = audit.WriteText(stdout, results, true)
		}
	default:
		err = audit.WriteText(stdout, results, showTranscript)
	}
	if err != nil {
		fmt.Fprintf(stderr, "irtui audit: writing the report: %v\n", err)
		return 2
	}
	return audit.Worst(results).ExitCode()
}
