package block

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PF drives the BSD and macOS packet filter through an anchor "irtui": one
// table per rule (v4 and v6 together), the anchor's rules loaded whole with
// pfctl -a irtui -f -, and addresses added and removed with -T add/-T delete
// in one pfctl run each. The main ruleset must contain `anchor "irtui"`
// once; irtui never edits pf.conf.
//
// pf tables keep no per-entry expiry, so expiry is the journal's: every
// irtui run (irtui blocks from cron, say) removes what has expired, and the
// rate-limit overload tables are aged with -T expire.
type PF struct {
	Runner Runner
}

// Name returns "pf".
func (p *PF) Name() string { return "pf" }

func pfTable(id string) string { return "irtui_" + id }

// Installed reads the anchor's tables, their addresses with statistics,
// and the rules' labels with their counters.
func (p *PF) Installed(ctx context.Context) (*Installed, error) {
	inst := newInstalled()
	out, err := p.Runner.Run(ctx, "", "pfctl", "-a", "irtui", "-s", "Tables")
	if err != nil {
		var re *RunError
		if errors.As(err, &re) && strings.Contains(re.Stderr, "does not exist") {
			return inst, nil
		}
		return nil, fmt.Errorf("cannot read pf's irtui anchor (are you root? is pf enabled?): %w", err)
	}
	for _, name := range strings.Fields(string(out)) {
		if !strings.HasPrefix(name, "irtui_") {
			continue
		}
		inst.Names[name] = true
		inst.Present = true
		if strings.HasSuffix(name, "_over") {
			continue
		}
		show, err := p.Runner.Run(ctx, "", "pfctl", "-a", "irtui", "-t", name, "-T", "show", "-v")
		if err != nil {
			return nil, err
		}
		if err := parsePFTableShow(show, strings.TrimPrefix(name, "irtui_"), inst); err != nil {
			return nil, err
		}
	}
	labels, err := p.Runner.Run(ctx, "", "pfctl", "-a", "irtui", "-s", "labels")
	if err != nil {
		return nil, err
	}
	parsePFLabels(labels, inst)
	return inst, nil
}

// parsePFTableShow reads `pfctl -t T -T show -v`: an address line, then
// indented statistics lines; In/Block counts what the table blocked.
func parsePFTableShow(out []byte, id string, inst *Installed) error {
	sc := bufio.NewScanner(bytes.NewReader(out))
	var cur *ElemKey
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if trim == "" {
			continue
		}
		if strings.HasPrefix(trim, "Cleared:") || strings.Contains(trim, "[") {
			if cur != nil && strings.HasPrefix(trim, "In/Block:") {
				f := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(trim))
				st := inst.Elems[*cur]
				for i := 0; i+1 < len(f); i++ {
					v, _ := strconv.ParseUint(f[i+1], 10, 64)
					switch f[i] {
					case "Packets:":
						st.Packets += v
					case "Bytes:":
						st.Bytes += v
					}
				}
				inst.Elems[*cur] = st
			}
			continue
		}
		pfx, err := ParseTarget(strings.TrimPrefix(trim, "!"))
		if err != nil {
			return fmt.Errorf("pf table %s: %w", id, err)
		}
		k := ElemKey{Rule: id, Prefix: pfx}
		inst.Elems[k] = ElemState{}
		cur = &k
	}
	return sc.Err()
}

// parsePFLabels reads `pfctl -s labels`: label, evaluations, packets, bytes, …
func parsePFLabels(out []byte, inst *Installed) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "irtui:") {
			continue
		}
		pk, _ := strconv.ParseUint(f[2], 10, 64)
		by, _ := strconv.ParseUint(f[3], 10, 64)
		label := strings.ReplaceAll(strings.TrimPrefix(f[0], "irtui:"), ":", " ")
		r := inst.Rules[label]
		r.Packets += pk
		r.Bytes += by
		inst.Rules[label] = r
	}
}

// pfAnchorRules renders the anchor's whole ruleset.
func pfAnchorRules(want *State) (string, error) {
	var sb strings.Builder
	sb.WriteString("# irtui's anchor; the main ruleset needs: anchor \"irtui\"\n")
	for _, id := range want.IDs() {
		rs := want.Rules[id]
		table := "<" + pfTable(id) + ">"
		type pfScope struct{ proto, ports string }
		var scopes []pfScope
		if len(rs.Rule.Scope) == 0 {
			scopes = []pfScope{{proto: "all"}}
		}
		for _, proto := range []string{"tcp", "udp"} {
			ports := portsOf(rs.Rule.Scope, proto)
			if len(ports) == 0 {
				continue
			}
			parts := make([]string, len(ports))
			for i, p := range ports {
				parts[i] = strconv.Itoa(int(p.From))
				if p.To != p.From {
					parts[i] += ":" + strconv.Itoa(int(p.To))
				}
			}
			scopes = append(scopes, pfScope{proto: proto, ports: "{ " + strings.Join(parts, " ") + " }"})
		}
		for _, sc := range scopes {
			match := "from " + table + " to any"
			if sc.proto != "all" {
				match = "proto " + sc.proto + " from " + table + " to any port " + sc.ports
			}
			label := fmt.Sprintf(`label "irtui:%s:%s"`, id, sc.proto)
			switch rs.Rule.Action {
			case Drop:
				fmt.Fprintf(&sb, "block drop in quick %s %s\n", match, label)
			case Reject:
				// block return sends a TCP reset or an ICMP unreachable.
				fmt.Fprintf(&sb, "block return in quick %s %s\n", match, label)
			case RateLimit:
				if sc.proto == "udp" {
					return "", errors.New("pf rate-limits TCP connections only (max-src-conn-rate): use tcp ports, or drop for udp")
				}
				if sc.proto == "all" {
					match = "proto tcp from " + table + " to any"
				}
				over := "<" + pfTable(id) + "_over>"
				secs := int(rs.Rule.Rate.Per / time.Second)
				fmt.Fprintf(&sb, "block drop in quick from %s label \"irtui:%s:over\"\n", over, id)
				// Not quick: a source under the rate goes on through the
				// operator's own rules. pf has no burst; the rate alone applies.
				fmt.Fprintf(&sb, "pass in %s flags S/SA keep state (max-src-conn-rate %d/%d, overload %s flush global) %s\n",
					match, rs.Rule.Rate.Count, secs, over, label)
			}
		}
	}
	return sb.String(), nil
}

