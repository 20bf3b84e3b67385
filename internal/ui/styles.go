package ui

import (
	"charm.land/lipgloss/v2"

	"github.com/irtui/irtui/internal/analyze"
)

// Styles is every style the console uses, built once. Colour only ever
// repeats what a word or symbol already says, so NO_COLOR loses nothing.
type Styles struct {
	Header    lipgloss.Style
	Tab       lipgloss.Style
	TabActive lipgloss.Style
	Mode      [3]lipgloss.Style
	Title     lipgloss.Style
	ColHead   lipgloss.Style
	Dim       lipgloss.Style
	Cursor    lipgloss.Style
	Warn      lipgloss.Style
	Err       lipgloss.Style
	OK        lipgloss.Style
	Sev       [analyze.SevCritical + 1]lipgloss.Style
	Box       lipgloss.Style
	Help      lipgloss.Style
}

func newStyles(noColor bool) *Styles {
	s := &Styles{}
	plain := lipgloss.NewStyle()
	bold := plain.Bold(true)
	s.Header = plain
	s.Tab = plain
	s.TabActive = bold.Reverse(true)
	s.Title = bold
	s.ColHead = bold.Underline(true)
	s.Dim = plain
	s.Cursor = plain.Reverse(true)
	s.Warn = bold
	s.Err = bold
	s.OK = plain
	for i := range s.Sev {
		s.Sev[i] = plain
	}
	s.Sev[analyze.SevHigh] = bold
	s.Sev[analyze.SevCritical] = bold
	for i := range s.Mode {
		s.Mode[i] = bold.Reverse(true)
	}
	s.Box = plain.Border(lipgloss.NormalBorder())
	s.Help = plain
	if noColor {
		return s
	}
	red, yellow, green, grey, cyan := lipgloss.Color("1"), lipgloss.Color("3"), lipgloss.Color("2"), lipgloss.Color("8"), lipgloss.Color("6")
	s.Dim = plain.Foreground(grey)
	s.Warn = bold.Foreground(yellow)
	s.Err = bold.Foreground(red)
	s.OK = plain.Foreground(green)
	s.Sev[analyze.SevLow] = plain.Foreground(cyan)
	s.Sev[analyze.SevMedium] = plain.Foreground(yellow)
	s.Sev[analyze.SevHigh] = bold.Foreground(red)
	s.Sev[analyze.SevCritical] = bold.Foreground(red).Reverse(true)
	s.Mode[ModeLive] = bold.Foreground(lipgloss.Color("15")).Background(red)
	s.Mode[ModeDrill] = bold.Foreground(lipgloss.Color("0")).Background(yellow)
	s.Mode[ModeDryRun] = bold.Foreground(lipgloss.Color("0")).Background(cyan)
	s.Box = s.Box.BorderForeground(grey)
	s.Help = plain.Foreground(grey)
	return s
}

// sevWord is the severity as a fixed-width word, so it reads without colour.
func sevWord(s analyze.Severity) string {
	switch s {
	case analyze.SevCritical:
		return "CRIT"
	case analyze.SevHigh:
		return "HIGH"
	case analyze.SevMedium:
		return "MED "
	case analyze.SevLow:
		return "LOW "
	}
	return "INFO"
}
