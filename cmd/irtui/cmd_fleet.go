package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/fleet"
	"github.com/irtui/irtui/internal/logs/remote"
	"github.com/irtui/irtui/internal/sanitize"
)

func init() {
	register(&command{name: "fleet", summary: "check the fleet: ssh:// sources, host addresses, CrowdSec decisions and alerts", run: runFleet})
}

const fleetUsage = `usage: irtui fleet [flags] [ssh://[user@]HOST[:port]/path/to/log …]

Checks what a fleet console needs before it runs: that each ssh:// source
connects with your keys and its file can be read, the address of every
fleet host (the guard never lets a block cut one of them off), and with
--crowdsec-credentials the Local API: irtui's decisions in force with
their time left, and the alerts CrowdSec's own agents raised.

Exit status: 0 when everything answered, 1 when something did not, 2 on
usage errors.

flags:
`

// sshFlags are the ssh options every remote source gets.
type sshFlags struct {
	config  string
	options multiFlag
}

func (f *sshFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "ssh-config", "", "ssh client configuration file (ssh -F; default ~/.ssh/config)")
	fs.Var(&f.options, "ssh-option", "an ssh option as KEY=VALUE (ssh -o; repeatable), e.g. UserKnownHostsFile=FILE")
}

// args turns the flags into ssh arguments, refusing anything that is not
// a KEY=VALUE option.
func (f *sshFlags) args() ([]string, error) {
	var out []string
	if f.config != "" {
		out = append(out, "-F", f.config)
	}
	for _, o := range f.options {
		k, _, ok := strings.Cut(o, "=")
		if !ok || k == "" || strings.HasPrefix(o, "-") || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--ssh-option %q: use KEY=VALUE, e.g. --ssh-option ProxyJump=bastion", o)
		}
		out = append(out, "-o", o)
	}
	return out, nil
}

type fleetReport struct {
	Sources  []fleetSource  `json:"sources"`
	Hosts    []fleetHost    `json:"hosts"`
	HostsErr string         `json:"hosts_error,omitempty"`
	CrowdSec *fleetCrowdSec `json:"crowdsec,omitempty"`
}

type fleetSource struct {
	URL   string `json:"url"`
	Host  string `json:"host"`
	OK    bool   `json:"ok"`
	Size  int64  `json:"size,omitempty"`
	Ms    int64  `json:"ms,omitempty"`
	Error string `json:"error,omitempty"`
}

type fleetHost struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
}

type fleetCrowdSec struct {
	URL       string          `json:"url"`
	Login     string          `json:"login"`
	Error     string          `json:"error,omitempty"`
	Decisions []fleetDecision `json:"decisions"`
	Findings  []fleetFinding  `json:"findings"`
}

type fleetDecision struct {
	ID       int64  `json:"id"`
	Target   string `json:"target"`
	Left     string `json:"left"`
	Machine  string `json:"machine"`
	Scenario string `json:"scenario"`
}

type fleetFinding struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Target   string `json:"target,omitempty"`
	Alerts   int64  `json:"alerts"`
	Last     string `json:"last,omitempty"`
}

func runFleet(args []string) int {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	var sf sshFlags
	sf.register(fs)
	creds := fs.String("crowdsec-credentials", "", "the machine's local_api_credentials.yaml (url, login, password), as cscli writes it")
	var hostsFlag multiFlag
	fs.Var(&hostsFlag, "fleet-host", "another host of the fleet, by name or address (repeatable)")
	since := fs.Duration("since", 24*time.Hour, "CrowdSec alerts raised within this long")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), fleetUsage)
		fs.PrintDefaults()
	}
	urls, err := parseInterleaved(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	sshArgs, err := sf.args()
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui fleet:", err)
		return 2
	}
	if len(urls) == 0 && *creds == "" && len(hostsFlag) == 0 {
		fmt.Fprintln(os.Stderr, "irtui fleet: name ssh:// sources, --fleet-host or --crowdsec-credentials (irtui fleet --help)")
		return 2
	}
	var srcs []*remote.Source
	for _, u := range urls {
		s, err := remote.New(u, remote.Options{Args: sshArgs})
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui fleet:", err)
			return 2
		}
		srcs = append(srcs, s)
	}
	ctx, cancel := signalContext()
	defer cancel()
	rep, ok := fleetCheck(ctx, srcs, urls, hostsFlag, sshArgs, *creds, *since)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printFleet(os.Stdout, rep)
	}
	if !ok {
		return 1
	}
	return 0
}