// Prepare renders pfctl runs: addresses added to each table (one run per
// table, addresses on stdin), the anchor's rules replaced whole when they
// change, addresses removed, unused tables killed; with nothing wanted, the
// anchor's rules and tables are flushed.
func (p *PF) Prepare(want *State, have *Installed, now time.Time) (Batch, error) {
	b := Batch{Backend: p.Name()}
	if want.Empty() {
		if !have.Present {
			return b, nil
		}
		b.Steps = []Step{
			{Program: "pfctl", Args: []string{"-a", "irtui", "-F", "rules"}},
			{Program: "pfctl", Args: []string{"-a", "irtui", "-F", "Tables"}},
		}
		b.Summary = Summary{Removed: len(have.Elems), RulesRemoved: len(have.Rules), RemovesAll: true}
		return b, nil
	}
	rules, err := pfAnchorRules(want)
	if err != nil {
		return b, err
	}
	d := diffElems(want, have, now, false)
	byTable := func(keys []ElemKey) ([]string, map[string][]string) {
		m := map[string][]string{}
		for _, k := range keys {
			t := pfTable(k.Rule)
			m[t] = append(m[t], k.Prefix.String())
		}
		names := make([]string, 0, len(m))
		for t := range m {
			names = append(names, t)
		}
		sort.Strings(names)
		return names, m
	}
	names, adds := byTable(d.add)
	for _, t := range names {
		b.Steps = append(b.Steps, Step{Program: "pfctl", Args: []string{"-a", "irtui", "-t", t, "-T", "add", "-f", "-"}, Input: strings.Join(adds[t], "\n") + "\n"})
	}
	wantLabels := map[string]bool{}
	for _, line := range strings.Split(rules, "\n") {
		if _, rest, ok := strings.Cut(line, `label "irtui:`); ok {
			l, _, _ := strings.Cut(rest, `"`)
			wantLabels[strings.ReplaceAll(l, ":", " ")] = true
		}
	}
	same := have.Present && len(wantLabels) == len(have.Rules)
	for l := range wantLabels {
		if _, ok := have.Rules[l]; !ok {
			same = false
		}
	}
	rulesAdded, rulesRemoved := 0, 0
	if !same {
		for l := range wantLabels {
			if _, ok := have.Rules[l]; !ok {
				rulesAdded++
			}
		}
		for l := range have.Rules {
			if !wantLabels[l] {
				rulesRemoved++
			}
		}
		b.Steps = append(b.Steps, Step{Program: "pfctl", Args: []string{"-a", "irtui", "-f", "-"}, Input: rules})
	}
	names, dels := byTable(d.del)
	for _, t := range names {
		if _, ok := want.Rules[strings.TrimPrefix(t, "irtui_")]; !ok || len(want.Rules[strings.TrimPrefix(t, "irtui_")].Elems) == 0 {
			continue // the whole table goes below
		}
		b.Steps = append(b.Steps, Step{Program: "pfctl", Args: []string{"-a", "irtui", "-t", t, "-T", "delete", "-f", "-"}, Input: strings.Join(dels[t], "\n") + "\n"})
	}
	wantTables := map[string]bool{}
	for _, id := range want.IDs() {
		wantTables[pfTable(id)] = true
		if want.Rules[id].Rule.Action == RateLimit {
			wantTables[pfTable(id)+"_over"] = true
			// Offenders stay blocked for the rate's period (at least a minute).
			b.Steps = append(b.Steps, Step{Program: "pfctl", Args: []string{"-a", "irtui", "-t", pfTable(id) + "_over", "-T", "expire", strconv.Itoa(max(60, int(want.Rules[id].Rule.Rate.Per/time.Second)))}})
		}
	}
	for _, t := range sortedKeys(have.Names) {
		if !wantTables[t] {
			b.Steps = append(b.Steps, Step{Program: "pfctl", Args: []string{"-a", "irtui", "-t", t, "-T", "kill"}})
		}
	}
	b.Summary = Summary{Added: len(d.add), Removed: len(d.del), RulesAdded: rulesAdded, RulesRemoved: rulesRemoved}
	if len(d.add) == 0 && len(d.del) == 0 && same {
		// Only the overload ageing would run: not worth showing as a change.
		onlyExpire := true
		for _, s := range b.Steps {
			if len(s.Args) < 5 || s.Args[4] != "expire" {
				onlyExpire = false
			}
		}
		if onlyExpire {
			b.Steps = nil
		}
	}
	return b, nil
}

// Exec runs the pfctl steps in order.
func (p *PF) Exec(ctx context.Context, b Batch) error { return execSteps(ctx, p.Runner, b) }
