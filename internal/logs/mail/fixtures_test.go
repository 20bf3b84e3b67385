package mail

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// testNow is the reference time of every test parser: mid-2024, so yearless
// fixture lines land in 2024 or 2023.
var testNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

func newParser(t testing.TB, name string) logs.Parser {
	t.Helper()
	for _, f := range Formats() {
		if f.Name == name {
			return f.New(logs.Options{Now: func() time.Time { return testNow }, Location: time.UTC})
		}
	}
	t.Fatalf("no format %q", name)
	return nil
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), logs.MaxLineBytes)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// failCase is one "# failJSON" sample of a fail2ban test file.
type failCase struct {
	Match bool   `json:"match"`
	Host  string `json:"host"`
	Line  string `json:"-"`
	No    int    `json:"-"`
}

func failJSON(t testing.TB, rel string) []failCase {
	t.Helper()
	lines := readLines(t, testkit.Fixture(t, rel))
	var out []failCase
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "# failJSON:") {
			continue
		}
		var c failCase
		if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "# failJSON:")), &c); err != nil {
			t.Fatalf("%s:%d: %v", rel, i+1, err)
		}
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == "" || strings.HasPrefix(lines[j], "#") {
				continue
			}
			c.Line, c.No = lines[j], j+1
			break
		}
		out = append(out, c)
	}
	return out
}

// TestFail2banSamples: every sample fail2ban expects to flag, whose host is
// an IP literal, parses with Src equal to that host.
func TestFail2banSamples(t *testing.T) {
	files := []struct{ rel, format string }{
		{"fail2ban/postfix", "postfix"},
		{"fail2ban/sendmail-auth", "sendmail"},
		{"fail2ban/sendmail-reject", "sendmail"},
		{"fail2ban/exim", "exim"},
		{"fail2ban/exim-spam", "exim"},
	}
	total, hits := 0, 0
	for _, f := range files {
		p := newParser(t, f.format)
		for _, c := range failJSON(t, f.rel) {
			want, err := netip.ParseAddr(c.Host)
			if !c.Match || err != nil {
				continue
			}
			total++
			var ev logs.Event
			err = p.Parse(c.Line, &ev)
			if err == nil && ev.Src == want.Unmap() {
				hits++
				continue
			}
			t.Logf("miss %s:%d: err=%v src=%v want %v: %s", f.rel, c.No, err, ev.Src, want, c.Line)
		}
	}
	t.Logf("fail2ban mail samples: %d/%d", hits, total)
	if total == 0 || hits*100 < total*99 {
		t.Errorf("fail2ban mail samples: %d of %d parsed with the expected host, want >= 99%%", hits, total)
	}
}

// crowdsecAsserts reads parser.assert: for each s01-parse entry its raw
// message, program and source_ip.
type csEntry struct{ message, program, sourceIP, service string }

