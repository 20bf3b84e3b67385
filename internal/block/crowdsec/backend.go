package crowdsec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/sanitize"
)

// Origin marks every decision irtui makes, so irtui lists and removes its
// own and nothing else.
const Origin = "irtui"

// BackendName is the block engine's name for this backend (journal records
// and --backend).
const BackendName = "crowdsec"

// expirySlack mirrors the block engine's: a decision whose end is off from
// the journal's by more than this is replaced.
const expirySlack = 15 * time.Second

// Backend turns the block engine's wanted state into ban decisions on a
// LAPI. Only drop-all-traffic rules can be expressed: a CrowdSec decision
// is a ban that each bouncer enforces its own way (its deny_action), for
// every port.
type Backend struct {
	Client *Client

	mu     sync.Mutex
	reason string
	last   *block.Installed
	refs   map[block.ElemKey][]decRef
}

type decRef struct {
	id    int64
	until time.Time
}

// NewBackend returns a backend on c.
func NewBackend(c *Client) *Backend { return &Backend{Client: c} }

// Open reads the credentials file and returns a backend on its LAPI.
func Open(credentialsPath string, hc *http.Client) (*Backend, error) {
	creds, err := ReadCredentials(credentialsPath)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(creds, hc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", credentialsPath, err)
	}
	return NewBackend(c), nil
}

// Name returns "crowdsec".
func (b *Backend) Name() string { return BackendName }

// SetReason sets the reason recorded (as the decisions' scenario) for the
// decisions the next batches add: the finding or playbook step behind the
// block. The block command sets it from --why before planning.
func (b *Backend) SetReason(why string) {
	b.mu.Lock()
	b.reason = why
	b.mu.Unlock()
}

func (b *Backend) scenario() string {
	b.mu.Lock()
	r := b.reason
	b.mu.Unlock()
	r = strings.TrimSpace(sanitize.Truncate(r, 200))
	if r == "" {
		return "irtui: block"
	}
	return "irtui: " + r
}

var dropAll = block.Rule{Action: block.Drop}.ID()

