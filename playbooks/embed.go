// Package playbooks holds the playbooks irtui ships, as YAML, embedded in
// the binary. The operator's own files in the config dir add to or override
// them (see internal/playbook).
package playbooks

import "embed"

// FS holds every shipped playbook (*.yaml).
//
//go:embed *.yaml
var FS embed.FS
