// Package dns parses BIND query and security logs.
package dns

import "github.com/irtui/irtui/internal/logs"

// Formats lists the DNS formats.
func Formats() []logs.Format { return nil }
