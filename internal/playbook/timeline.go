package playbook

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/sanitize"
)

// Timeline entry kinds.
const (
	EventFinding  = "finding"
	EventPlaybook = "playbook"
	EventStep     = "step"
	EventBlock    = "block"
	EventUnblock  = "unblock"
	EventNote     = "note"
	EventReport   = "report"
)

// Entry is one line of the incident timeline.
type Entry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Kind    string    `json:"kind"`
	Summary string    `json:"summary"`
	Detail  string    `json:"detail,omitempty"`
}

// Timeline is the incident timeline: an append-only JSON-lines file in the
// state dir, written with fsync so a crash loses nothing already shown.
type Timeline struct {
	Path string
	mu   sync.Mutex
}

// DefaultTimeline is StateDir()/timeline.jsonl.
func DefaultTimeline() *Timeline {
	return &Timeline{Path: filepath.Join(StateDir(), "timeline.jsonl")}
}

// Append writes one entry stamped with the current UTC time and Unix user.
// Summary and detail are sanitized: they often quote log data.
func (t *Timeline) Append(kind, summary, detail string) error {
	return t.AppendAt(time.Now(), kind, summary, detail)
}

// AppendAt is Append with an explicit time (drills run on a data clock).
func (t *Timeline) AppendAt(at time.Time, kind, summary, detail string) error {
	e := Entry{Time: at.UTC(), User: unixUser(), Kind: kind, Summary: sanitize.Text(summary), Detail: sanitizeKeepNewlines(detail)}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(t.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	return f.Sync()
}

func unixUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint(os.Getuid())
}

// Entries reads the timeline; a damaged line is skipped, not fatal.
func (t *Timeline) Entries() ([]Entry, error) {
	f, err := os.Open(t.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

// WriteText prints the timeline one entry per line.
func WriteText(w io.Writer, entries []Entry) error {
	for _, e := range entries {
		if _, err := fmt.Fprintf(w, "%s  %-8s %-9s %s\n", e.Time.UTC().Format("2006-01-02 15:04:05Z"), e.User, e.Kind, e.Summary); err != nil {
			return err
		}
		if e.Detail != "" {
			for _, l := range strings.Split(e.Detail, "\n") {
				fmt.Fprintf(w, "%32s%s\n", "", l)
			}
		}
	}
	return nil
}

// WriteMarkdown prints the timeline as a post-incident report: what
// happened, what was done and when.
func WriteMarkdown(w io.Writer, entries []Entry) error {
	fmt.Fprintln(w, "# Incident report")
	fmt.Fprintln(w)
	if len(entries) == 0 {
		fmt.Fprintln(w, "Nothing was recorded.")
		return nil
	}
	first, last := entries[0].Time, entries[len(entries)-1].Time
	fmt.Fprintf(w, "From %s to %s (all times UTC).\n\n", first.Format("2006-01-02 15:04:05"), last.Format("2006-01-02 15:04:05"))
	counts := map[string]int{}
	users := map[string]bool{}
	for _, e := range entries {
		counts[e.Kind]++
		users[e.User] = true
	}
	fmt.Fprintln(w, "## Summary")
	fmt.Fprintln(w)
	for _, k := range []string{EventFinding, EventPlaybook, EventStep, EventBlock, EventUnblock, EventReport, EventNote} {
		if counts[k] > 0 {
			fmt.Fprintf(w, "- %d %s entries\n", counts[k], k)
		}
	}
	var names []string
	for u := range users {
		names = append(names, u)
	}
	fmt.Fprintf(w, "- recorded by: %s\n\n", strings.Join(names, ", "))
	fmt.Fprintln(w, "## Timeline")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| time (UTC) | who | what | detail |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, e := range entries {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", e.Time.Format("2006-01-02 15:04:05"), mdCell(e.User), e.Kind, mdCell(e.Summary+detailSuffix(e.Detail)))
	}
	return nil
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return " — " + strings.ReplaceAll(d, "\n", "; ")
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
