package block

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NFT drives nftables: everything lives in table "inet irtui", with its own
// input chain hooked just before the usual filter priority, so the
// operator's tables are never touched. Each rule has up to four sets (single
// addresses and prefixes, v4 and v6) whose elements carry their own timeout:
// the kernel expires them even if irtui never runs again.
type NFT struct {
	Runner Runner
}

// nftChunk bounds one "add element" statement.
const nftChunk = 10000

// Name returns "nft".
func (n *NFT) Name() string { return "nft" }

// SplitsBulk is true: a per-element counter costs the kernel an allocation
// per address, so a bulk block's sets go without (see BulkSplitter).
func (n *NFT) SplitsBulk() bool { return true }

// set kinds: a = single addresses (plain timeout set, fast to load),
// n = prefixes (interval set), m = a rate-limit's per-source meter.
func nftSetName(id, kind string, fam int) string { return id + "_" + kind + strconv.Itoa(fam) }

func nftKind(p netip.Prefix) string {
	if p.IsSingleIP() {
		return "a"
	}
	return "n"
}

type nftJSON struct {
	Nftables []map[string]json.RawMessage `json:"nftables"`
}

type nftSetJSON struct {
	Name string            `json:"name"`
	Elem []json.RawMessage `json:"elem"`
}

type nftRuleJSON struct {
	Chain   string            `json:"chain"`
	Handle  int64             `json:"handle"`
	Comment string            `json:"comment"`
	Expr    []json.RawMessage `json:"expr"`
}

type nftCounter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Installed lists table inet irtui.
func (n *NFT) Installed(ctx context.Context) (*Installed, error) {
	out, err := n.Runner.Run(ctx, "", "nft", "-j", "list", "table", "inet", "irtui")
	if err != nil {
		var re *RunError
		if errors.As(err, &re) && strings.Contains(re.Stderr, "No such file or directory") {
			return newInstalled(), nil
		}
		return nil, fmt.Errorf("cannot read irtui's nftables table (are you root?): %w", err)
	}
	return parseNFTInstalled(out, time.Now())
}

func parseNFTInstalled(out []byte, now time.Time) (*Installed, error) {
	inst := newInstalled()
	var doc nftJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("cannot understand nft's JSON listing: %w", err)
	}
	for _, obj := range doc.Nftables {
		if raw, ok := obj["table"]; ok && raw != nil {
			inst.Present = true
		}
		if raw, ok := obj["set"]; ok {
			var s nftSetJSON
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("nft set: %w", err)
			}
			inst.Names[s.Name] = true
			if len(s.Name) < 4 || s.Name[len(s.Name)-3] != '_' {
				continue
			}
			id, kind := s.Name[:len(s.Name)-3], s.Name[len(s.Name)-2:len(s.Name)-1]
			if kind != "a" && kind != "n" {
				continue
			}
			for _, e := range s.Elem {
				p, st, err := parseNFTElem(e, now)
				if err != nil {
					return nil, fmt.Errorf("nft set %s: %w", s.Name, err)
				}
				inst.Elems[ElemKey{Rule: id, Prefix: p}] = st
			}
		}
		if raw, ok := obj["rule"]; ok {
			var r nftRuleJSON
			if err := json.Unmarshal(raw, &r); err != nil {
				return nil, fmt.Errorf("nft rule: %w", err)
			}
			label, ok := strings.CutPrefix(r.Comment, "irtui ")
			if !ok {
				label = "handle " + strconv.FormatInt(r.Handle, 10)
			}
			ir := InstalledRule{Handle: strconv.FormatInt(r.Handle, 10)}
			for _, ex := range r.Expr {
				var m map[string]json.RawMessage
				if json.Unmarshal(ex, &m) == nil {
					if c, ok := m["counter"]; ok {
						var cnt nftCounter
						if json.Unmarshal(c, &cnt) == nil {
							ir.Packets, ir.Bytes = cnt.Packets, cnt.Bytes
						}
					}
				}
			}
			inst.Rules[label] = ir
		}
	}
	return inst, nil
}

func parseNFTElem(raw json.RawMessage, now time.Time) (netip.Prefix, ElemState, error) {
	var st ElemState
	var wrapped struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Expires *int64          `json:"expires"`
			Counter *nftCounter     `json:"counter"`
		} `json:"elem"`
	}
	val := raw
	if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &wrapped) == nil && wrapped.Elem != nil {
		val = wrapped.Elem.Val
		if wrapped.Elem.Expires != nil {
			st.Expires = now.Add(time.Duration(*wrapped.Elem.Expires) * time.Second)
		}
		if c := wrapped.Elem.Counter; c != nil {
			st.Packets, st.Bytes = c.Packets, c.Bytes
		}
	}
	var s string
	if json.Unmarshal(val, &s) == nil {
		p, err := ParseTarget(s)
		return p, st, err
	}
	var pf struct {
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if json.Unmarshal(val, &pf) == nil && pf.Prefix != nil {
		p, err := ParseTarget(pf.Prefix.Addr + "/" + strconv.Itoa(pf.Prefix.Len))
		return p, st, err
	}
	return netip.Prefix{}, st, fmt.Errorf("unexpected element %s", clip(string(val)))
}

