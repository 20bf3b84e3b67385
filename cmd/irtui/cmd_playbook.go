package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/internal/sanitize"
	"github.com/irtui/irtui/playbooks"
)

func init() {
	register(&command{name: "playbook", summary: "list, show and check incident playbooks", run: runPlaybook})
	register(&command{name: "timeline", summary: "print the incident timeline (--markdown for a post-incident report)", run: runTimeline})
}

const playbookUsage = `usage: irtui playbook list
       irtui playbook show NAME
       irtui playbook check FILE…

Playbooks ship inside irtui; your own *.yaml files in %s
add to them or replace one of the same name. 'check' validates files and
names the line of each error; it exits 1 when any file is broken.
`

func runPlaybook(args []string) int {
	fs := flag.NewFlagSet("playbook", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintf(fs.Output(), playbookUsage, playbook.ConfigDir()) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	switch fs.Arg(0) {
	case "list":
		lib, err := playbook.Load(playbooks.FS, playbook.ConfigDir())
		if lib == nil {
			fmt.Fprintln(os.Stderr, "irtui playbook:", err)
			return 1
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "irtui playbook: some of your playbooks were not loaded:\n"+err.Error())
		}
		for _, pb := range lib.All() {
			fmt.Printf("%-18s %s  [%s]\n", pb.Name, pb.Title, strings.Join(pb.SuggestedBy, ", "))
		}
		return 0
	case "show":
		if fs.NArg() != 2 {
			fmt.Fprintln(os.Stderr, "irtui playbook show: name one playbook (see 'irtui playbook list')")
			return 2
		}
		lib, _ := playbook.Load(playbooks.FS, playbook.ConfigDir())
		if lib == nil {
			return 1
		}
		pb, ok := lib.Get(fs.Arg(1))
		if !ok {
			fmt.Fprintf(os.Stderr, "irtui playbook show: no playbook %q (see 'irtui playbook list')\n", sanitize.Text(fs.Arg(1)))
			return 1
		}
		showPlaybook(os.Stdout, pb)
		return 0
	case "check":
		if fs.NArg() < 2 {
			fmt.Fprintln(os.Stderr, "irtui playbook check: name one or more playbook files")
			return 2
		}
		bad := 0
		for _, f := range fs.Args()[1:] {
			data, err := os.ReadFile(f)
			if err == nil {
				_, err = playbook.Parse(f, data)
			}
			if err != nil {
				bad++
				fmt.Fprintln(os.Stderr, sanitize.Text(err.Error()))
				continue
			}
			fmt.Printf("%s: ok\n", f)
		}
		if bad > 0 {
			return 1
		}
		return 0
	}
	fs.Usage()
	return 2
}

func showPlaybook(w io.Writer, pb *playbook.Playbook) {
	fmt.Fprintf(w, "%s — %s\n", pb.Name, pb.Title)
	fmt.Fprintf(w, "suggested by: %s\n\n%s\n\n", strings.Join(pb.SuggestedBy, ", "), pb.Summary)
	for i, s := range pb.Steps {
		fmt.Fprintf(w, "%2d. [%s] %s\n", i+1, s.Kind, s.Title)
		switch s.Kind {
		case playbook.KindCheck, playbook.KindVerify:
			fmt.Fprintf(w, "      %s %s %g", s.Metric, s.Op, s.Value)
			if s.Timeout > 0 {
				fmt.Fprintf(w, " within %s", s.Timeout)
			}
			fmt.Fprintln(w)
		case playbook.KindBlock:
			fmt.Fprintf(w, "      %s on %s for %s\n", s.Action, orAll(s.Ports), s.TTL)
		case playbook.KindCommand:
			for _, c := range s.Commands {
				fmt.Fprintf(w, "      $ %s\n", c)
			}
		case playbook.KindChoose:
			fmt.Fprintf(w, "      from %s\n", s.From)
		}
	}
}

func orAll(ports []string) string {
	if len(ports) == 0 {
		return "all ports"
	}
	return strings.Join(ports, ",")
}

func runTimeline(args []string) int {
	fs := flag.NewFlagSet("timeline", flag.ContinueOnError)
	md := fs.Bool("markdown", false, "print a post-incident report in Markdown")
	note := fs.String("note", "", "append a note to the timeline instead of printing it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: irtui timeline [--markdown] | irtui timeline --note TEXT\n\nThe timeline records every finding, playbook step, block, unblock, note and\nreport with its UTC time and Unix user.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	tl := playbook.DefaultTimeline()
	if *note != "" {
		if err := tl.Append(playbook.EventNote, *note, ""); err != nil {
			fmt.Fprintln(os.Stderr, "irtui timeline:", err)
			return 1
		}
		return 0
	}
	entries, err := tl.Entries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "irtui timeline:", err)
		return 1
	}
	if *md {
		playbook.WriteMarkdown(os.Stdout, entries)
	} else {
		if len(entries) == 0 {
			fmt.Println("The timeline is empty: nothing has been recorded yet.")
		}
		playbook.WriteText(os.Stdout, entries)
	}
	return 0
}
