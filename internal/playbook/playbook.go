// Package playbook owns the playbooks that walk an operator through an
// incident: the language (YAML, with every error naming its line), loading
// the shipped playbooks and the operator's own, the step runner that
// remembers where a playbook stands across restarts, and the incident
// timeline. The text of every playbook lives in YAML, never in Go.
package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Step kinds.
const (
	KindExplain = "explain" // why this matters
	KindCheck   = "check"   // a condition on the live data, evaluated and shown
	KindChoose  = "choose"  // pick targets from the live data, pre-filled from the finding
	KindBlock   = "block"   // hand a plan to the block engine; the operator confirms
	KindCommand = "command" // something the operator runs themselves, values filled in
	KindVerify  = "verify"  // watch a metric fall below a threshold, with a timeout
	KindReport  = "report"  // write the abuse report for the chosen targets
	KindNote    = "note"    // free text into the timeline
)

var stepKinds = []string{KindExplain, KindCheck, KindChoose, KindBlock, KindCommand, KindVerify, KindReport, KindNote}

// Playbook is one loaded playbook.
type Playbook struct {
	Name        string   `yaml:"name"`
	Title       string   `yaml:"title"`
	Summary     string   `yaml:"summary"`
	SuggestedBy []string `yaml:"suggested_by"` // finding kinds that suggest it
	Steps       []Step   `yaml:"steps"`
	// Origin says where it was loaded from: "builtin" or a file path.
	Origin string `yaml:"-"`
}

// Step is one step of a playbook. Which fields apply depends on Kind.
type Step struct {
	ID    string `yaml:"id"`
	Kind  string `yaml:"kind"`
	Title string `yaml:"title"`
	Text  string `yaml:"text"` // explain, command, note: may hold {{placeholders}}

	// check and verify
	Metric  string        `yaml:"metric"`
	Args    MetricArgs    `yaml:"args"`
	Op      string        `yaml:"op"` // < <= > >=
	Value   float64       `yaml:"value"`
	Timeout time.Duration `yaml:"timeout"` // verify only

	// choose
	From string `yaml:"from"` // sources, prefixes, ases, clusters, finding
	Max  int    `yaml:"max"`

	// block
	Action string        `yaml:"action"` // drop, reject, ratelimit
	Ports  []string      `yaml:"ports"`  // e.g. tcp/80; empty means the finding's ports, or all
	TTL    time.Duration `yaml:"ttl"`
	Rate   string        `yaml:"rate"` // ratelimit only, e.g. 10/second

	// report
	Format string `yaml:"format"` // text, markdown, csv

	// command
	Commands []string `yaml:"commands"` // one per line shown, easy to copy

	line int
}

// Line returns the line of the playbook file where the step starts.
func (s Step) Line() int { return s.line }

// MetricArgs parametrise a metric.
type MetricArgs struct {
	N       int    `yaml:"n"`       // top-N metrics
	Kind    string `yaml:"kind"`    // finding kind, mail action, DNS qtype
	Page    string `yaml:"page"`    // a page key, or empty for the finding's page
	Against string `yaml:"against"` // "baseline": compare to the group's baseline ratio
	Window  string `yaml:"window"`  // reserved
}

// Error is a validation error with the line it refers to.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one file.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// knownFindings are the finding kinds the analyzer raises; suggested_by must
// name one of them so a typo does not silently stop a playbook from showing.
var knownFindings = map[string]bool{
	"page_flood": true, "single_source_flood": true, "distributed_flood": true,
	"http_bruteforce": true, "scanner": true, "mail_relay": true,
	"smtp_auth_bruteforce": true, "outbound_spike": true, "backscatter": true,
	"dns_open_resolver": true, "dns_amplification": true, "syn_flood": true,
	"abuse_complaint": true,
}