func crowdsecAsserts(t testing.TB, dir string) []csEntry {
	t.Helper()
	lines := readLines(t, filepath.Join(dir, "parser.assert"))
	byIdx := map[int]*csEntry{}
	maxIdx := -1
	for _, l := range lines {
		if !strings.HasPrefix(l, `results["s01-parse"]`) {
			continue
		}
		// results["s01-parse"]["name"][N].Evt.X["key"] == "value"
		open := strings.Index(l, "][")
		rest := l[open+2:]
		i := strings.Index(rest, "][")
		if i < 0 {
			continue
		}
		rest = rest[i+2:]
		end := strings.IndexByte(rest, ']')
		n, err := strconv.Atoi(rest[:end])
		if err != nil {
			continue
		}
		eq := strings.Index(rest, " == ")
		if eq < 0 {
			continue
		}
		key := rest[end+1 : eq]
		val, err := strconv.Unquote(rest[eq+4:])
		if err != nil {
			continue
		}
		e := byIdx[n]
		if e == nil {
			e = &csEntry{}
			byIdx[n] = e
		}
		if n > maxIdx {
			maxIdx = n
		}
		switch key {
		case `.Evt.Parsed["message"]`:
			e.message = val
		case `.Evt.Parsed["program"]`:
			e.program = val
		case `.Evt.Meta["source_ip"]`:
			e.sourceIP = val
		case `.Evt.Meta["service"]`:
			e.service = val
		}
	}
	var out []csEntry
	for i := 0; i <= maxIdx; i++ {
		if e := byIdx[i]; e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// TestCrowdsecHub: the source address and program crowdsec's parsers
// assert agree with ours, for the lines of each test that are mail lines.
func TestCrowdsecHub(t *testing.T) {
	tests := []struct {
		dir, format, service string
		program              func(ev *logs.Event) string
	}{
		{"postfix-logs", "postfix", "", func(ev *logs.Event) string { return ev.Mail.Program }},
		{"exim-logs", "exim", "", func(ev *logs.Event) string { return ev.Mail.Program }},
		{"nginx-mail-logs", "nginx-mail", "mail", func(ev *logs.Event) string { return ev.Mail.Program }},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := testkit.Fixture(t, filepath.Join("crowdsec-hub/tests", tc.dir))
			logFile, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			if len(logFile) != 1 {
				t.Fatalf("want one .log in %s", dir)
			}
			lines := readLines(t, logFile[0])
			p := newParser(t, tc.format)
			checked := 0
			for _, e := range crowdsecAsserts(t, dir) {
				if e.sourceIP == "" || e.message == "" || (tc.service != "" && e.service != tc.service) {
					continue
				}
				line := ""
				for _, l := range lines {
					if strings.Contains(l, e.message) && strings.Contains(l, e.sourceIP) {
						line = l
						break
					}
				}
				if line == "" {
					t.Errorf("no line holds asserted message %q", e.message)
					continue
				}
				var ev logs.Event
				if err := p.Parse(line, &ev); err != nil {
					t.Errorf("%v: %s", err, line)
					continue
				}
				checked++
				if want := netip.MustParseAddr(e.sourceIP); ev.Src != want {
					t.Errorf("src %v, want %v: %s", ev.Src, want, line)
				}
				if e.program != "" && tc.program(&ev) != e.program {
					t.Errorf("program %q, want %q: %s", tc.program(&ev), e.program, line)
				}
			}
			if checked == 0 {
				t.Fatal("no asserted line checked")
			}
			t.Logf("%d asserted lines agree", checked)
		})
	}
	// postfix-relay and postfix-sasl-bf assert scenarios only: every line is
	// the attack the scenario counts.
	for _, tc := range []struct{ dir, action, reason string }{
		{"postfix-relay", logs.ActReject, ReasonRelayDenied},
		{"postfix-sasl-bf", logs.ActAuthFail, ReasonSASL},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := testkit.Fixture(t, filepath.Join("crowdsec-hub/tests", tc.dir))
			logFile, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			p := newParser(t, "postfix")
			for _, l := range readLines(t, logFile[0]) {
				var ev logs.Event
				if err := p.Parse(l, &ev); err != nil {
					t.Errorf("%v: %s", err, l)
					continue
				}
				if !ev.Src.IsValid() || ev.Mail.Action != tc.action || ev.Mail.Reason != tc.reason {
					t.Errorf("got src=%v action=%s reason=%s: %s", ev.Src, ev.Mail.Action, ev.Mail.Reason, l)
				}
			}
		})
	}
}

