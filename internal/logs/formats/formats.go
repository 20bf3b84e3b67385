// Package formats gathers every log format irtui understands, detects the
// format of a file from its first lines, and names formats for --format.
package formats

import (
	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/dns"
	"github.com/irtui/irtui/internal/logs/mail"
	"github.com/irtui/irtui/internal/logs/web"
)

// All returns every format, in the order detection prefers them on a tie.
func All() []logs.Format {
	var all []logs.Format
	all = append(all, web.Formats()...)
	all = append(all, mail.Formats()...)
	all = append(all, dns.Formats()...)
	return all
}

// ByName returns the format called name.
func ByName(name string) (logs.Format, bool) {
	for _, f := range All() {
		if f.Name == name {
			return f, true
		}
	}
	return logs.Format{}, false
}