func fleetCheck(ctx context.Context, srcs []*remote.Source, urls, extra, sshArgs []string, credPath string, since time.Duration) (fleetReport, bool) {
	ok := true
	rep := fleetReport{Sources: make([]fleetSource, len(srcs))}
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Probe(ctx)
			fsrc := fleetSource{URL: s.Name(), Host: s.Host(), OK: err == nil, Size: r.Size, Ms: r.Took.Milliseconds()}
			if err != nil {
				fsrc.Error = sanitize.Text(err.Error())
			}
			rep.Sources[i] = fsrc
		}()
	}
	var lapiURL string
	var be *crowdsec.Backend
	if credPath != "" {
		b, err := crowdsec.Open(credPath, nil)
		if err != nil {
			rep.CrowdSec = &fleetCrowdSec{Error: sanitize.Text(err.Error())}
			ok = false
		} else {
			be = b
			lapiURL = b.Client.URL("")
			rep.CrowdSec = &fleetCrowdSec{URL: lapiURL, Login: sanitize.Text(b.Client.Login())}
		}
	}
	hosts, err := fleet.Resolve(ctx, fleet.Names(urls, lapiURL, extra), sshArgs, nil)
	for _, h := range hosts {
		fh := fleetHost{Name: sanitize.Text(h.Name)}
		for _, a := range h.Addrs {
			fh.Addrs = append(fh.Addrs, a.String())
		}
		rep.Hosts = append(rep.Hosts, fh)
	}
	if err != nil {
		rep.HostsErr = sanitize.Text(err.Error())
		ok = false
	}
	if be != nil {
		cs := rep.CrowdSec
		ds, err := be.Client.AllIrtuiDecisions(ctx)
		if err != nil {
			cs.Error = sanitize.Text(err.Error())
			ok = false
		}
		for _, d := range ds {
			target := d.Prefix.String()
			if d.Prefix.IsSingleIP() {
				target = d.Prefix.Addr().String()
			}
			cs.Decisions = append(cs.Decisions, fleetDecision{ID: d.ID, Target: target, Left: d.Left.Round(time.Second).String(), Machine: d.Machine, Scenario: d.Scenario})
		}
		if err == nil {
			alerts, err := be.Client.FleetAlerts(ctx, since)
			if err != nil {
				cs.Error = sanitize.Text(err.Error())
				ok = false
			}
			for _, f := range crowdsec.Findings(alerts, time.Now()) {
				ff := fleetFinding{Severity: f.Severity.String(), Summary: f.Summary, Alerts: f.Evidence[0].Count}
				if len(f.Targets) > 0 {
					ff.Target = f.Targets[0].String()
				}
				if !f.Last.IsZero() {
					ff.Last = f.Last.Format(time.RFC3339)
				}
				cs.Findings = append(cs.Findings, ff)
			}
		}
	}
	wg.Wait()
	for _, s := range rep.Sources {
		if !s.OK {
			ok = false
		}
	}
	return rep, ok
}

func printFleet(w io.Writer, rep fleetReport) {
	if len(rep.Sources) > 0 {
		fmt.Fprintln(w, "sources:")
		for _, s := range rep.Sources {
			if s.OK {
				fmt.Fprintf(w, "  ok    %s (%d bytes, answered in %d ms)\n", s.URL, s.Size, s.Ms)
			} else {
				fmt.Fprintf(w, "  FAIL  %s: %s\n", s.URL, s.Error)
			}
		}
	}
	if len(rep.Hosts) > 0 || rep.HostsErr != "" {
		fmt.Fprintln(w, "fleet hosts (never blocked):")
		for _, h := range rep.Hosts {
			fmt.Fprintf(w, "  %s: %s\n", h.Name, strings.Join(h.Addrs, ", "))
		}
		if rep.HostsErr != "" {
			fmt.Fprintf(w, "  FAIL  %s\n", rep.HostsErr)
		}
	}
	if cs := rep.CrowdSec; cs != nil {
		fmt.Fprintf(w, "crowdsec LAPI %s as %s:\n", cs.URL, cs.Login)
		if cs.Error != "" {
			fmt.Fprintf(w, "  FAIL  %s\n", cs.Error)
		}
		fmt.Fprintf(w, "  irtui decisions in force: %d\n", len(cs.Decisions))
		for i, d := range cs.Decisions {
			if i == 50 {
				fmt.Fprintf(w, "    … %d more (--json lists all)\n", len(cs.Decisions)-50)
				break
			}
			fmt.Fprintf(w, "    #%d %-20s %10s left  by %s  %s\n", d.ID, d.Target, d.Left, d.Machine, d.Scenario)
		}
		fmt.Fprintf(w, "  alerts from CrowdSec's agents: %d finding(s)\n", len(cs.Findings))
		for i, f := range cs.Findings {
			if i == 50 {
				fmt.Fprintf(w, "    … %d more (--json lists all)\n", len(cs.Findings)-50)
				break
			}
			fmt.Fprintf(w, "    %-6s %s (%d alert(s))\n", f.Severity, f.Summary, f.Alerts)
		}
	}
}
