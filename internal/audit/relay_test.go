package audit

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func relayOpts(addr string) RelayOptions {
	return RelayOptions{Addr: addr, Timeout: 5 * time.Second}
}

func attemptsOf(t *testing.T, r Result) []RelayAttempt {
	t.Helper()
	d, ok := r.Data.(*RelayData)
	if !ok {
		t.Fatalf("data is %T", r.Data)
	}
	return d.Attempts
}

func TestRelayAgainstGoServers(t *testing.T) {
	cases := []struct {
		name     string
		policy   smtpPolicy
		tls      bool
		want     Verdict
		accepted []string // variants expected to be accepted
		summary  string
	}{
		{"closed", closedPolicy, false, Fine, nil, "refuses relaying: 7 attempts refused"},
		{"open", openPolicy, false, Problem, []string{"outside to outside", "empty sender", "sender in the server's own domain", "percent hack", "bang path", "quoted local part with @", "source route"}, "OPEN RELAY"},
		{"percent hack only", percentPolicy, false, Problem, []string{"percent hack"}, "OPEN RELAY: accepted 1 of 7"},
		{"closed with STARTTLS", closedPolicy, true, Fine, nil, "in plain text and after STARTTLS"},
		{"open only after STARTTLS", tlsTrustPolicy, true, Problem, nil, "OPEN RELAY: accepted 7 of 14"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTP(t, c.policy, c.tls)
			r := CheckRelay(context.Background(), relayOpts(srv.addr()))
			if r.Verdict != c.want {
				t.Fatalf("verdict %v, want %v: %s\n%s", r.Verdict, c.want, r.Summary, strings.Join(r.Transcript, "\n"))
			}
			if !strings.Contains(r.Summary, c.summary) {
				t.Errorf("summary %q does not contain %q", r.Summary, c.summary)
			}
			var got []string
			for _, a := range attemptsOf(t, r) {
				if a.Outcome == outcomeAccepted && !a.TLS {
					got = append(got, a.Variant)
				}
			}
			if c.accepted != nil && strings.Join(got, ",") != strings.Join(c.accepted, ",") {
				t.Errorf("accepted in plain text: %v, want %v", got, c.accepted)
			}
			tr := strings.Join(r.Transcript, "\n")
			for _, must := range []string{"C: EHLO relay-test.example.com", "S: 220 mx.example.com", "C: RSET", "C: QUIT"} {
				if !strings.Contains(tr, must) {
					t.Errorf("transcript lacks %q:\n%s", must, tr)
				}
			}
			if c.tls {
				if !strings.Contains(tr, "certificate NOT verified") {
					t.Errorf("transcript does not say the certificate was not verified:\n%s", tr)
				}
				if n := strings.Count(tr, "C: EHLO"); n != 2 {
					t.Errorf("EHLO sent %d times, want 2 (again after STARTTLS)", n)
				}
			}
		})
	}
}

func TestRelayVariantsAddresses(t *testing.T) {
	srv := startSMTP(t, closedPolicy, false)
	o := relayOpts(srv.addr())
	o.FromDomain, o.ToDomain, o.LocalPart = "example.com", "example.org", "probe"
	r := CheckRelay(context.Background(), o)
	want := []string{
		"probe@example.org",
		"probe%example.org@mx.example.com",
		"example.org!probe@mx.example.com",
		`"probe@example.org"@mx.example.com`,
		"@mx.example.com:probe@example.org",
	}
	for _, w := range want {
		if _, ok := srv.rcpts.Load(w); !ok {
			t.Errorf("server never saw RCPT TO:<%s>; transcript:\n%s", w, strings.Join(r.Transcript, "\n"))
		}
	}
	if !strings.Contains(strings.Join(r.Transcript, "\n"), "C: MAIL FROM:<>") {
		t.Error("no empty-sender attempt")
	}
}

func TestRelayFromThisHostIsUnknown(t *testing.T) {
	srv := startSMTP(t, openPolicy, false)
	o := relayOpts(srv.addr())
	o.FromThisHost = true
	if r := CheckRelay(context.Background(), o); r.Verdict != Unknown {
		t.Fatalf("verdict %v, want unknown: %s", r.Verdict, r.Summary)
	}
}

func TestRelayCannotTell(t *testing.T) {
	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if r := CheckRelay(context.Background(), relayOpts(addr)); r.Verdict != Unknown || !strings.Contains(r.Summary, "cannot connect") {
		t.Errorf("closed port: %v %s", r.Verdict, r.Summary)
	}

	// A server that never answers: the timeout must end the check.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(3 * time.Second)
			_ = c.Close()
		}
	}()
	o := relayOpts(ln.Addr().String())
	o.Timeout = 300 * time.Millisecond
	start := time.Now()
	r := CheckRelay(context.Background(), o)
	if r.Verdict != Unknown || time.Since(start) > 2*time.Second {
		t.Errorf("silent server: %v %s after %v", r.Verdict, r.Summary, time.Since(start))
	}
}

// A hostile server: escape sequences in its text, a greylisting answer and an
// overlong line. Nothing may reach the transcript raw, and the verdict must
// be "could not tell".
func TestRelayHostileServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer func() { _ = c.Close() }()
		br := bufio.NewReader(c)
		_, _ = c.Write([]byte("220 evil\x1b]0;pwned\x07.example.com \x1b[2J hi\r\n"))
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(line, "EHLO"):
				_, _ = c.Write([]byte("250-evil\r\n250 SIZE\r\n"))
			case strings.HasPrefix(line, "RCPT"):
				_, _ = c.Write([]byte("450 4.7.1 greylisted \x1b[31m\r\n"))
			case strings.HasPrefix(line, "QUIT"):
				_, _ = c.Write([]byte("221 " + strings.Repeat("x", 5000) + "\r\n"))
				return
			default:
				_, _ = c.Write([]byte("250 ok\r\n"))
			}
		}
	}()
	r := CheckRelay(context.Background(), relayOpts(ln.Addr().String()))
	if r.Verdict != Unknown || !strings.Contains(r.Summary, "temporary") {
		t.Errorf("verdict %v %q, want unknown (temporary)", r.Verdict, r.Summary)
	}
	for _, l := range append(r.Transcript, r.Details...) {
		if strings.ContainsAny(l, "\x1b\x07") {
			t.Errorf("escape reached output: %q", l)
		}
		if len(l) > 1200 {
			t.Errorf("line of %d bytes in output", len(l))
		}
	}
	if d := r.Data.(*RelayData); d.TargetDomain != "["+"127.0.0.1"+"]" {
		t.Errorf("target domain %q, want the domain literal", d.TargetDomain)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"mx.example.com":     "mx.example.com:25",
		"192.0.2.1":          "192.0.2.1:25",
		"192.0.2.1:2525":     "192.0.2.1:2525",
		"2001:db8::1":        "[2001:db8::1]:25",
		"[2001:db8::1]":      "[2001:db8::1]:25",
		"[2001:db8::1]:587":  "[2001:db8::1]:587",
		"mx.example.com:587": "mx.example.com:587",
	} {
		got, err := HostPort(in, "25")
		if err != nil || got != want {
			t.Errorf("HostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := HostPort("", "25"); err == nil {
		t.Error("empty target accepted")
	}
}
