package web

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

var fuzzSeeds = []string{
	`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
	`2001:db8::1 - - [26/Dec/2016:16:16:29 +0200] "GET /favicon.ico?x HTTP/1.1" 404 209 "-" "curl/8.0"`,
	`[fe80::1%eth0] - - [26/Dec/2016:16:16:29 +0000] "-" 408 -`,
	`12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "\x03\x00\x00/*\xE0\x00Cookie: mstshash=Administr" 400 47 "-" "-" "-"`,
	`www.example.net:443 203.0.113.4 - - [25/Oct/2021:11:05:52 +0200] "GET /web/.well-known HTTP/1.1" 403 6963 "abc.com" "UA"`,
	`"10.5.102.222, 199.96.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /a?q=1 HTTP/1.1" 200 25507 "-" "CF"`,
	`66.249.66.1 - - - [31/Jan/2015:14:29:44 ] fail2ban.org "GET / HTTP/1.1" 200 814 "-" "Googlebot" + 293 1149 546`,
	`Sep 15 16:13:46 ip-172-31-43-28 nginx[2869]: 81.150.104.130 - - [15/Sep/2021:16:13:46 +0000] "POST /wp-login.php HTTP/1.1" 200 5364 "-" "Firefox/64.0"`,
	`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "x \"y\" z"`,
	`[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] [pid 10691] [client 192.3.9.178:44271] AH01630: client denied by server configuration: /x`,
	`[Thu Jul 11 01:21:43 2013] [error] [client 194.228.20.113] user dsfasdf not found: /, referer: http://x/`,
	`[Wed Apr 16 16:09:40.056610 2025] [ssl:info] [pid 120974:tid 120974] (70014)End of file found: [client ::1:17036] AH02006: SSL handshake stopped`,
	`Feb 15 16:23:40 srv httpd/backend1[22034]: [authz_core:error] [pid 22036] [client 192.0.2.2:59392] AH01630: client denied`,
	`2012/04/09 11:53:29 [error] 2865#0: *66647 user "xyz" was not found in "/var/www/.htpasswd", client: 192.0.43.10, server: www.myhost.com, request: "GET / HTTP/1.1", host: "www.myhost.com"`,
	`host nginx[983479]: 2023/12/09 21:35:20 [notice] 983479#983479: *22174 limiting requests, excess: 1.495 by zone "one", client: ::1, server: example.com, request: "GET /index.htm HTTP/1.1", host: "example.com", referrer: "https://example.com"`,
	`2024/01/02 03:04:05 [notice] 1#1: signal process started`,
}

// checkEvent asserts what every successful parse must give.
func checkEvent(t *testing.T, line string, ev *logs.Event, err error, needSrc bool) {
	t.Helper()
	if err != nil {
		var pe *logs.ParseError
		if !errors.As(err, &pe) || pe.Reason == "" {
			t.Fatalf("%q: error %v is not a ParseError with a reason", line, err)
		}
		return
	}
	if needSrc && !ev.Src.IsValid() {
		t.Fatalf("%q: parsed without a client address", line)
	}
	if ev.Src.IsValid() && (ev.Src.Is4In6() || ev.Src.Zone() != "") {
		t.Fatalf("%q: src %s not normalised", line, ev.Src)
	}
	if ev.Time.Location() != time.UTC {
		t.Fatalf("%q: time %v", line, ev.Time)
	}
	if ev.Kind != logs.KindHTTP || ev.Format == "" {
		t.Fatalf("%q: kind %v format %q", line, ev.Kind, ev.Format)
	}
	h := ev.HTTP
	if h.Status < 0 || h.Status > 999 || h.Bytes < 0 {
		t.Fatalf("%q: status %d bytes %d", line, h.Status, h.Bytes)
	}
	if strings.IndexByte(h.Path, '?') >= 0 {
		t.Fatalf("%q: query left in path %q", line, h.Path)
	}
	// Every field is a piece of the line: nothing invented.
	for _, f := range []string{h.Method, h.Path, h.Query, h.Proto, h.Vhost, h.UA, h.Referer, h.Level, h.Module, h.Message} {
		if !strings.Contains(line, f) {
			t.Fatalf("%q: field %q not from the line", line, f)
		}
	}
}

func validAction(a string) bool {
	switch a {
	case logs.WebAuthFail, logs.WebDenied, logs.WebNotFound, logs.WebModSec, logs.WebRateLimit, logs.WebError:
		return true
	}
	return false
}

