package formats

import (
	"fmt"
	"strings"

	"github.com/irtui/irtui/internal/logs"
)

// SampleLines is how many non-empty lines detection looks at.
const SampleLines = 50

// Detect picks the format that parses the most of the first SampleLines
// non-empty lines of sample; on a tie the one earlier in All wins, so the
// more specific format is chosen. Custom formats are never guessed. It
// reports false when no format parses a single line.
func Detect(sample []string, opts logs.Options) (logs.Format, bool) {
	return DetectAmong(All(), sample, opts)
}

// DetectAmong is Detect over a given list of formats.
func DetectAmong(all []logs.Format, sample []string, opts logs.Options) (logs.Format, bool) {
	lines := make([]string, 0, SampleLines)
	for _, l := range sample {
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
		if len(lines) == SampleLines {
			break
		}
	}
	var (
		best  logs.Format
		score int
		ev    logs.Event
	)
	for _, f := range all {
		if f.NeedsLogFormat || f.New == nil {
			continue
		}
		p := f.New(opts)
		n := 0
		for i, l := range lines {
			// Give up on a format that can no longer win.
			if n+len(lines)-i <= score {
				break
			}
			ev = logs.Event{}
			if p.Parse(l, &ev) == nil {
				n++
			}
		}
		if n > score {
			best, score = f, n
		}
	}
	return best, score > 0
}

// Resolve returns the format the operator asked for: --log-format implies
// the custom format, --format NAME names one; both empty means detect
// (ok false, no error).
func Resolve(name, logFormat string) (f logs.Format, ok bool, err error) {
	return ResolveAmong(All(), name, logFormat)
}

// ResolveAmong is Resolve over a given list of formats.
func ResolveAmong(all []logs.Format, name, logFormat string) (f logs.Format, ok bool, err error) {
	byName := func(n string) (logs.Format, bool) {
		for _, f := range all {
			if f.Name == n {
				return f, true
			}
		}
		return logs.Format{}, false
	}
	names := func() string {
		var ns []string
		for _, f := range all {
			ns = append(ns, f.Name)
		}
		return strings.Join(ns, ", ")
	}
	if logFormat != "" {
		var f logs.Format
		ok := false
		if name == "" {
			for _, c := range all {
				if c.NeedsLogFormat {
					f, ok = c, true
					break
				}
			}
		} else {
			f, ok = byName(name)
		}
		if !ok || !f.NeedsLogFormat {
			return logs.Format{}, false, fmt.Errorf("--log-format goes with --format custom (or no --format), not %q", name)
		}
		if f.ValidateLogFormat != nil {
			if err := f.ValidateLogFormat(logFormat); err != nil {
				return logs.Format{}, false, fmt.Errorf("--log-format: %w", err)
			}
		}
		return f, true, nil
	}
	if name == "" {
		return logs.Format{}, false, nil
	}
	f, ok = byName(name)
	if !ok {
		return logs.Format{}, false, fmt.Errorf("unknown format %q: choose one of %s", name, names())
	}
	if f.NeedsLogFormat {
		return logs.Format{}, false, fmt.Errorf("--format %s needs --log-format '…' (the LogFormat or log_format string of your server)", name)
	}
	return f, true, nil
}

// Names lists the format names, for help and error messages.
func Names() []string {
	var names []string
	for _, f := range All() {
		names = append(names, f.Name)
	}
	return names
}
