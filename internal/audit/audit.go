// Package audit owns irtui's self-checks: is this operator's own server part
// of somebody else's attack? It tests for an open mail relay, an open or
// amplifying DNS resolver, missing mail-authentication DNS records, and reads
// the kernel's half-open connection table for the SYN-flood playbook.
//
// Every check talks only to the host it is given (one conversation per
// check, bounded by timeouts); nothing here picks targets on its own except
// the local checklist, which only looks at this host's own addresses.
package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Verdict is the outcome of one check. Its order matters: a list of results
// is as bad as its worst verdict, and Problem outranks Unknown.
type Verdict int

const (
	// Fine means closed, configured, or nothing wrong found.
	Fine Verdict = iota
	// Unknown means the check could not tell (no answer, temporary error,
	// or a result that only shows how the server treats this host).
	Unknown
	// Problem means open, missing, or under attack.
	Problem
)

// String is the word used in text and JSON output.
func (v Verdict) String() string {
	switch v {
	case Fine:
		return "fine"
	case Problem:
		return "problem"
	default:
		return "unknown"
	}
}

// MarshalJSON writes the verdict as its word, so scripts need no table.
func (v Verdict) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// ExitCode maps a verdict to the process exit code scripts rely on:
// 0 fine, 1 problem, 2 could not tell.
func (v Verdict) ExitCode() int {
	switch v {
	case Fine:
		return 0
	case Problem:
		return 1
	default:
		return 2
	}
}

// Result is what every check returns. Summary is one line; Details explain
// what was found and why it matters; Transcript is the conversation as sent
// and received (server text sanitized). Data holds check-specific figures
// for scripts and playbooks.
type Result struct {
	Check      string   `json:"check"`
	Target     string   `json:"target"`
	Verdict    Verdict  `json:"verdict"`
	Summary    string   `json:"summary"`
	Details    []string `json:"details,omitempty"`
	Transcript []string `json:"transcript,omitempty"`
	Data       any      `json:"data,omitempty"`
	Skipped    bool     `json:"skipped,omitempty"`
}

// Worst returns the verdict of a set of results: any problem wins, then any
// unknown. Skipped results do not count.
func Worst(results []Result) Verdict {
	v := Fine
	for _, r := range results {
		if !r.Skipped && r.Verdict > v {
			v = r.Verdict
		}
	}
	return v
}

// DefaultTimeout bounds every network step (connect, each reply, each DNS
// exchange) when the caller gives none.
const DefaultTimeout = 10 * time.Second

// WriteText prints results for a person: a verdict line per check, then its
// details and, when verbose, its transcript.
func WriteText(w io.Writer, results []Result, transcript bool) error {
	var b strings.Builder
	for i, r := range results {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s %s %s: %s\n", mark(r), r.Check, r.Target, r.Summary)
		for _, d := range r.Details {
			fmt.Fprintf(&b, "    %s\n", d)
		}
		if transcript && len(r.Transcript) > 0 {
			b.WriteString("    transcript:\n")
			for _, l := range r.Transcript {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChecklist prints one line per check, the form `irtui audit` uses when
// it audits this host without a target.
func WriteChecklist(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("irtui audit: this host\n")
	for _, r := range results {
		fmt.Fprintf(&b, "  %s %-9s %-22s %s\n", mark(r), r.Check, r.Target, r.Summary)
		if r.Verdict != Fine && !r.Skipped {
			for _, d := range r.Details {
				fmt.Fprintf(&b, "                                        %s\n", d)
			}
		}
	}
	switch Worst(results) {
	case Fine:
		b.WriteString("result: fine\n")
	case Problem:
		b.WriteString("result: problems found (exit 1)\n")
	default:
		b.WriteString("result: some checks could not tell (exit 2)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes one JSON object per result, one per line, so scripts can
// stream them.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func mark(r Result) string {
	if r.Skipped {
		return "[ -- ]"
	}
	switch r.Verdict {
	case Fine:
		return "[ ok ]"
	case Problem:
		return "[FAIL]"
	default:
		return "[ ?? ]"
	}
}
