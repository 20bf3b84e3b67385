// Package web parses web server logs: Apache and nginx access logs in their
// common, combined, vhost and custom formats, and their error logs.
package web

import "github.com/irtui/irtui/internal/logs"

// Formats lists the web formats, most specific first.
func Formats() []logs.Format { return nil }
