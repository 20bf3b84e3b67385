package logs

import (
	"sync"
	"time"
)

// Parser turns one line into an Event. Parse must not retain ev, must not
// panic on any input, and must run in time linear in len(line). It returns a
// *ParseError when the line is not of its format. Parsers may keep state
// (the year of RFC 3164 timestamps, a vhost learnt from a header) and are
// therefore used by one goroutine at a time.
type Parser interface {
	Parse(line string, ev *Event) error
}

// ParseError says why a line was not understood. Reason is short and stable
// ("no client address", "bad timestamp"), so malformed lines can be counted by it.
type ParseError struct {
	Reason string
}

func (e *ParseError) Error() string { return e.Reason }

// Errorf-free constructor: reasons are constants so counting them allocates nothing.
var errCache sync.Map

// Malformed returns the ParseError for reason, shared between calls.
func Malformed(reason string) *ParseError {
	if e, ok := errCache.Load(reason); ok {
		return e.(*ParseError)
	}
	e, _ := errCache.LoadOrStore(reason, &ParseError{Reason: reason})
	return e.(*ParseError)
}

// Options configure a parser.
type Options struct {
	// LogFormat is an Apache LogFormat or nginx log_format string for the
	// custom web format.
	LogFormat string
	// Now is the reference time for timestamps without a year; nil means time.Now.
	Now func() time.Time
	// Location is the zone of timestamps that carry no offset; nil means time.Local.
	Location *time.Location
}

// Format describes one log format that irtui understands.
type Format struct {
	Name string // e.g. "combined", "postfix", "bind-query"
	Kind Kind
	Doc  string // one line for the README and --help
	// Custom formats need Options.LogFormat and are never auto-detected.
	NeedsLogFormat bool
	// ValidateLogFormat, for custom formats, says what is wrong with a
	// --log-format string before any line is read.
	ValidateLogFormat func(string) error
	New               func(Options) Parser
}
