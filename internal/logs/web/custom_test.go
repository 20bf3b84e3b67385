package web

import (
	"errors"
	"strings"
	"testing"

	"github.com/irtui/irtui/internal/logs"
)

func newCustomForTest(t *testing.T, format string) logs.Parser {
	t.Helper()
	if err := ValidateLogFormat(format); err != nil {
		t.Fatalf("ValidateLogFormat(%q): %v", format, err)
	}
	o := testOpts
	o.LogFormat = format
	return parser(t, NameCustom, o)
}

func TestCustom(t *testing.T) {
	const (
		apacheCombined = `%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"`
		nginxCombined  = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
	)
	tests := []struct {
		name, format, line string
		w                  want
	}{
		{"apache combined escaped", apacheCombined,
			`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
			want{"127.0.0.1", "2000-10-10T20:55:36Z", "GET", "/apache_pb.gif", "x=1", "HTTP/1.0", 200, 2326, "", "http://www.example.com/start.html", "Mozilla/4.08 [en] (Win98; I ;Nav)"}},
		{"apache LogFormat directive", `LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined`,
			`www.example.org:443 2001:db8::5 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/2.0" 302 0 "-" "curl/8"`,
			want{"2001:db8::5", "2000-10-10T13:55:36Z", "POST", "/login", "", "HTTP/2.0", 302, 0, "www.example.org", "", "curl/8"}},
		{"apache with vhost at end", `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %v`,
			`192.0.2.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "ua with \"quotes\"" shop.example`,
			want{"192.0.2.4", "2000-10-10T13:55:36Z", "GET", "/", "", "HTTP/1.1", 200, 5, "shop.example", "", `ua with \"quotes\"`}},
		{"apache strftime with msec", `%a [%{%d/%b/%Y %H:%M:%S}t.%{msec_frac}t %{%z}t] "%r" %s %B`,
			`192.0.2.4 [10/Oct/2000 13:55:36.123 +0200] "GET /x HTTP/1.1" 404 0`,
			want{"192.0.2.4", "2000-10-10T11:55:36.123Z", "GET", "/x", "", "HTTP/1.1", 404, 0, "", "", ""}},
		{"apache epoch", `%h %{sec}t "%r" %>s %b`,
			`192.0.2.4 1700000000 "GET / HTTP/1.1" 200 1`,
			want{"192.0.2.4", "2023-11-14T22:13:20Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"apache m U q H", `%h %t %m %U%q %H %>s`,
			`192.0.2.4 [10/Oct/2000:13:55:36 +0000] GET /search?q=a%20b HTTP/1.1 200`,
			want{"192.0.2.4", "2000-10-10T13:55:36Z", "GET", "/search", "q=a%20b", "HTTP/1.1", 200, 0, "", "", ""}},
		{"nginx combined", nginxCombined,
			`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "GET /assets/a.svg HTTP/1.1" 200 506 "https://example.org/x" "Mozilla/5.0"`,
			want{"203.0.113.7", "2024-02-01T19:00:03Z", "GET", "/assets/a.svg", "", "HTTP/1.1", 200, 506, "", "https://example.org/x", "Mozilla/5.0"}},
		{"nginx tls junk", nginxCombined,
			`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "\x16\x03\x01\x00\xEE" 400 166 "-" "-"`,
			want{"203.0.113.7", "2024-02-01T19:00:03Z", "", "", "", "", 400, 166, "", "", ""}},
		{"nginx log_format directive with xff", `log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';`,
			`10.0.0.5 - - [02/Feb/2024:00:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "198.51.100.20, 10.0.0.9"`,
			want{"198.51.100.20", "2024-02-02T00:00:03Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", "ua"}},
		{"nginx xff ignored when client is public", `$remote_addr [$time_local] "$request" $status "$http_x_forwarded_for"`,
			`203.0.113.1 [02/Feb/2024:00:00:03 +0000] "GET / HTTP/1.1" 200 "198.51.100.20"`,
			want{"203.0.113.1", "2024-02-02T00:00:03Z", "GET", "/", "", "HTTP/1.1", 200, 0, "", "", ""}},
		{"nginx iso8601 and request_uri", `$time_iso8601 $host $remote_addr $request_method $request_uri $status $bytes_sent $request_time`,
			`2024-02-02T00:00:03+05:00 example.com 2001:db8::77 GET /p?x=y 200 512 0.003`,
			want{"2001:db8::77", "2024-02-01T19:00:03Z", "GET", "/p", "x=y", "", 200, 512, "example.com", "", ""}},
		{"nginx msec braces", `${msec} ${remote_addr} "${request}" ${status}`,
			`1700000000.250 192.0.2.9 "GET / HTTP/1.0" 301`,
			want{"192.0.2.9", "2023-11-14T22:13:20.25Z", "GET", "/", "", "HTTP/1.0", 301, 0, "", "", ""}},
		{"trailing fields beyond the format", nginxCombined,
			`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "GET / HTTP/1.1" 200 506 "-" "ua" "extra" 0.1`,
			want{"203.0.113.7", "2024-02-01T19:00:03Z", "GET", "/", "", "HTTP/1.1", 200, 506, "", "", "ua"}},
		{"raw quote in request", nginxCombined,
			`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "GET /a"b HTTP/1.1" 200 506 "-" "ua"`,
			want{"203.0.113.7", "2024-02-01T19:00:03Z", "GET", `/a"b`, "", "HTTP/1.1", 200, 506, "", "", "ua"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newCustomForTest(t, tc.format)
			var ev logs.Event
			if err := p.Parse(tc.line, &ev); err != nil {
				t.Fatalf("%q: %v", tc.line, err)
			}
			check(t, tc.line, &ev, tc.w)
			if ev.Format != NameCustom {
				t.Errorf("format %q", ev.Format)
			}
		})
	}
}

func TestCustomMalformed(t *testing.T) {
	p := newCustomForTest(t, `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent`)
	tests := []struct{ line, reason string }{
		{``, reasonEmpty},
		{`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "GET / HTTP/1.1" OK 1`, reasonFormatMismatch},
		{`203.0.113.7 - - [02/Feb/2024:00:00:03 +0500] "GET / HTTP/1.1" 200 x`, reasonBadBytes},
		{`203.0.113.7 - - [02/Xyz/2024:00:00:03 +0500] "GET / HTTP/1.1" 200 1`, reasonBadTime},
		{`host.example - - [02/Feb/2024:00:00:03 +0500] "GET / HTTP/1.1" 200 1`, reasonNoClient},
		{`[Thu Jul 11 01:21:43 2013] [error] [client 192.0.2.1] x`, reasonFormatMismatch},
	}
	for _, tc := range tests {
		var ev logs.Event
		err := p.Parse(tc.line, &ev)
		var pe *logs.ParseError
		if !errors.As(err, &pe) || pe.Reason != tc.reason {
			t.Errorf("%q: err %v, want %q", tc.line, err, tc.reason)
		}
	}
}

func TestLogFormatErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{``, "empty"},
		{`hello world`, "no %directives"},
		{`%h %l %u "%r" %>s`, "no time"},
		{`%t "%r" %>s %b`, "no client"},
		{`%h%u %t`, "separator"},
		{`%h %t %Z`, "unknown directive"},
		{`%h %{%j}t`, "time format"},
		{`%h %{Referer`, "unclosed"},
		{`$remote_addr ${time_local`, "unclosed"},
	}
	for _, tc := range tests {
		err := ValidateLogFormat(tc.format)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateLogFormat(%q) = %v, want an error about %q", tc.format, err, tc.want)
		}
	}
	// A bad format makes every line malformed with one stable reason.
	o := testOpts
	o.LogFormat = `%h`
	var ev logs.Event
	err := parser(t, NameCustom, o).Parse(`192.0.2.1`, &ev)
	var pe *logs.ParseError
	if !errors.As(err, &pe) || pe.Reason != reasonBadLogFormat {
		t.Errorf("bad format: err %v", err)
	}
}