// Parse reads and validates one playbook. file names it in errors.
func Parse(file string, data []byte) (*Playbook, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&root); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	var pb Playbook
	// Decode again with KnownFields so unknown keys are errors with lines.
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pb); err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	pb.Origin = file
	stepLines(&root, &pb)
	if errs := validate(file, &root, &pb); len(errs) > 0 {
		return nil, errs
	}
	return &pb, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+):?`)

func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
	}
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = yamlLineRE.ReplaceAllString(msg, "")
	msg = strings.TrimLeft(msg, ": ")
	return &Error{File: file, Line: line, Msg: msg}
}

// stepLines records the line of each step from the YAML node tree.
func stepLines(root *yaml.Node, pb *Playbook) {
	steps := mapValue(root, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return
	}
	for i, n := range steps.Content {
		if i < len(pb.Steps) {
			pb.Steps[i].line = n.Line
		}
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func keyLine(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

func validate(file string, root *yaml.Node, pb *Playbook) Errors {
	var errs Errors
	add := func(line int, format string, a ...any) {
		errs = append(errs, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	if !nameRE.MatchString(pb.Name) {
		add(keyLine(root, "name"), "name %q must be lower-case letters, digits and dashes", pb.Name)
	}
	if strings.TrimSpace(pb.Title) == "" {
		add(keyLine(root, "title"), "title is missing")
	}
	for _, f := range pb.SuggestedBy {
		if !knownFindings[f] {
			add(keyLine(root, "suggested_by"), "suggested_by names %q, which is not a finding kind (known: %s)", f, strings.Join(sortedKeys(knownFindings), ", "))
		}
	}
	if len(pb.Steps) == 0 {
		add(keyLine(root, "steps"), "a playbook needs at least one step")
	}
	ids := map[string]bool{}
	var stepsNode *yaml.Node
	if s := mapValue(root, "steps"); s != nil && s.Kind == yaml.SequenceNode {
		stepsNode = s
	}
	chosen := false
	for i, s := range pb.Steps {
		var node *yaml.Node
		if stepsNode != nil && i < len(stepsNode.Content) {
			node = stepsNode.Content[i]
		}
		line := s.line
		at := func(key string) int {
			if node == nil {
				return line
			}
			return keyLine(node, key)
		}
		if s.ID == "" {
			add(line, "step %d has no id", i+1)
		} else if ids[s.ID] {
			add(at("id"), "step id %q is used twice", s.ID)
		}
		ids[s.ID] = true
		if !contains(stepKinds, s.Kind) {
			add(at("kind"), "step %q has kind %q; want one of %s", s.ID, s.Kind, strings.Join(stepKinds, ", "))
			continue
		}
		if strings.TrimSpace(s.Title) == "" {
			add(line, "step %q has no title", s.ID)
		}
		switch s.Kind {
		case KindExplain:
			if strings.TrimSpace(s.Text) == "" {
				add(line, "explain step %q has no text", s.ID)
			}
		case KindCheck, KindVerify:
			if _, ok := metrics[s.Metric]; !ok {
				add(at("metric"), "step %q uses metric %q; known metrics: %s", s.ID, s.Metric, strings.Join(MetricNames(), ", "))
			}
			if !contains([]string{"<", "<=", ">", ">="}, s.Op) {
				add(at("op"), "step %q has op %q; want <, <=, > or >=", s.ID, s.Op)
			}
			if s.Kind == KindVerify && s.Timeout <= 0 {
				add(line, "verify step %q needs a timeout (e.g. timeout: 5m)", s.ID)
			}
		case KindChoose:
			if !contains([]string{"sources", "prefixes", "ases", "clusters", "finding"}, s.From) {
				add(at("from"), "choose step %q has from %q; want sources, prefixes, ases, clusters or finding", s.ID, s.From)
			}
			chosen = true
		case KindBlock:
			if !contains([]string{"drop", "reject", "ratelimit"}, s.Action) {
				add(at("action"), "block step %q has action %q; want drop, reject or ratelimit", s.ID, s.Action)
			}
			for _, p := range s.Ports {
				if !validPort(p) {
					add(at("ports"), "block step %q has port %q; want PROTO/PORT such as tcp/80", s.ID, p)
				}
			}
			if s.TTL < 0 {
				add(at("ttl"), "block step %q has a negative ttl", s.ID)
			}
			if !chosen {
				add(line, "block step %q comes before any choose step: there is nothing to block yet", s.ID)
			}
		case KindCommand:
			if len(s.Commands) == 0 {
				add(line, "command step %q lists no commands", s.ID)
			}
		case KindReport:
			if s.Format != "" && !contains([]string{"text", "markdown", "csv"}, s.Format) {
				add(at("format"), "report step %q has format %q; want text, markdown or csv", s.ID, s.Format)
			}
		}
	}
	return errs
}

func validPort(p string) bool {
	proto, port, ok := strings.Cut(p, "/")
	if !ok || (proto != "tcp" && proto != "udp") {
		return false
	}
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil || n < 1 || n > 65535 {
		return false
	}
	return fmt.Sprint(n) == port
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Library is the set of playbooks available: the shipped ones, overridden
// or extended by the operator's own files.
type Library struct {
	byName map[string]*Playbook
}

// Load reads the built-in playbooks from builtin (the embedded playbooks
// folder) and then every *.yaml file in userDir (missing is fine), where a
// file with the same name replaces the built-in one. A broken user file is
// reported, not silently skipped, but the others still load.
func Load(builtin fs.FS, userDir string) (*Library, error) {
	lib := &Library{byName: map[string]*Playbook{}}
	entries, err := fs.ReadDir(builtin, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := fs.ReadFile(builtin, e.Name())
		if err != nil {
			return nil, err
		}
		pb, err := Parse("playbooks/"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		pb.Origin = "builtin"
		lib.byName[pb.Name] = pb
	}
	var errs []error
	if userDir != "" {
		files, _ := filepath.Glob(filepath.Join(userDir, "*.yaml"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			pb, err := Parse(f, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			lib.byName[pb.Name] = pb
		}
	}
	return lib, errors.Join(errs...)
}

// All returns the playbooks sorted by name.
func (l *Library) All() []*Playbook {
	out := make([]*Playbook, 0, len(l.byName))
	for _, pb := range l.byName {
		out = append(out, pb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns the playbook called name.
func (l *Library) Get(name string) (*Playbook, bool) {
	pb, ok := l.byName[name]
	return pb, ok
}

// Suggest returns the playbooks suggested by any of the finding kinds,
// in the order of the first finding that suggests each.
func (l *Library) Suggest(findingKinds []string) []*Playbook {
	var out []*Playbook
	seen := map[string]bool{}
	for _, k := range findingKinds {
		for _, pb := range l.All() {
			if !seen[pb.Name] && contains(pb.SuggestedBy, k) {
				seen[pb.Name] = true
				out = append(out, pb)
			}
		}
	}
	return out
}

// ConfigDir returns the operator's playbook folder:
// $XDG_CONFIG_HOME/irtui/playbooks (default ~/.config/irtui/playbooks).
func ConfigDir() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "irtui", "playbooks")
}

// StateDir returns irtui's state folder: $IRTUI_STATE_DIR, else
// $XDG_STATE_HOME/irtui (default ~/.local/state/irtui).
func StateDir() string {
	if d := os.Getenv("IRTUI_STATE_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "irtui-state")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "irtui")
}
