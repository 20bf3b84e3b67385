package main

import (
	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/trace"
)

// The block command learns to read offline AS tables (for --whole-as)
// from the trace package here, so neither engine imports the other.
func init() {
	loadASTable = func(paths []string) (block.ASTable, error) {
		return trace.LoadTables(paths)
	}
}
