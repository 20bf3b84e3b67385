package block

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IPTables drives iptables and ip6tables with ipset: networks live in
// hash:net sets with per-entry timeouts (so the kernel expires them), and
// the rules in a chain IRTUI that INPUT jumps to first. The chain is rebuilt
// whole in one iptables-restore --noflush whenever its rules change (with
// their counters carried over); the operator's chains are never rewritten,
// only INPUT gains (and later loses) the one jump.
type IPTables struct {
	Runner Runner
}

// Name returns "iptables".
func (t *IPTables) Name() string { return "iptables" }

const ipsetMaxElem = 1 << 20

func ipsetName(id string, fam int) string { return "irtui_" + id + "_" + strconv.Itoa(fam) }

func iptablesLabel(id string, fam int, proto string) string {
	return id + " " + strconv.Itoa(fam) + " " + proto
}

// Installed reads iptables-save and ip6tables-save (filter table) and
// ipset save, keeping only irtui's objects.
func (t *IPTables) Installed(ctx context.Context) (*Installed, error) {
	// The three listings are independent: read them at once (each program
	// takes a few milliseconds to start, and irtui reads them twice per
	// command: to reconcile, then to plan).
	progs := []string{"iptables-save", "ip6tables-save", "ipset"}
	args := [][]string{{"-c", "-t", "filter"}, {"-c", "-t", "filter"}, {"save"}}
	outs := make([][]byte, len(progs))
	errs := make([]error, len(progs))
	var wg sync.WaitGroup
	for i := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = t.Runner.Run(ctx, "", progs[i], args[i]...)
		}()
	}
	wg.Wait()
	inst := newInstalled()
	for i, fam := range []int{4, 6} {
		if err := errs[i]; err != nil {
			var re *RunError
			if errors.As(err, &re) && strings.Contains(re.Stderr, "does not exist") {
				continue
			}
			return nil, fmt.Errorf("cannot read the firewall (are you root?): %w", err)
		}
		parseIPTablesSave(outs[i], fam, inst)
	}
	if errs[2] != nil {
		return nil, fmt.Errorf("cannot read ipset's sets (are you root? is the ip_set module available?): %w", errs[2])
	}
	if err := parseIPSetSave(outs[2], time.Now(), inst); err != nil {
		return nil, err
	}
	return inst, nil
}

func parseIPTablesSave(out []byte, fam int, inst *Installed) {
	f := strconv.Itoa(fam)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":IRTUI ") {
			inst.Names["chain"+f] = true
			inst.Present = true
			continue
		}
		var pk, by uint64
		if strings.HasPrefix(line, "[") {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			p, b, _ := strings.Cut(line[1:end], ":")
			pk, _ = strconv.ParseUint(p, 10, 64)
			by, _ = strconv.ParseUint(b, 10, 64)
			line = strings.TrimSpace(line[end+1:])
		}
		switch {
		case strings.HasPrefix(line, "-A INPUT ") && strings.HasSuffix(line, "-j IRTUI"):
			inst.Names["jump"+f] = true
		case strings.HasPrefix(line, "-A IRTUI "):
			label := ""
			if _, rest, ok := strings.Cut(line, `--comment "irtui `); ok {
				label, _, _ = strings.Cut(rest, `"`)
			}
			if label == "" {
				label = "unlabelled " + f + " " + line
			}
			inst.Rules[label] = InstalledRule{Packets: pk, Bytes: by}
		}
	}
}

func parseIPSetSave(out []byte, now time.Time, inst *Installed) error {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], "irtui_") {
			continue
		}
		name := f[1]
		switch f[0] {
		case "create":
			inst.Names[name] = true
			inst.Present = true
		case "add":
			if len(f) < 3 || len(name) < 9 {
				continue
			}
			id := name[len("irtui_") : len(name)-2]
			p, err := ParseTarget(f[2])
			if err != nil {
				return fmt.Errorf("ipset %s: %w", name, err)
			}
			var st ElemState
			for i := 3; i+1 < len(f); i += 2 {
				v, _ := strconv.ParseUint(f[i+1], 10, 64)
				switch f[i] {
				case "timeout":
					st.Expires = now.Add(time.Duration(v) * time.Second)
				case "packets":
					st.Packets = v
				case "bytes":
					st.Bytes = v
				}
			}
			inst.Elems[ElemKey{Rule: id, Prefix: p}] = st
		}
	}
	return sc.Err()
}

