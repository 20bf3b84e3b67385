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
	profile("IRTUI_CPUPROFILE", pprof.StartCPUProfile, func(io.Writer) { pprof.StopCPUProfile() })
	profile("IRTUI_TRACE", trace.Start, func(io.Writer) { trace.Stop() })
	profile("IRTUI_MEMPROFILE", func(io.Writer) error {
		runtime.MemProfileRate = 4096
		return nil
	}, func(w io.Writer) { pprof.Lookup("allocs").WriteTo(w, 0) })
}

// profile starts a profile into the file $env names, if set, and stops it
// at exit.
func profile(env string, start func(io.Writer) error, stop func(io.Writer)) {
	path := os.Getenv(env)
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
		stop(f)
		f.Close()
		prev()
	}
}