// nftWantRule is one rule irtui wants in its chain.
type nftWantRule struct {
	label string // "<id> <kind><fam> <proto>"
	text  string // the rule after "add rule inet irtui input "
}

func nftRules(want *State, now time.Time) (rules []nftWantRule, sets map[string]string, dflt map[string]int64) {
	dflt = map[string]int64{}
	sets = map[string]string{}
	for _, id := range want.IDs() {
		rs := want.Rules[id]
		present := map[string]bool{}
		for p := range rs.Elems {
			present[nftKind(p)+strconv.Itoa(family(p))] = true
		}
		for _, fam := range []int{4, 6} {
			typ, sel := "ipv4_addr", "ip saddr"
			if fam == 6 {
				typ, sel = "ipv6_addr", "ip6 saddr"
			}
			meter := ""
			for _, kind := range []string{"a", "n"} {
				if !present[kind+strconv.Itoa(fam)] {
					continue
				}
				name := nftSetName(id, kind, fam)
				flags, counter := "timeout", " counter;"
				if kind == "n" {
					flags = "interval,timeout"
				}
				timeout := ""
				if rs.Bulk {
					counter = ""
					// One block: every network ends together, so the set's
					// default timeout says it once instead of per element.
					for _, exp := range rs.Elems {
						dflt[name] = SecondsLeft(exp, now)
						timeout = fmt.Sprintf(" timeout %ds;", dflt[name])
						break
					}
				}
				sets[name] = fmt.Sprintf("{ type %s; flags %s;%s%s }", typ, flags, timeout, counter)
				if rs.Rule.Action == RateLimit && meter == "" {
					meter = nftSetName(id, "m", fam)
					// The meter forgets a source after a minute of quiet, or after the
					// rate's period if longer, so memory stays bounded.
					sets[meter] = fmt.Sprintf("{ type %s; size 262144; flags dynamic,timeout; timeout %ds; }", typ, max(60, int(rs.Rule.Rate.Per/time.Second)))
				}
				for _, sc := range nftScopes(rs.Rule.Scope) {
					var b strings.Builder
					fmt.Fprintf(&b, "%s @%s", sel, name)
					if sc.match != "" {
						b.WriteString(" " + sc.match)
					}
					switch rs.Rule.Action {
					case Drop:
						b.WriteString(" counter drop")
					case Reject:
						if sc.proto == "tcp" {
							b.WriteString(" counter reject with tcp reset")
						} else {
							b.WriteString(" counter reject with icmpx type admin-prohibited")
						}
					case RateLimit:
						r := rs.Rule.Rate
						fmt.Fprintf(&b, " ct state new add @%s { %s limit rate over %d/%s burst %d packets } counter drop",
							meter, sel, r.Count, r.unit("second", "minute", "hour"), r.Burst)
					}
					label := fmt.Sprintf("%s %s%d %s", id, kind, fam, sc.proto)
					fmt.Fprintf(&b, " comment %q", "irtui "+label)
					rules = append(rules, nftWantRule{label: label, text: b.String()})
				}
			}
		}
	}
	return rules, sets, dflt
}

type nftScope struct{ proto, match string }

func nftScopes(scope []PortRange) []nftScope {
	if len(scope) == 0 {
		return []nftScope{{proto: "all"}}
	}
	var out []nftScope
	for _, proto := range []string{"tcp", "udp"} {
		ports := portsOf(scope, proto)
		if len(ports) == 0 {
			continue
		}
		parts := make([]string, len(ports))
		for i, p := range ports {
			if p.From == p.To {
				parts[i] = strconv.Itoa(int(p.From))
			} else {
				parts[i] = strconv.Itoa(int(p.From)) + "-" + strconv.Itoa(int(p.To))
			}
		}
		m := proto + " dport " + parts[0]
		if len(parts) > 1 {
			m = proto + " dport { " + strings.Join(parts, ", ") + " }"
		}
		out = append(out, nftScope{proto: proto, match: m})
	}
	return out
}

