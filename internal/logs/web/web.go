// Package web parses web server logs: Apache and nginx access logs in their
// common, combined, vhost and custom formats, and their error logs.
//
// Every parser scans the line once, without regular expressions, and the
// strings it puts in an Event are substrings of the line, so parsing a line
// allocates nothing.
package web

import (
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// Format names, as used by --format and in `irtui parse` output.
const (
	NameCombined      = "combined"
	NameCommon        = "common"
	NameVhostCombined = "vhost_combined"
	NameCustom        = "custom"
	NameApacheError   = "apache-error"
	NameNginxError    = "nginx-error"
)

// Reasons a line is malformed. They are constants so malformed lines can be
// counted by reason without allocating.
const (
	reasonEmpty          = "empty line"
	reasonNoClient       = "no client address"
	reasonNoTime         = "no timestamp"
	reasonBadTime        = "bad timestamp"
	reasonNoRequest      = "no request"
	reasonNoStatus       = "no status"
	reasonBadBytes       = "bad byte count"
	reasonTrailing       = "trailing fields"
	reasonNoVhost        = "no vhost"
	reasonNoLevel        = "no error level"
	reasonBadClient      = "bad client address"
	reasonFormatMismatch = "line does not match log format"
	reasonBadLogFormat   = "invalid log format"
)

// Formats lists the web formats, most specific first: a file that two
// formats parse equally well is given the earlier one.
func Formats() []logs.Format {
	return []logs.Format{
		{
			Name: NameVhostCombined,
			Kind: logs.KindHTTP,
			Doc:  `Apache vhost_combined: "host:port " before a combined line`,
			New:  func(o logs.Options) logs.Parser { return newAccess(NameVhostCombined, modeVhost, o) },
		},
		{
			Name: NameCommon,
			Kind: logs.KindHTTP,
			Doc:  "Apache/nginx common log format (no referer or user agent)",
			New:  func(o logs.Options) logs.Parser { return newAccess(NameCommon, modeCommon, o) },
		},
		{
			Name: NameCombined,
			Kind: logs.KindHTTP,
			Doc:  "Apache/nginx combined, also common lines, extra trailing fields, vhost prefixes and X-Forwarded-For lists",
			New:  func(o logs.Options) logs.Parser { return newAccess(NameCombined, modeCombined, o) },
		},
		{
			Name:              NameCustom,
			Kind:              logs.KindHTTP,
			Doc:               "an Apache LogFormat or nginx log_format string given with --log-format",
			NeedsLogFormat:    true,
			ValidateLogFormat: ValidateLogFormat,
			New:               func(o logs.Options) logs.Parser { return newCustom(o) },
		},
		{
			Name: NameApacheError,
			Kind: logs.KindHTTP,
			Doc:  "Apache 2.2/2.4 error log (auth failures, denials, missing files, ModSecurity)",
			New:  func(o logs.Options) logs.Parser { return newApacheError(o) },
		},
		{
			Name: NameNginxError,
			Kind: logs.KindHTTP,
			Doc:  "nginx error log (basic-auth failures, limit_req, access rules, missing files)",
			New:  func(o logs.Options) logs.Parser { return newNginxError(o) },
		},
	}
}

// location returns the zone for timestamps that carry no offset.
func location(o logs.Options) *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.Local
}

// now returns the reference clock for timestamps without a year.
func now(o logs.Options) func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// trimLine drops the line terminator and trailing blanks a source may leave.
func trimLine(s string) string {
	for len(s) > 0 {
		switch s[len(s)-1] {
		case '\n', '\r', ' ', '\t':
			s = s[:len(s)-1]
			continue
		}
		break
	}
	return s
}
