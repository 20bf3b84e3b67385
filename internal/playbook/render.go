package playbook

import (
	"os"
	"strings"

	"github.com/irtui/irtui/internal/sanitize"
)

// Vars returns the values a playbook's text may name as {{name}}: targets
// (the chosen prefixes, comma-separated), targets_lines (one per line),
// finding (its summary), top_page, top_as, hostname.
func Vars(c *Context, chosen []string) map[string]string {
	v := map[string]string{
		"targets":       strings.Join(chosen, ","),
		"targets_space": strings.Join(chosen, " "),
		"targets_lines": strings.Join(chosen, "\n"),
	}
	if h, err := os.Hostname(); err == nil {
		v["hostname"] = h
	}
	if c != nil && c.Finding != nil {
		v["finding"] = c.Finding.Summary
		v["finding_kind"] = c.Finding.Kind
	}
	if c != nil && c.Snapshot != nil {
		if len(c.Snapshot.Pages) > 0 {
			v["top_page"] = c.Snapshot.Pages[0].Key
		}
		if len(c.Snapshot.ASes) > 0 {
			v["top_as"] = c.Snapshot.ASes[0].Key
		}
	}
	return v
}

// Render fills {{name}} placeholders in text. Values may come from log
// lines, so they are sanitized, and in command steps (shell true) any value
// that is not plainly safe is single-quoted so that copying the command
// into a shell cannot run anything the attacker wrote.
func Render(text string, vars map[string]string, shell bool) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			b.WriteString(text)
			break
		}
		j := strings.Index(text[i:], "}}")
		if j < 0 {
			b.WriteString(text)
			break
		}
		b.WriteString(text[:i])
		name := strings.TrimSpace(text[i+2 : i+j])
		val, ok := vars[name]
		if !ok {
			b.WriteString("<" + name + "?>")
		} else {
			val = sanitizeKeepNewlines(val)
			if shell {
				val = shellQuote(val)
			}
			b.WriteString(val)
		}
		text = text[i+j+2:]
	}
	return b.String()
}

func sanitizeKeepNewlines(s string) string {
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = sanitize.Text(p)
	}
	return strings.Join(parts, "\n")
}

func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:,@+=\n ", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
