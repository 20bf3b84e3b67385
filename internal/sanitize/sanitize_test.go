package sanitize

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	cases := map[string]string{
		"Mozilla/5.0":            "Mozilla/5.0",
		"evil\x1b]0;pwned\x07ua": "evil?]0;pwned?ua",
		"\x1b[2Jclear":           "?[2Jclear",
		"tab\there":              "tab here",
		"bad\xffutf8":            "bad?utf8",
		"c1\u009bcsi":            "c1?csi",
		"rtl\u202eoverride":      "rtloverride",
		"café ünïcode":           "café ünïcode",
		"crlf\r\n":               "crlf??",
	}
	for in, want := range cases {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(Text(in), "\x1b\x07\r\n") {
			t.Errorf("Text(%q) kept a control byte", in)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("abcdef", 4); got != "abc…" {
		t.Fatalf("got %q", got)
	}
	if got := Truncate("ab", 4); got != "ab" {
		t.Fatalf("got %q", got)
	}
}

func FuzzText(f *testing.F) {
	f.Add("\x1b]0;pwned\x07")
	f.Add("ok")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control %U survived in %q", r, out)
			}
		}
	})
}
