// Command gencombined writes a synthetic combined access log for the parse
// benchmark (scripts/bench-parse.sh): deterministic for a seed.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/irtui/irtui/internal/logs/ingest/gencombined"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of lines")
	seed := flag.Uint64("seed", 1, "random seed: the same seed writes the same file")
	flag.Parse()
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := gencombined.Write(os.Stdout, *n, *seed, start); err != nil {
		fmt.Fprintln(os.Stderr, "gencombined:", err)
		os.Exit(1)
	}
}
