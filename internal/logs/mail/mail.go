// Package mail parses mail server logs: Postfix, Sendmail and Exim.
package mail

import "github.com/irtui/irtui/internal/logs"

// Formats lists the mail formats.
func Formats() []logs.Format { return nil }
