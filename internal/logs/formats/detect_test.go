package formats

import (
	"bufio"
	"strings"
	"testing"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// sample reads the first lines of a fixture the way the pipeline does.
func sample(t *testing.T, rel string) []string {
	t.Helper()
	r, c, err := logs.OpenLog(testkit.Fixture(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, logs.MaxLineBytes+1)
	var lines []string
	for sc.Scan() && len(lines) < 200 {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return lines
}

// TestDetectFixtures detects the format of a file of every family in the
// shared fixtures from its first lines, as `irtui` does for each file.
func TestDetectFixtures(t *testing.T) {
	cases := []struct{ file, want string }{
		{"real-web/wekilos-BPlogs/access.log.8.gz", "combined"},
		{"elastic-examples/common-data-formats/apache_logs/apache_logs", "combined"},
		{"elastic-beats/filebeat/module/nginx/access/test/access.log", "combined"},
		{"elastic-beats/filebeat/module/apache/access/test/darwin-2.4.23.log", "common"},
		{"crowdsec-hub/tests/apache-http-probing/apache-http-probing.log", "common"},
		{"lnav/test/logfile_regexp_access_log.0", "vhost_combined"},
		{"lnav/test/logfile_access_log.0", "combined"},
		{"loghub/Apache/Apache_2k.log", "apache-error"},
		{"fail2ban/apache-auth", "apache-error"},
		{"fail2ban/apache-modsecurity", "apache-error"},
		{"fail2ban/nginx-http-auth", "nginx-error"},
		{"fail2ban/nginx-limit-req", "nginx-error"},
		{"crowdsec-hub/tests/nginx_req_limit_exceeded/nginx_req_limit_exceeded.log", "nginx-error"},
		{"fail2ban/nginx-botsearch", "combined"},
		{"fail2ban/postfix", "postfix"},
		{"crowdsec-hub/tests/postfix-logs/postfix-logs.log", "postfix"},
		{"real-mail/kdent-postfix_log_analysis/mail.log", "postfix"},
		{"real-mail/infohtreasure-Postfix-Maillog-Dump/maillog", "postfix"},
		{"real-mail/louisitvn-pflgviewer/postfix.log", "postfix"},
		{"fail2ban/sendmail-reject", "sendmail"},
		{"fail2ban/sendmail-auth", "sendmail"},
		{"fail2ban/exim", "exim"},
		{"real-mail/perericr-ddgrey/mainlog", "exim"},
		{"crowdsec-hub/tests/exim-logs/exim-logs.log", "exim"},
		{"real-dns/sunilbinghamton-DNS-activity-monitor/queries.log", "bind"},
		{"fail2ban/named-refused", "bind"},
		{"crowdsec-hub/tests/bind9-logs/bind9-logs.log", "bind"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			if _, ok := ByName(c.want); !ok {
				testkit.Missing(t, "format "+c.want+" is not registered")
			}
			f, ok := Detect(sample(t, c.file), logs.Options{})
			if !ok || f.Name != c.want {
				t.Errorf("detected %q (%v), want %q", f.Name, ok, c.want)
			}
		})
	}
}

func TestDetectNothing(t *testing.T) {
	for _, s := range [][]string{nil, {}, {"", "  "}, {"hello world", "not a log"}} {
		if f, ok := Detect(s, logs.Options{}); ok {
			t.Errorf("%q detected as %s", s, f.Name)
		}
	}
}

// TestDetectTie: two formats that parse the same lines — the earlier wins.
func TestDetectTie(t *testing.T) {
	yes := func(logs.Options) logs.Parser { return parserFunc(func(string, *logs.Event) error { return nil }) }
	no := func(logs.Options) logs.Parser {
		return parserFunc(func(string, *logs.Event) error { return logs.Malformed("no") })
	}
	all := []logs.Format{{Name: "never", New: no}, {Name: "custom", NeedsLogFormat: true, New: yes}, {Name: "a", New: yes}, {Name: "b", New: yes}}
	f, ok := DetectAmong(all, []string{"x", "y"}, logs.Options{})
	if !ok || f.Name != "a" {
		t.Errorf("detected %q", f.Name)
	}
}

type parserFunc func(string, *logs.Event) error

func (p parserFunc) Parse(l string, ev *logs.Event) error { return p(l, ev) }

func TestResolve(t *testing.T) {
	if f, ok, err := Resolve("", ""); ok || err != nil || f.Name != "" {
		t.Errorf("empty: %v %v", ok, err)
	}
	if _, _, err := Resolve("no-such-format", ""); err == nil || !strings.Contains(err.Error(), "choose one of") {
		t.Errorf("unknown format: %v", err)
	}
	if f, ok, err := Resolve("", `%h %l %u %t "%r" %>s %b`); err != nil || !ok || !f.NeedsLogFormat {
		t.Errorf("--log-format alone: %v %v %v", f.Name, ok, err)
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326\nJan  1 00:00:00 host postfix/smtpd[1]: connect from x[192.0.2.1]")
	f.Add("\x00\xff\n\n[")
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		f, ok := Detect(lines, logs.Options{})
		if ok && (f.New == nil || f.NeedsLogFormat) {
			t.Fatalf("detected unusable format %q", f.Name)
		}
	})
}

func TestBadLogFormatIsRefusedUpFront(t *testing.T) {
	if _, _, err := ResolveAmong(All(), "", "%h %Z"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("a bad --log-format was accepted: %v", err)
	}
	if f, ok, err := ResolveAmong(All(), "", `%h %l %u %t "%r" %>s %b`); err != nil || !ok || !f.NeedsLogFormat {
		t.Fatalf("a good --log-format was refused: %v", err)
	}
}