// TestPostfixGrokPatterns checks the fields of postfix-grok-patterns'
// samples that map onto ours: client address, queue id, relay, status.
func TestPostfixGrokPatterns(t *testing.T) {
	dir := testkit.Fixture(t, "postfix-grok-patterns")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no yaml samples")
	}
	p := newParser(t, "postfix")
	checks := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var y struct {
			Pattern string            `yaml:"pattern"`
			Data    string            `yaml:"data"`
			Results map[string]string `yaml:"results"`
		}
		if err := yaml.Unmarshal(raw, &y); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		svc := grokService(y.Pattern)
		if svc == "" {
			continue
		}
		line := "Jun  1 10:00:00 mx postfix/" + svc + "[123]: " + y.Data
		var ev logs.Event
		if err := p.Parse(line, &ev); err != nil {
			t.Errorf("%s: %v", filepath.Base(file), err)
			continue
		}
		name := filepath.Base(file)
		if ip, ok := y.Results["postfix_client_ip"]; ok && svc != "anvil" {
			// anvil's statistics name a client in a summary, not an event of it.
			checks++
			if ev.Src != netip.MustParseAddr(ip) {
				t.Errorf("%s: src %v, want %s (%s)", name, ev.Src, ip, y.Data)
			}
		}
		if q, ok := y.Results["postfix_queueid"]; ok && q != "NOQUEUE" {
			checks++
			if ev.Mail.QueueID != q {
				t.Errorf("%s: queue id %q, want %q", name, ev.Mail.QueueID, q)
			}
		}
		if st, ok := y.Results["postfix_status"]; ok {
			checks++
			want := map[string]string{"sent": logs.ActSent, "bounced": logs.ActBounced, "deferred": logs.ActDeferred, "expired": logs.ActBounced}[st]
			if want == "" {
				want = logs.ActOther
			}
			if ev.Mail.Action != want {
				t.Errorf("%s: action %q for status %q", name, ev.Mail.Action, st)
			}
		}
		if ip, ok := y.Results["postfix_relay_ip"]; ok && strings.Contains(y.Data, "relay=") {
			checks++
			if !strings.Contains(ev.Mail.Relay, "["+ip+"]") {
				t.Errorf("%s: relay %q, want one at %s", name, ev.Mail.Relay, ip)
			}
		}
	}
	t.Logf("%d field checks over %d samples", checks, len(files))
}

// grokService maps "^%{POSTFIX_SMTPD}$" to "smtpd".
func grokService(pattern string) string {
	i := strings.Index(pattern, "POSTFIX_")
	if i < 0 {
		return ""
	}
	s := pattern[i+len("POSTFIX_"):]
	if j := strings.IndexByte(s, '}'); j >= 0 {
		s = s[:j]
	}
	switch s {
	case "COMMAND_COUNTER_DATA", "DELAYS", "TLS_FEATURES":
		return "" // fragments, not whole messages
	case "SCRIPT":
		return "postfix-script"
	case "TRIVIAL_REWRITE":
		return "trivial-rewrite"
	}
	return strings.ToLower(s)
}

// TestSSHGuard: the Exim, Sendmail and Postfix samples of sshguard's
// attack tests (services 240, 250, 260) yield the attacker's address. The
// samples without a syslog header are messages only; they get one.
func TestSSHGuard(t *testing.T) {
	lines := readLines(t, testkit.Fixture(t, "sshguard/tests.txt"))
	formats := map[string]string{"240": "exim", "250": "sendmail", "260": "postfix"}
	programs := map[string]string{"240": "exim", "250": "sm-mta", "260": "postfix/smtpd"}
	n := 0
	for i := 1; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) != 4 || formats[f[0]] == "" {
			continue
		}
		sample := lines[i-1]
		p := newParser(t, formats[f[0]])
		var ev logs.Event
		err := p.Parse(sample, &ev)
		if err != nil {
			if f[0] == "240" {
				sample = "2024-06-01 10:00:00 " + sample
			} else {
				sample = "Jun  1 10:00:00 mx " + programs[f[0]] + "[1]: " + sample
			}
			ev = logs.Event{}
			err = p.Parse(sample, &ev)
		}
		n++
		if err != nil || ev.Src != netip.MustParseAddr(f[1]) {
			t.Errorf("line %d: err=%v src=%v want %s: %s", i, err, ev.Src, f[1], sample)
		}
	}
	if n == 0 {
		t.Fatal("no mail samples found")
	}
	t.Logf("%d sshguard mail samples", n)
}

