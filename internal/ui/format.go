package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/irtui/irtui/internal/sanitize"
)

// Numbers are shown with two or three significant digits on purpose: a rate
// that wobbles between 1003 and 1011 lines/s draws the same "1.0k" and
// costs no bytes on a slow link.

func human(v float64) string {
	a := math.Abs(v)
	switch {
	case a < 10:
		if v == math.Trunc(v) {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.1f", v)
	case a < 1000:
		return fmt.Sprintf("%.0f", v)
	case a < 10e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a < 1e6:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a < 10e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a < 1e9:
		return fmt.Sprintf("%.0fM", v/1e6)
	}
	return fmt.Sprintf("%.1fG", v/1e9)
}

func humanInt(v int64) string { return human(float64(v)) }

func rate(v float64) string { return human(v) + "/s" }

func bytesHuman(v int64) string {
	f := float64(v)
	switch {
	case f < 1024:
		return fmt.Sprintf("%dB", v)
	case f < 1024*1024:
		return fmt.Sprintf("%.0fK", f/1024)
	case f < 1024*1024*1024:
		return fmt.Sprintf("%.1fM", f/1024/1024)
	}
	return fmt.Sprintf("%.1fG", f/1024/1024/1024)
}

func pct(v float64) string {
	p := v * 100
	if p > 0 && p < 1 {
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// trend says how a rate compares with its baseline in symbols that survive
// NO_COLOR: ▲ well above, ▼ well below, = about the same.
func trend(rate, baseline float64) string {
	switch {
	case baseline <= 0 && rate > 0:
		return "▲ new"
	case baseline <= 0:
		return "="
	}
	r := rate / baseline
	switch {
	case r >= 1.5:
		return "▲ ×" + human(math.Round(r*10)/10)
	case r <= 0.67:
		return "▼ ×" + human(math.Round(r*10)/10)
	}
	return "="
}

func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// lag is coarse on purpose (see the note on numbers above).
func lag(d time.Duration) string {
	if d < 5*time.Second {
		return "live"
	}
	return duration(d.Truncate(time.Second))
}

var sparkGlyphs = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width points scaled to their maximum.
func sparkline(points []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(points) > width {
		points = points[len(points)-width:]
	}
	maxv := 0.0
	for _, p := range points {
		maxv = math.Max(maxv, p)
	}
	var b strings.Builder
	for i := len(points); i < width; i++ {
		b.WriteByte(' ')
	}
	for _, p := range points {
		i := 0
		if maxv > 0 && p > 0 {
			i = int(math.Round(p / maxv * float64(len(sparkGlyphs)-1)))
		}
		b.WriteRune(sparkGlyphs[min(max(i, 0), len(sparkGlyphs)-1)])
	}
	return b.String()
}

// fit sanitizes s (it may come from outside) and pads or cuts it to exactly
// w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = sanitize.Text(s)
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// fitRight is fit aligned to the right, for numbers.
func fitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = sanitize.Text(s)
	sw := ansi.StringWidth(s)
	if sw > w {
		// a wide rune may not fit in the last cell: pad what is left
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	return strings.Repeat(" ", w-sw) + s
}

// clip cuts an already safe, possibly styled line to w cells.
func clip(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fitTail is fit for paths: a cut keeps the end, where the file name is.
func fitTail(s string, w int) string {
	s = sanitize.Text(s)
	if r := []rune(s); ansi.StringWidth(s) > w && w > 1 {
		for len(r) > 0 && ansi.StringWidth(string(r))+1 > w {
			r = r[1:]
		}
		s = "…" + string(r)
	}
	return fit(s, w)
}