// Installed lists this machine's irtui decisions still in force.
func (b *Backend) Installed(ctx context.Context) (*block.Installed, error) {
	ds, err := b.Client.Decisions(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	inst := &block.Installed{Elems: map[block.ElemKey]block.ElemState{}, Names: map[string]bool{}, Rules: map[string]block.InstalledRule{}}
	refs := map[block.ElemKey][]decRef{}
	for _, d := range ds {
		k := block.ElemKey{Rule: dropAll, Prefix: d.Prefix}
		until := now.Add(d.Left)
		refs[k] = append(refs[k], decRef{id: d.ID, until: until})
		if st, ok := inst.Elems[k]; !ok || until.After(st.Expires) {
			inst.Elems[k] = block.ElemState{Expires: until}
		}
		inst.Present = true
	}
	b.mu.Lock()
	b.last, b.refs = inst, refs
	b.mu.Unlock()
	return inst, nil
}

// IrtuiDecision is one of irtui's decisions in force on the LAPI.
type IrtuiDecision struct {
	ID       int64
	AlertID  int64
	Prefix   netip.Prefix
	Left     time.Duration
	Scenario string // sanitized
	Machine  string // sanitized
}

// Decisions lists the ban decisions this machine made with origin irtui
// that are still in force. Decisions of other machines, other origins or
// other types are never returned, so nothing irtui does with this list
// can touch them.
func (c *Client) Decisions(ctx context.Context) ([]IrtuiDecision, error) {
	return c.decisions(ctx, true)
}

// AllIrtuiDecisions lists every machine's irtui decisions in force: what
// every operator's irtui blocked across the fleet.
func (c *Client) AllIrtuiDecisions(ctx context.Context) ([]IrtuiDecision, error) {
	return c.decisions(ctx, false)
}

func (c *Client) decisions(ctx context.Context, mine bool) ([]IrtuiDecision, error) {
	q := url.Values{"origin": {Origin}, "has_active_decision": {"true"}, "limit": {"0"}}
	alerts, err := c.Alerts(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []IrtuiDecision
	for _, a := range alerts {
		if mine && a.MachineID != c.creds.Login {
			continue
		}
		for _, d := range a.Decisions {
			if d.Origin != Origin || d.Type != "ban" || d.Simulated {
				continue
			}
			left, ok := d.Left()
			if !ok || left <= 0 {
				continue
			}
			p, err := parseValue(d.Scope, d.Value)
			if err != nil {
				continue
			}
			out = append(out, IrtuiDecision{ID: d.ID, AlertID: a.ID, Prefix: p, Left: left,
				Scenario: sanitize.Truncate(d.Scenario, 200), Machine: sanitize.Truncate(a.MachineID, 80)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// parseValue reads a decision's value under its scope.
func parseValue(scope, value string) (netip.Prefix, error) {
	switch strings.ToLower(scope) {
	case "ip":
		a, err := netip.ParseAddr(value)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.WithZone("").Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	case "range":
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return netip.Prefix{}, err
		}
		return block.NormalizePrefix(p), nil
	}
	return netip.Prefix{}, fmt.Errorf("scope %q is not ip or range", clip(scope))
}

// NewDecision is a ban to add.
type NewDecision struct {
	Prefix   netip.Prefix
	Duration time.Duration
	Scenario string
}

// ScopeValue renders a prefix as CrowdSec's scope and value: "Ip" for a
// single address, "Range" for a network.
func ScopeValue(p netip.Prefix) (scope, value string) {
	if p.IsSingleIP() {
		return "Ip", p.Addr().String()
	}
	return "Range", p.String()
}

// CheckDecisions refuses the whole list when any entry is not a plain,
// normalised address or network with a sane duration: nothing of a batch
// is sent unless all of it is valid.
func CheckDecisions(ds []NewDecision) error {
	var bad []string
	for _, d := range ds {
		p := d.Prefix
		switch {
		case !p.IsValid():
			bad = append(bad, "an invalid address or prefix")
		case p != block.NormalizePrefix(p):
			bad = append(bad, p.String()+" (host bits set, zone or IPv4-mapped form)")
		case p.Bits() == 0:
			bad = append(bad, p.String()+" (the whole address space)")
		case d.Duration < time.Second || d.Duration > block.MaxTTL:
			bad = append(bad, fmt.Sprintf("%s (duration %s: use 1s to %s)", p, d.Duration, block.MaxTTL))
		}
		if len(bad) >= 5 {
			break
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("refused, nothing sent to CrowdSec: %s", strings.Join(bad, "; "))
	}
	return nil
}

// alertHeader is the alert that carries irtui's decisions; the LAPI needs
// every field present.
type alertHeader struct {
	Capacity        int32          `json:"capacity"`
	Events          []struct{}     `json:"events"`
	EventsCount     int32          `json:"events_count"`
	Leakspeed       string         `json:"leakspeed"`
	Message         string         `json:"message"`
	Scenario        string         `json:"scenario"`
	ScenarioHash    string         `json:"scenario_hash"`
	ScenarioVersion string         `json:"scenario_version"`
	Simulated       bool           `json:"simulated"`
	Source          map[string]any `json:"source"`
	StartAt         string         `json:"start_at"`
	StopAt          string         `json:"stop_at"`
}

type decisionJSON struct {
	Duration string `json:"duration"`
	Origin   string `json:"origin"`
	Scenario string `json:"scenario"`
	Scope    string `json:"scope"`
	Type     string `json:"type"`
	Value    string `json:"value"`
}

// RenderAlert renders the body of one POST /v1/alerts: a single alert
// carrying every decision, one decision a line so the operator can read
// it. It refuses the whole list if any decision is invalid.
func RenderAlert(machine string, ds []NewDecision, now time.Time) (string, error) {
	if len(ds) == 0 {
		return "", errors.New("no decisions to send")
	}
	if err := CheckDecisions(ds); err != nil {
		return "", err
	}
	ts := now.UTC().Format(time.RFC3339)
	scen := ds[0].Scenario
	msg := fmt.Sprintf("irtui (machine %s): ban %d address(es)/network(s)", sanitize.Truncate(machine, 80), len(ds))
	h := alertHeader{Events: []struct{}{}, EventsCount: int32(len(ds)), Leakspeed: "0", Message: msg,
		Scenario: scen, Source: map[string]any{"scope": "irtui", "value": fmt.Sprintf("%d targets", len(ds))},
		StartAt: ts, StopAt: ts}
	if len(ds) == 1 {
		scope, value := ScopeValue(ds[0].Prefix)
		h.Source = map[string]any{"scope": scope, "value": value}
		if scope == "Ip" {
			h.Source["ip"] = value
		} else {
			h.Source["range"] = value
		}
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString("[")
	sb.Write(hj[:len(hj)-1])
	sb.WriteString(`,"decisions":[`)
	for i, d := range ds {
		scope, value := ScopeValue(d.Prefix)
		dj, err := json.Marshal(decisionJSON{Duration: strconv.FormatInt(int64(d.Duration/time.Second), 10) + "s",
			Origin: Origin, Scenario: d.Scenario, Scope: scope, Type: "ban", Value: value})
		if err != nil {
			return "", err
		}
		sb.WriteString("\n")
		sb.Write(dj)
		if i < len(ds)-1 {
			sb.WriteString(",")
		}
	}
	sb.WriteString("\n]}]\n")
	return sb.String(), nil
}

// Prepare renders the change from have to want: one POST carrying every
// decision to add (new networks, and networks whose end must move), then
// one DELETE per decision of irtui's to remove. have must come from this
// backend's latest Installed.
func (b *Backend) Prepare(want *block.State, have *block.Installed, now time.Time) (block.Batch, error) {
	batch := block.Batch{Backend: BackendName}
	for _, id := range want.IDs() {
		rs := want.Rules[id]
		if rs.Rule.Action != block.Drop || len(rs.Rule.Scope) > 0 {
			return batch, fmt.Errorf("the crowdsec backend turns blocks into bans on every port, which each bouncer enforces its own way: %s cannot be expressed (use --action drop without --port, or a firewall backend on one host)", rs.Rule)
		}
	}
	b.mu.Lock()
	refs := b.refs
	if have != b.last {
		refs = nil
	}
	b.mu.Unlock()
	if have != nil && len(have.Elems) > 0 && refs == nil {
		return batch, errors.New("crowdsec: the listing of irtui's decisions is stale; plan again")
	}
	var add []NewDecision
	var del []int64
	scen := b.scenario()
	wanted := map[block.ElemKey]bool{}
	for _, id := range want.IDs() {
		rs := want.Rules[id]
		ps := make([]netip.Prefix, 0, len(rs.Elems))
		for p := range rs.Elems {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return block.PrefixLess(ps[i], ps[j]) })
		for _, p := range ps {
			exp := rs.Elems[p]
			k := block.ElemKey{Rule: id, Prefix: p}
			wanted[k] = true
			rr := refs[k]
			keep := -1
			for i, r := range rr {
				if block.AbsDur(r.until.Sub(exp)) <= expirySlack {
					keep = i
					break
				}
			}
			if keep < 0 {
				add = append(add, NewDecision{Prefix: p, Duration: time.Duration(block.SecondsLeft(exp, now)) * time.Second, Scenario: scen})
				if len(rr) > 0 {
					batch.Summary.Refreshed++
				} else {
					batch.Summary.Added++
				}
			}
			// Every other decision of irtui's on this network goes: the
			// new one (or the one kept) is the only one left.
			for i, r := range rr {
				if i != keep {
					del = append(del, r.id)
				}
			}
		}
	}
	var gone []block.ElemKey
	for k := range refs {
		if !wanted[k] {
			gone = append(gone, k)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return block.PrefixLess(gone[i].Prefix, gone[j].Prefix) })
	for _, k := range gone {
		for _, r := range refs[k] {
			del = append(del, r.id)
		}
		batch.Summary.Removed++
	}
	if len(add) > 0 {
		body, err := RenderAlert(b.Client.Login(), add, now)
		if err != nil {
			return block.Batch{Backend: BackendName}, err
		}
		batch.Steps = append(batch.Steps, block.Step{Program: http.MethodPost, Args: []string{b.Client.URL("/v1/alerts")}, Input: body})
	}
	// Deletes come after the adds: a network whose end moves always has
	// a decision, and the LAPI reports an ended decision to bouncers only
	// when no longer one for the same value remains.
	for _, id := range del {
		batch.Steps = append(batch.Steps, block.Step{Program: http.MethodDelete, Args: []string{b.Client.URL("/v1/decisions/" + strconv.FormatInt(id, 10))}})
	}
	batch.Summary.RemovesAll = want.Empty() && have != nil && have.Present
	return batch, nil
}

// Exec sends a batch made by Prepare, step by step, exactly as shown.
func (b *Backend) Exec(ctx context.Context, batch block.Batch) error {
	for i, s := range batch.Steps {
		if len(s.Args) != 1 {
			return fmt.Errorf("crowdsec: step %d is not a request of this backend", i+1)
		}
		path, ok := strings.CutPrefix(s.Args[0], b.Client.base.String())
		if !ok || !strings.HasPrefix(path, "/v1/") {
			return fmt.Errorf("crowdsec: step %d is for another LAPI (%s)", i+1, clip(s.Args[0]))
		}
		switch s.Program {
		case http.MethodPost:
			if path != "/v1/alerts" {
				return fmt.Errorf("crowdsec: step %d posts to %s", i+1, clip(path))
			}
			if _, err := b.Client.AddAlerts(ctx, []byte(s.Input)); err != nil {
				return err
			}
		case http.MethodDelete:
			idText, ok := strings.CutPrefix(path, "/v1/decisions/")
			id, err := strconv.ParseInt(idText, 10, 64)
			if !ok || err != nil || id <= 0 {
				return fmt.Errorf("crowdsec: step %d deletes %s", i+1, clip(path))
			}
			if err := b.Client.DeleteDecision(ctx, id); err != nil {
				return fmt.Errorf("%w (%d of %d requests were sent; irtui blocks reconciles)", err, i, len(batch.Steps))
			}
		default:
			return fmt.Errorf("crowdsec: step %d has method %s", i+1, clip(s.Program))
		}
	}
	return nil
}

// RangeNote warns, when targets hold networks, that Debian bookworm's
// crowdsec-firewall-bouncer (0.0.25) in nftables mode enforces only the
// first address of a Range decision; empty when every target is one
// address. The block command prints it with the plan.
func RangeNote(targets []netip.Prefix) string {
	for _, t := range targets {
		if !t.IsSingleIP() {
			return "networks become CrowdSec Range decisions: bouncers in iptables/ipset mode, nginx and cloud bouncers enforce them whole, but crowdsec-firewall-bouncer 0.0.25 (Debian bookworm) in nftables mode blocks only the first address of each (" + t.String() + " → " + t.Addr().String() + ")"
		}
	}
	return ""
}