// TestRealMail: the real mail logs parse at >= 99.5 %, and the count of
// each action equals an independent count of the lines that say so.
func TestRealMail(t *testing.T) {
	type grep func(l string) bool
	has := func(subs ...string) grep {
		return func(l string) bool {
			for _, s := range subs {
				if strings.Contains(l, s) {
					return true
				}
			}
			return false
		}
	}
	postfixCounts := map[string]grep{
		logs.ActConnect: func(l string) bool { return strings.Contains(l, "/smtpd[") && strings.Contains(l, ": connect from ") },
		logs.ActDisconnect: func(l string) bool {
			return strings.Contains(l, "/smtpd[") && strings.Contains(l, ": disconnect from ")
		},
		logs.ActBounced:     has("status=bounced", "status=expired"),
		logs.ActSent:        has("status=sent"),
		logs.ActDeferred:    has("status=deferred"),
		logs.ActBackscatter: has(": sender non-delivery notification: "),
		logs.ActQueued:      has("(queue active)"),
		logs.ActAuthFail: func(l string) bool {
			return strings.Contains(l, ": SASL ") && strings.Contains(l, "authentication failed")
		},
		logs.ActReject: func(l string) bool {
			return (strings.Contains(l, " reject: ") || strings.Contains(l, " milter-reject: ") || strings.Contains(l, "limit exceeded: ")) &&
				strings.Contains(l, " postfix")
		},
	}
	eximCounts := map[string]grep{
		logs.ActQueued:   has(" <= "),
		logs.ActSent:     has(" => ", " -> "),
		logs.ActBounced:  has(" ** "),
		logs.ActDeferred: has(" == "),
		logs.ActAuthFail: has("authenticator failed"),
	}
	files := []struct {
		rel, format string
		counts      map[string]grep
	}{
		{"real-mail/louisitvn-pflgviewer/postfix.log", "postfix", postfixCounts},
		{"real-mail/kdent-postfix_log_analysis/mail.log", "postfix", postfixCounts},
		{"real-mail/kdent-postfix_log_analysis/mail3.log", "postfix", postfixCounts},
		{"real-mail/infohtreasure-Postfix-Maillog-Dump/maillog", "postfix", nil},
		{"real-mail/infohtreasure-Postfix-Maillog-Dump/mailog2", "postfix", nil},
		{"real-mail/perericr-ddgrey/mainlog", "exim", eximCounts},
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f.rel))+"/"+filepath.Base(f.rel), func(t *testing.T) {
			lines := readLines(t, testkit.Fixture(t, f.rel))
			p := newParser(t, f.format)
			ok := 0
			actions := map[string]int{}
			reasons := map[string]int{}
			longest := 0
			for i, l := range lines {
				var ev logs.Event
				if err := p.Parse(l, &ev); err != nil {
					reasons[err.Error()]++
					if reasons[err.Error()] <= 3 {
						t.Logf("malformed %d (%v): %.160q", i+1, err, l)
					}
					continue
				}
				if ev.Time.IsZero() || ev.Kind != logs.KindMail || ev.Mail.Action == "" {
					t.Errorf("line %d: incomplete event %+v", i+1, ev)
				}
				if len(l) > longest {
					longest = len(l)
				}
				ok++
				actions[ev.Mail.Action]++
			}
			t.Logf("%d/%d parsed (%.2f%%), longest parsed line %d bytes, actions %v, malformed %v",
				ok, len(lines), 100*float64(ok)/float64(len(lines)), longest, actions, reasons)
			if ok*1000 < len(lines)*995 {
				t.Errorf("parsed %d of %d lines, want >= 99.5%%", ok, len(lines))
			}
			for action, g := range f.counts {
				want := 0
				for _, l := range lines {
					if g(l) {
						want++
					}
				}
				if actions[action] != want {
					t.Errorf("%s: %d events, grep counts %d", action, actions[action], want)
				}
			}
		})
	}
	// The fixture README's own count for the damaged export.
	lines := readLines(t, testkit.Fixture(t, "real-mail/louisitvn-pflgviewer/postfix.log"))
	p := newParser(t, "postfix")
	bounced := 0
	for _, l := range lines {
		var ev logs.Event
		if p.Parse(l, &ev) == nil && ev.Mail.Action == logs.ActBounced && ev.Mail.Reason != ReasonExpired {
			bounced++
		}
	}
	if len(lines) != 16053 || bounced != 294 {
		t.Errorf("louisitvn: %d lines, %d bounced; the README counts 16,053 and 294", len(lines), bounced)
	}
}
