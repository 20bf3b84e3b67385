//go:build irtuiprofile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// A binary built with -tags irtuiprofile writes a CPU profile of any
// subcommand to $IRTUI_CPUPROFILE, for the performance work in the README:
//
//	go build -tags irtuiprofile -o irtui-prof ./cmd/irtui
//	IRTUI_CPUPROFILE=cpu.prof ./irtui-prof report --json access.log
//	go tool pprof -top irtui-prof cpu.prof
//
// Release builds leave this file out.
func init() {
	path := os.Getenv("IRTUI_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui: cpu profile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "irtui: cpu profile:", err)
		f.Close()
		return
	}
	atExit = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
