// Command irtui is a terminal incident-response console for people who run
// their own web, mail and DNS servers. See the README for the subcommands.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
)

// command is one subcommand. Each lives in its own file and registers itself
// in init, so subcommands can be added without touching this file.
type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// defaultCommand runs when irtui is started with no subcommand (or with only
// flags and files): the console.
var defaultCommand = "watch"

func main() {
	code := run(os.Args[1:])
	atExit()
	os.Exit(code)
}

// atExit runs before the process exits; a profiling build (profile.go)
// sets it to stop and write its profiles.
var atExit = func() {}

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			usage()
			return 0
		}
		if c, ok := commands[args[0]]; ok {
			return c.run(args[1:])
		}
	}
	c, ok := commands[defaultCommand]
	if !ok {
		usage()
		return 2
	}
	return c.run(args)
}

func usage() {
	fmt.Fprintln(os.Stderr, "irtui: a terminal incident-response console for web, mail and DNS servers")
	fmt.Fprintln(os.Stderr, "\nusage: irtui [FILE…]  or  irtui COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'irtui COMMAND --help' for the flags of a command.")
}

// parseInterleaved parses flags that may come after file names too
// (`irtui parse access.log --summary`); "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(files, rest...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}
