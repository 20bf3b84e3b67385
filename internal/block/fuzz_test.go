package block

import (
	"strings"
	"testing"
)

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{
		"192.0.2.7\n198.51.100.0/24, 2001:db8::/48 # note\n",
		"::ffff:192.0.2.7/128", "::ffff:0:0/96", "fe80::1%eth0", "0.0.0.0/0", "::/0",
		"1.2.3.4/33", "\x1b]52;c;aGk=\x07", strings.Repeat("a", 5000), "2001:db8::1;192.0.2.1\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseTargets(strings.NewReader(s))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\x1b\x07\x00") {
				t.Fatalf("error carries control bytes: %q", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("not normalised: %v", p)
			}
			if seen[p.String()] {
				t.Fatalf("duplicate %v", p)
			}
			seen[p.String()] = true
			// Round trip: what the journal writes parses back to the same.
			q, err := ParseTarget(p.String())
			if err != nil || q != p {
				t.Fatalf("round trip %v → %v, %v", p, q, err)
			}
		}
	})
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"tcp/80,tcp/443", "udp/53", "tcp/8000-8100", "all", "", "tcp/0", "tcp/65535-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc, err := ParseScope(s)
		if err != nil {
			return
		}
		again, err := ParseScope(ScopeString(sc))
		if err != nil || ScopeString(again) != ScopeString(sc) {
			t.Fatalf("round trip %q → %q: %v", s, ScopeString(again), err)
		}
		for _, p := range sc {
			if p.From == 0 || p.To < p.From || (p.Proto != "tcp" && p.Proto != "udp") {
				t.Fatalf("bad range %+v", p)
			}
		}
	})
}