// Prepare renders one nft transaction: everything in it applies, or none.
func (n *NFT) Prepare(want *State, have *Installed, now time.Time) (Batch, error) {
	b := Batch{Backend: n.Name()}
	var sb strings.Builder
	if want.Empty() {
		if !have.Present {
			return b, nil
		}
		sb.WriteString("delete table inet irtui\n")
		b.Summary = Summary{Removed: len(have.Elems), RulesRemoved: len(have.Rules), RemovesAll: true}
		b.Steps = []Step{{Program: "nft", Args: []string{"-f", "-"}, Input: sb.String()}}
		return b, nil
	}
	rules, sets, dflt := nftRules(want, now)
	d := diffElems(want, have, now, true)
	if !have.Present {
		sb.WriteString("add table inet irtui { comment \"blocks added by irtui; remove with: irtui unblock --all\"; }\n")
		sb.WriteString("add chain inet irtui input { type filter hook input priority filter - 1; policy accept; }\n")
	}
	names := make([]string, 0, len(sets))
	for name := range sets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !have.Names[name] {
			fmt.Fprintf(&sb, "add set inet irtui %s %s\n", name, sets[name])
		} else {
			delete(dflt, name) // made earlier, with another default
		}
	}
	wanted := map[string]bool{}
	for _, r := range rules {
		wanted[r.label] = true
	}
	var stale []string
	for label := range have.Rules {
		if !wanted[label] {
			stale = append(stale, label)
		}
	}
	sort.Strings(stale)
	for _, label := range stale {
		fmt.Fprintf(&sb, "delete rule inet irtui input handle %s\n", have.Rules[label].Handle)
	}
	// Elements leave before others arrive, so a wider prefix can replace
	// narrower ones in an interval set within the same transaction.
	sb.Grow(48 * (len(d.add) + len(d.del) + 2*len(d.refresh)))
	writeElems(&sb, "delete", joinKeys(d.del, d.refresh), nil, nil, now)
	writeElems(&sb, "add", joinKeys(d.add, d.refresh), want, dflt, now)
	added := 0
	for _, r := range rules {
		if _, ok := have.Rules[r.label]; !ok {
			fmt.Fprintf(&sb, "add rule inet irtui input %s\n", r.text)
			added++
		}
	}
	var dropSets []string
	for name := range have.Names {
		if _, ok := sets[name]; !ok {
			dropSets = append(dropSets, name)
		}
	}
	sort.Strings(dropSets)
	for _, name := range dropSets {
		fmt.Fprintf(&sb, "delete set inet irtui %s\n", name)
	}
	if sb.Len() == 0 {
		return b, nil
	}
	b.Summary = Summary{Added: len(d.add), Refreshed: len(d.refresh), Removed: len(d.del), RulesAdded: added, RulesRemoved: len(stale)}
	b.Steps = []Step{{Program: "nft", Args: []string{"-f", "-"}, Input: sb.String()}}
	return b, nil
}

// writeElems writes add/delete element statements grouped by set, each
// element on its own line so the operator can read them. keys are sorted.
// An element whose timeout is its set's default (dflt, for sets this batch
// creates) goes without one.
func writeElems(sb *strings.Builder, verb string, keys []ElemKey, want *State, dflt map[string]int64, now time.Time) {
	var buf []byte
	for i := 0; i < len(keys); {
		first := keys[i]
		set := nftSetName(first.Rule, nftKind(first.Prefix), family(first.Prefix))
		sameSet := func(k ElemKey) bool {
			return k.Rule == first.Rule && k.Prefix.IsSingleIP() == first.Prefix.IsSingleIP() && k.Prefix.Addr().Is4() == first.Prefix.Addr().Is4()
		}
		j := i
		for j < len(keys) && j-i < nftChunk && sameSet(keys[j]) {
			j++
		}
		var elems map[netip.Prefix]time.Time
		if want != nil {
			elems = want.Rules[first.Rule].Elems
		}
		d, hasDflt := dflt[set]
		fmt.Fprintf(sb, "%s element inet irtui %s {\n", verb, set)
		for k := i; k < j; k++ {
			buf = append(buf[:0], '\t')
			buf = appendElem(buf, keys[k].Prefix)
			if want != nil {
				if secs := SecondsLeft(elems[keys[k].Prefix], now); !hasDflt || secs != d {
					buf = append(buf, " timeout "...)
					buf = strconv.AppendInt(buf, secs, 10)
					buf = append(buf, 's')
				}
			}
			if k < j-1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			sb.Write(buf)
		}
		sb.WriteString("}\n")
		i = j
	}
}

// joinKeys returns the sorted union of two sorted key lists, without a
// copy when one is empty (the usual case: nothing to refresh).
func joinKeys(a, b []ElemKey) []ElemKey {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := append(append(make([]ElemKey, 0, len(a)+len(b)), a...), b...)
	sortKeys(out)
	return out
}

// appendElem appends a network as nft writes it: single addresses without
// their /32 or /128.
func appendElem(b []byte, p netip.Prefix) []byte {
	if p.IsSingleIP() {
		return p.Addr().AppendTo(b)
	}
	return p.AppendTo(b)
}

// Exec applies the batch with nft -f - (one transaction).
func (n *NFT) Exec(ctx context.Context, b Batch) error { return execSteps(ctx, n.Runner, b) }
