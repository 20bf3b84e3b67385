//go:build irtuiprofile

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// A binary built with -tags irtuiprofile writes a CPU profile of any
// subcommand to $IRTUI_CPUPROFILE, an execution trace (which shows the
// serial phases and idle cores a CPU profile hides) to $IRTUI_TRACE, and
// what it allocated to $IRTUI_MEMPROFILE (a one-shot command runs without
// collections for its first 100 MB, so every allocation there is a fresh
// page, faulted in), for the performance work in the README:
//
//	go build -tags irtuiprofile -o irtui-prof ./cmd/irtui
//	IRTUI_CPUPROFILE=cpu.prof ./irtui-prof report --json access.log
//	go tool pprof -top irtui-prof cpu.prof
//	IRTUI_TRACE=trace.out ./irtui-prof report --json access.log
//	go tool trace trace.out
//
// Release builds leave this file out.
func init() {
	profile(os.Getenv("IRTUI_CPUPROFILE"), pprof.StartCPUProfile, pprof.StopCPUProfile)
	profile(os.Getenv("IRTUI_TRACE"), trace.Start, trace.Stop)
	if os.Getenv("IRTUI_MEMPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	var mem io.Writer
	profile(os.Getenv("IRTUI_MEMPROFILE"), func(w io.Writer) error { mem = w; return nil }, func() {
		pprof.Lookup("allocs").WriteTo(mem, 0)
	})
}

// profile starts a profile into path, if set, and stops it at exit.
func profile(path string, start func(io.Writer) error, stop func()) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui: profile:", err)
		return
	}
	if err := start(f); err != nil {
		fmt.Fprintln(os.Stderr, "irtui: profile:", err)
		f.Close()
		return
	}
	prev := atExit
	atExit = func() {
		stop()
		f.Close()
		prev()
	}
}