func FuzzCombined(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	ps := []logs.Parser{
		parser(f, NameCombined, testOpts),
		parser(f, NameCommon, testOpts),
		parser(f, NameVhostCombined, testOpts),
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range ps {
			var ev logs.Event
			err := p.Parse(line, &ev)
			checkEvent(t, line, &ev, err, true)
			if err == nil && ev.HTTP.Action != "" {
				t.Fatalf("%q: access line with action %q", line, ev.HTTP.Action)
			}
		}
	})
}

func FuzzCustom(f *testing.F) {
	formats := []string{
		`%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %v`,
		`$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`,
		`%a [%{%d/%b/%Y %H:%M:%S}t.%{msec_frac}t %{%z}t] "%r" %s %B`,
		`$time_iso8601 $host $remote_addr $request_method $request_uri $status $bytes_sent "$http_x_forwarded_for"`,
		`${msec} ${remote_addr} "${request}" ${status}`,
	}
	for i, s := range fuzzSeeds {
		f.Add(formats[i%len(formats)], s)
	}
	f.Add(formats[3], `2024-02-02T00:00:03+05:00 example.com 2001:db8::77 GET /p?x=y 200 512 "1.2.3.4, unknown"`)
	f.Add(formats[4], `1700000000.250 192.0.2.9 "GET / HTTP/1.0" 301`)
	f.Fuzz(func(t *testing.T, format, line string) {
		if len(format) > 4096 {
			return
		}
		err := ValidateLogFormat(format)
		o := testOpts
		o.LogFormat = format
		var ev logs.Event
		perr := parser(t, NameCustom, o).Parse(line, &ev)
		if err != nil {
			if perr == nil {
				t.Fatalf("invalid format %q parsed %q", format, line)
			}
			return
		}
		checkEvent(t, line, &ev, perr, true)
	})
}

func FuzzApacheError(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	p := parser(f, NameApacheError, testOpts)
	f.Fuzz(func(t *testing.T, line string) {
		var ev logs.Event
		err := p.Parse(line, &ev)
		checkEvent(t, line, &ev, err, false)
		if err == nil && (!validAction(ev.HTTP.Action) || !errorLevel(ev.HTTP.Level)) {
			t.Fatalf("%q: action %q level %q", line, ev.HTTP.Action, ev.HTTP.Level)
		}
	})
}

func FuzzNginxError(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	p := parser(f, NameNginxError, testOpts)
	f.Fuzz(func(t *testing.T, line string) {
		var ev logs.Event
		err := p.Parse(line, &ev)
		checkEvent(t, line, &ev, err, false)
		if err == nil && (!validAction(ev.HTTP.Action) || !errorLevel(ev.HTTP.Level)) {
			t.Fatalf("%q: action %q level %q", line, ev.HTTP.Action, ev.HTTP.Level)
		}
	})
}

// FuzzParseIPv4 holds the one-pass IPv4 parser to netip's answer: whatever
// it accepts, netip.ParseAddr accepts as the same address.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3.256", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4:80", "::ffff:1.2.3.4", "1.2.3.04"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseIPv4(s)
		want, err := netip.ParseAddr(s)
		if ok && (err != nil || got != want) {
			t.Fatalf("parseIPv4(%q) = %v, netip says %v %v", s, got, want, err)
		}
		if !ok && err == nil && want.Is4() {
			t.Fatalf("parseIPv4(%q) refused what netip parses as %v", s, want)
		}
	})
}

// FuzzCombinedRepeat: a parser that has just parsed one line (and cached
// its timestamp) parses the next exactly as a fresh parser does.
func FuzzCombinedRepeat(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+1)%len(fuzzSeeds)])
		f.Add(s, s)
	}
	f.Add(`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1`, `192.0.2.1 - - [10/Oct/2000:13:55:36 -0700 ] "GET / HTTP/1.0" 200 1`)
	f.Add(`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1`, `192.0.2.1 - - [10/Oct/2000:13:55:36 -0700]] "GET / HTTP/1.0" 200 1`)
	f.Fuzz(func(t *testing.T, first, second string) {
		warm := parser(t, NameCombined, testOpts)
		var ev1, ev2 logs.Event
		_ = warm.Parse(first, &ev1)
		err1 := warm.Parse(second, &ev1)
		err2 := parser(t, NameCombined, testOpts).Parse(second, &ev2)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("after %q, %q: %v; fresh: %v", first, second, err1, err2)
		}
		if err1 == nil && ev1 != ev2 {
			t.Fatalf("after %q, %q:\n%+v\nfresh:\n%+v", first, second, ev1, ev2)
		}
	})
}