type iptRule struct {
	label string
	spec  string // after "-A IRTUI "
}

func iptablesRules(want *State, fam int) []iptRule {
	var out []iptRule
	for _, id := range want.IDs() {
		rs := want.Rules[id]
		has := false
		for p := range rs.Elems {
			if family(p) == fam {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		set := ipsetName(id, fam)
		scopes := []string{"all"}
		if len(rs.Rule.Scope) > 0 {
			scopes = nil
			for _, proto := range []string{"tcp", "udp"} {
				if len(portsOf(rs.Rule.Scope, proto)) > 0 {
					scopes = append(scopes, proto)
				}
			}
		}
		for _, proto := range scopes {
			var b strings.Builder
			if proto != "all" {
				fmt.Fprintf(&b, "-p %s ", proto)
			}
			fmt.Fprintf(&b, "-m set --match-set %s src", set)
			if proto != "all" {
				ports := portsOf(rs.Rule.Scope, proto)
				parts := make([]string, len(ports))
				for i, p := range ports {
					parts[i] = strconv.Itoa(int(p.From))
					if p.To != p.From {
						parts[i] += ":" + strconv.Itoa(int(p.To))
					}
				}
				fmt.Fprintf(&b, " -m multiport --dports %s", strings.Join(parts, ","))
			}
			if rs.Rule.Action == RateLimit {
				r := rs.Rule.Rate
				hash := strings.TrimPrefix(id, "rl_")
				fmt.Fprintf(&b, " -m conntrack --ctstate NEW -m hashlimit --hashlimit-above %d/%s --hashlimit-burst %d --hashlimit-mode srcip --hashlimit-name irtui%s%d --hashlimit-htable-expire %d",
					r.Count, r.unit("sec", "min", "hour"), r.Burst, hash, fam, max(60000, int(r.Per/time.Millisecond)))
			}
			label := iptablesLabel(id, fam, proto)
			fmt.Fprintf(&b, ` -m comment --comment "irtui %s"`, label)
			switch {
			case rs.Rule.Action == Reject && proto == "tcp":
				b.WriteString(" -j REJECT --reject-with tcp-reset")
			case rs.Rule.Action == Reject && fam == 4:
				b.WriteString(" -j REJECT --reject-with icmp-admin-prohibited")
			case rs.Rule.Action == Reject:
				b.WriteString(" -j REJECT --reject-with icmp6-adm-prohibited")
			default:
				b.WriteString(" -j DROP")
			}
			out = append(out, iptRule{label: label, spec: b.String()})
		}
	}
	return out
}

// Prepare renders up to four batches, in the order they must run: ipset
// restore (new sets, networks added and removed), iptables-restore and
// ip6tables-restore --noflush (the IRTUI chain rebuilt whole when its rules
// change), then ipset restore destroying sets no rule uses any more.
func (t *IPTables) Prepare(want *State, have *Installed, now time.Time) (Batch, error) {
	b := Batch{Backend: t.Name()}
	d := diffElems(want, have, now, true)
	wantSets := map[string]bool{}
	for _, id := range want.IDs() {
		var fams [7]bool
		for p := range want.Rules[id].Elems {
			if f := family(p); !fams[f] {
				fams[f] = true
				wantSets[ipsetName(id, f)] = true
				if fams[4] && fams[6] {
					break
				}
			}
		}
	}
	var sets strings.Builder
	sets.Grow(64 * (len(d.add) + len(d.refresh) + len(d.del)))
	names := sortedKeys(wantSets)
	for _, name := range names {
		if !have.Names[name] {
			fam := "inet"
			if strings.HasSuffix(name, "_6") {
				fam = "inet6"
			}
			fmt.Fprintf(&sets, "create %s hash:net family %s timeout 3600 counters maxelem %d -exist\n", name, fam, ipsetMaxElem)
		}
	}
	var buf []byte
	for _, k := range d.del {
		name := ipsetName(k.Rule, family(k.Prefix))
		if wantSets[name] {
			buf = append(append(append(buf[:0], "del "...), name...), ' ')
			buf = append(k.Prefix.AppendTo(buf), " -exist\n"...)
			sets.Write(buf)
		}
	}
	var name, nameRule string
	var nameFam int
	var elems map[netip.Prefix]time.Time
	for _, k := range joinKeys(d.add, d.refresh) {
		if f := family(k.Prefix); name == "" || k.Rule != nameRule || f != nameFam {
			name, nameRule, nameFam = ipsetName(k.Rule, f), k.Rule, f
			elems = want.Rules[k.Rule].Elems
		}
		buf = append(append(append(buf[:0], "add "...), name...), ' ')
		buf = append(k.Prefix.AppendTo(buf), " timeout "...)
		buf = strconv.AppendInt(buf, SecondsLeft(elems[k.Prefix], now), 10)
		buf = append(buf, " -exist\n"...)
		sets.Write(buf)
	}
	if sets.Len() > 0 {
		b.Steps = append(b.Steps, Step{Program: "ipset", Args: []string{"restore"}, Input: sets.String()})
	}
	rulesAdded, rulesRemoved := 0, 0
	for _, fam := range []int{4, 6} {
		f := strconv.Itoa(fam)
		rules := iptablesRules(want, fam)
		prog := "iptables-restore"
		if fam == 6 {
			prog = "ip6tables-restore"
		}
		haveLabels := map[string]InstalledRule{}
		for label, r := range have.Rules {
			if strings.HasSuffix(label, " "+f+" all") || strings.HasSuffix(label, " "+f+" tcp") || strings.HasSuffix(label, " "+f+" udp") || strings.HasPrefix(label, "unlabelled "+f) {
				haveLabels[label] = r
			}
		}
		var sb strings.Builder
		if len(rules) == 0 {
			if !have.Names["chain"+f] && !have.Names["jump"+f] {
				continue
			}
			sb.WriteString("*filter\n")
			if have.Names["jump"+f] {
				sb.WriteString("-D INPUT -j IRTUI\n")
			}
			if have.Names["chain"+f] {
				sb.WriteString("-F IRTUI\n-X IRTUI\n")
			}
			sb.WriteString("COMMIT\n")
			rulesRemoved += len(haveLabels)
			b.Steps = append(b.Steps, Step{Program: prog, Args: []string{"--noflush"}, Input: sb.String()})
			continue
		}
		same := have.Names["chain"+f] && have.Names["jump"+f] && len(haveLabels) == len(rules)
		for _, r := range rules {
			if _, ok := haveLabels[r.label]; !ok {
				same = false
				rulesAdded++
			}
		}
		if same {
			continue
		}
		wanted := map[string]bool{}
		for _, r := range rules {
			wanted[r.label] = true
		}
		for label := range haveLabels {
			if !wanted[label] {
				rulesRemoved++
			}
		}
		// Declaring the chain flushes it inside the same commit, so the
		// rules are replaced atomically; counters are carried over.
		sb.WriteString("*filter\n:IRTUI - [0:0]\n")
		if !have.Names["jump"+f] {
			sb.WriteString("-I INPUT 1 -j IRTUI\n")
		}
		for _, r := range rules {
			c := haveLabels[r.label]
			fmt.Fprintf(&sb, "[%d:%d] -A IRTUI %s\n", c.Packets, c.Bytes, r.spec)
		}
		sb.WriteString("COMMIT\n")
		b.Steps = append(b.Steps, Step{Program: prog, Args: []string{"--noflush", "--counters"}, Input: sb.String()})
	}
	var destroy strings.Builder
	var drop []string
	for name := range have.Names {
		if strings.HasPrefix(name, "irtui_") && !wantSets[name] {
			drop = append(drop, name)
		}
	}
	sort.Strings(drop)
	for _, name := range drop {
		fmt.Fprintf(&destroy, "destroy %s\n", name)
	}
	if destroy.Len() > 0 {
		b.Steps = append(b.Steps, Step{Program: "ipset", Args: []string{"restore"}, Input: destroy.String()})
	}
	b.Summary = Summary{Added: len(d.add), Refreshed: len(d.refresh), Removed: len(d.del), RulesAdded: rulesAdded, RulesRemoved: rulesRemoved, RemovesAll: want.Empty() && have.Present}
	return b, nil
}

// Exec runs the batches in order. A set still referenced by a rule that
// the kernel is releasing can refuse to be destroyed for a moment: that one
// step is retried briefly.
func (t *IPTables) Exec(ctx context.Context, b Batch) error {
	for _, s := range b.Steps {
		var err error
		for try := 0; try < 20; try++ {
			_, err = t.Runner.Run(ctx, s.Input, s.Program, s.Args...)
			var re *RunError
			if err == nil || !strings.HasPrefix(s.Input, "destroy ") || !errors.As(err, &re) || !strings.Contains(re.Stderr, "in use") {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
