package web

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// testOpts pins the zone and clock so tests do not depend on the machine.
var testOpts = logs.Options{
	Location: time.FixedZone("UTC+1", 3600),
	Now:      func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) },
}

func parser(t testing.TB, name string, o logs.Options) logs.Parser {
	t.Helper()
	for _, f := range Formats() {
		if f.Name == name {
			return f.New(o)
		}
	}
	t.Fatalf("no format %q", name)
	return nil
}

// want is the subset of an Event a table row checks; empty strings and
// zero numbers are checked too, so every row states the whole result.
type want struct {
	src     string
	time    string // RFC 3339 UTC
	method  string
	path    string
	query   string
	proto   string
	status  int
	bytes   int64
	vhost   string
	referer string
	ua      string
}

func check(t *testing.T, line string, ev *logs.Event, w want) {
	t.Helper()
	if got := ev.Src.String(); got != w.src {
		t.Errorf("%q: src %s, want %s", line, got, w.src)
	}
	if w.time != "" {
		if got := ev.Time.Format(time.RFC3339Nano); got != w.time {
			t.Errorf("%q: time %s, want %s", line, got, w.time)
		}
	}
	if ev.Time.Location() != time.UTC {
		t.Errorf("%q: time not in UTC", line)
	}
	h := ev.HTTP
	if h.Method != w.method || h.Path != w.path || h.Query != w.query || h.Proto != w.proto {
		t.Errorf("%q: request %q %q %q %q, want %q %q %q %q", line, h.Method, h.Path, h.Query, h.Proto, w.method, w.path, w.query, w.proto)
	}
	if h.Status != w.status || h.Bytes != w.bytes {
		t.Errorf("%q: status/bytes %d %d, want %d %d", line, h.Status, h.Bytes, w.status, w.bytes)
	}
	if h.Vhost != w.vhost || h.Referer != w.referer || h.UA != w.ua {
		t.Errorf("%q: vhost/referer/ua %q %q %q, want %q %q %q", line, h.Vhost, h.Referer, h.UA, w.vhost, w.referer, w.ua)
	}
	if ev.Kind != logs.KindHTTP {
		t.Errorf("%q: kind %v", line, ev.Kind)
	}
}

func TestCombined(t *testing.T) {
	tests := []struct {
		name, line string
		w          want
	}{
		{"plain", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
			want{"127.0.0.1", "2000-10-10T20:55:36Z", "GET", "/apache_pb.gif", "", "HTTP/1.0", 200, 2326, "", "http://www.example.com/start.html", "Mozilla/4.08 [en] (Win98; I ;Nav)"}},
		{"query", `198.51.100.7 - - [04/Jan/2020:07:25:02 +0000] "GET /solr/admin/info/system?wt=json&x=1 HTTP/1.1" 500 803 "-" "-"`,
			want{"198.51.100.7", "2020-01-04T07:25:02Z", "GET", "/solr/admin/info/system", "wt=json&x=1", "HTTP/1.1", 500, 803, "", "", ""}},
		{"ipv6", `2001:db8::1 - - [26/Dec/2016:16:16:29 +0200] "GET /favicon.ico HTTP/1.1" 404 209 "-" "curl/8.0"`,
			want{"2001:db8::1", "2016-12-26T14:16:29Z", "GET", "/favicon.ico", "", "HTTP/1.1", 404, 209, "", "", "curl/8.0"}},
		{"ipv6 bracketed with zone", `[fe80::1%eth0] - - [26/Dec/2016:16:16:29 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
			want{"fe80::1", "2016-12-26T16:16:29Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"v4-mapped", `::ffff:203.0.113.9 - - [26/Dec/2016:16:16:29 +0000] "GET / HTTP/1.1" 200 1`,
			want{"203.0.113.9", "2016-12-26T16:16:29Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"loopback v6", `::1 - - [26/Dec/2016:16:16:48 +0200] "-" 408 -`,
			want{"::1", "2016-12-26T14:16:48Z", "", "", "", "", 408, 0, "", "", ""}},
		{"empty request", `12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "" 400 47 "-" "-" "-"`,
			want{"12.34.56.78", "2015-01-20T18:53:28Z", "", "", "", "", 400, 47, "", "", ""}},
		{"tls junk", `203.0.113.5 - - [31/Jan/2024:02:30:41 +0500] "\x16\x03\x01\x00\xEE\x01\x00\x00\xEA\x03\x03n\xAC\x01\x7F\xF6 \x82\xCC" 400 166 "-" "-"`,
			want{"203.0.113.5", "2024-01-30T21:30:41Z", "", "", "", "", 400, 166, "", "", ""}},
		{"rdp junk", `12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "\x03\x00\x00/*\xE0\x00\x00\x00\x00\x00Cookie: mstshash=Administr" 400 47 "-" "-" "-"`,
			want{"12.34.56.78", "2015-01-20T18:53:28Z", "", "", "", "", 400, 47, "", "", ""}},
		{"single word request", `12.34.56.78 - - [20/Jan/2015:19:54:28 +0100] "HELP" 400 47 "-" "-" "-"`,
			want{"12.34.56.78", "2015-01-20T18:54:28Z", "", "", "", "", 400, 47, "", "", ""}},
		{"connect", `192.0.2.10 - root [20/Jan/2015:01:17:07 +0100] "CONNECT 203.0.113.123:443 HTTP/1.1" 400 162 "-" "-" "-"`,
			want{"192.0.2.10", "2015-01-20T00:17:07Z", "CONNECT", "203.0.113.123:443", "", "HTTP/1.1", 400, 162, "", "", ""}},
		{"escaped quote in request and agent", `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "x \"y\" z"`,
			want{"192.0.2.1", "2000-10-10T13:55:36Z", "GET", `/a\"b`, "", "HTTP/1.1", 200, 1, "", "", `x \"y\" z`}},
		{"raw quote in request", `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a"b HTTP/1.1" 200 1 "-" "ua"`,
			want{"192.0.2.1", "2000-10-10T13:55:36Z", "GET", `/a"b`, "", "HTTP/1.1", 200, 1, "", "", "ua"}},
		{"nginx extra fields", `198.51.100.1 - - [29/May/2017:19:02:48 +0000] "GET /stringpatch HTTP/1.1" 404 612 "-" "Mozilla/5.0" "203.0.113.50" 0.002 "upstream"`,
			want{"198.51.100.1", "2017-05-29T19:02:48Z", "GET", "/stringpatch", "", "HTTP/1.1", 404, 612, "", "", "Mozilla/5.0"}},
		{"traefik", `172.17.0.1 - - [08/Dec/2021:09:16:05 +0000] "GET /upload.asp?test=toto&tata=test HTTP/1.1" 200 405 "-" "-" 502 "test@docker" "http://172.17.0.3:80" 0ms`,
			want{"172.17.0.1", "2021-12-08T09:16:05Z", "GET", "/upload.asp", "test=toto&tata=test", "HTTP/1.1", 200, 405, "", "", ""}},
		{"dash status and bytes", `172.17.1.1 - - [28/Sep/2022:13:38:04 +0000] "GET /mobileadmin/home.cs HTTP/1.1" - - "-" "Nikto"`,
			want{"172.17.1.1", "2022-09-28T13:38:04Z", "GET", "/mobileadmin/home.cs", "", "HTTP/1.1", 0, 0, "", "", "Nikto"}},
		{"one dash", `192.168.1.1 - [08/Jun/2020:08:04:43 +0000] "GET /api/test HTTP/1.1" 200 100 "-" "curl/7.68.0"`,
			want{"192.168.1.1", "2020-06-08T08:04:43Z", "GET", "/api/test", "", "HTTP/1.1", 200, 100, "", "", "curl/7.68.0"}},
		{"vhost prefix", `www.example.net:443 203.0.113.4 - - [25/Oct/2021:11:05:52 +0200] "GET /web/.well-known HTTP/1.1" 403 6963 "abc.com" "UA"`,
			want{"203.0.113.4", "2021-10-25T09:05:52Z", "GET", "/web/.well-known", "", "HTTP/1.1", 403, 6963, "www.example.net", "abc.com", "UA"}},
		{"vhost without port", `www.sitename.com 192.0.2.222 - - [18/Aug/2024:21:08:39 +0100] "GET / HTTP/1.1" 403 332 "-" "Googlebot"`,
			want{"192.0.2.222", "2024-08-18T20:08:39Z", "GET", "/", "", "HTTP/1.1", 403, 332, "www.sitename.com", "", "Googlebot"}},
		{"vhost after time, no offset", `66.249.66.1 - - - [31/Jan/2015:14:29:44 ] fail2ban.org "GET / HTTP/1.1" 200 814 "-" "Googlebot" + 293 1149 546`,
			want{"66.249.66.1", "2015-01-31T13:29:44Z", "GET", "/", "", "HTTP/1.1", 200, 814, "fail2ban.org", "", "Googlebot"}},
		{"no offset", `192.0.2.12 - user1 [27/Jun/2013:11:55:44] "GET /knocking/ HTTP/1.1" 200 266 "http://domain.net/" "Mozilla"`,
			want{"192.0.2.12", "2013-06-27T10:55:44Z", "GET", "/knocking/", "", "HTTP/1.1", 200, 266, "", "http://domain.net/", "Mozilla"}},
		{"fractional seconds", `192.0.2.12 - - [27/Jun/2013:11:55:44.250 +0000] "GET / HTTP/1.1" 200 1`,
			want{"192.0.2.12", "2013-06-27T11:55:44.25Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"negative offset with minutes", `192.0.2.12 - - [27/Jun/2013:11:55:44 -0930] "GET / HTTP/1.1" 200 1`,
			want{"192.0.2.12", "2013-06-27T21:25:44Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"xff list, all private", `10.0.0.2, 10.0.0.1, 127.0.0.1 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "Firefox"`,
			want{"10.0.0.2", "2016-12-07T10:05:07Z", "GET", "/ocelot", "", "HTTP/1.1", 200, 571, "", "", "Firefox"}},
		{"xff list, first public", `10.0.0.2, 10.0.0.1, 85.181.35.98 - - [07/Dec/2016:11:05:07 +0100] "GET /ocelot HTTP/1.1" 200 571 "-" "Firefox"`,
			want{"85.181.35.98", "2016-12-07T10:05:07Z", "GET", "/ocelot", "", "HTTP/1.1", 200, 571, "", "", "Firefox"}},
		{"quoted xff then client", `"10.5.102.222, 199.96.1.1, 204.246.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /assets/xxxx?q=100 HTTP/1.1" 200 25507 "-" "Amazon CloudFront"`,
			want{"199.96.1.1", "2016-01-22T13:18:29Z", "GET", "/assets/xxxx", "q=100", "HTTP/1.1", 200, 25507, "", "", "Amazon CloudFront"}},
		{"empty quoted xff then client", `"-" 203.0.113.185 - - [22/Jan/2016:13:18:29 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
			want{"203.0.113.185", "2016-01-22T13:18:29Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", ""}},
		{"ident and user then extra", `localhost:443 198.51.100.42 1j0vhgd jsmith [26/Jul/2023:00:01:26 -0700] "GET /secure/RapidBoard.jspa?rapidView=1295 HTTP/2.0" 200 17163 "-" "Mozilla/5.0" 116075`,
			want{"198.51.100.42", "2023-07-26T07:01:26Z", "GET", "/secure/RapidBoard.jspa", "rapidView=1295", "HTTP/2.0", 200, 17163, "localhost", "", "Mozilla/5.0"}},
		{"inside syslog", `Sep 15 16:13:46 ip-172-31-43-28 nginx[2869]: 81.150.104.130 - - [15/Sep/2021:16:13:46 +0000] "POST /wp-login.php HTTP/1.1" 200 5364 "-" "Firefox/64.0"`,
			want{"81.150.104.130", "2021-09-15T16:13:46Z", "POST", "/wp-login.php", "", "HTTP/1.1", 200, 5364, "", "", "Firefox/64.0"}},
		{"crlf", "192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\"\r\n",
			want{"192.0.2.1", "2000-10-10T13:55:36Z", "GET", "/", "", "HTTP/1.1", 200, 1, "", "", "ua"}},
		{"common line", `198.51.100.9 - - [05/Mar/2021:09:01:38 +0100] "GET /test/lists/sip_30d.txt HTTP/1.0" 200 1513`,
			want{"198.51.100.9", "2021-03-05T08:01:38Z", "GET", "/test/lists/sip_30d.txt", "", "HTTP/1.0", 200, 1513, "", "", ""}},
		{"absolute uri", `198.51.100.9 - - [05/Mar/2021:09:01:38 +0100] "GET http://example.com/x?y HTTP/1.1" 200 5 "-" "-"`,
			want{"198.51.100.9", "2021-03-05T08:01:38Z", "GET", "http://example.com/x", "y", "HTTP/1.1", 200, 5, "", "", ""}},
		{"uri with space", `198.51.100.9 - - [05/Mar/2021:09:01:38 +0100] "GET /a b HTTP/1.1" 404 5 "-" "-"`,
			want{"198.51.100.9", "2021-03-05T08:01:38Z", "GET", "/a b", "", "HTTP/1.1", 404, 5, "", "", ""}},
	}
	p := parser(t, NameCombined, testOpts)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev logs.Event
			if err := p.Parse(tc.line, &ev); err != nil {
				t.Fatalf("%q: %v", tc.line, err)
			}
			check(t, tc.line, &ev, tc.w)
			if ev.Format != NameCombined {
				t.Errorf("format %q", ev.Format)
			}
		})
	}
}

func TestAccessMalformed(t *testing.T) {
	tests := []struct {
		format, line, reason string
	}{
		{NameCombined, ``, reasonEmpty},
		{NameCombined, `monitoring-server - - [29/May/2017:19:02:48 +0000] "GET /status HTTP/1.1" 200 612 "-" "ua" "-"`, reasonNoClient},
		{NameCombined, `[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties`, reasonNoTime},
		{NameCombined, `2021/12/01 13:53:33 [error] 31#31: *46 "/x" is not found (2: No such file or directory), client: 172.17.0.1, server: localhost, request: "GET /market/ HTTP/1.1", host: "localhost"`, reasonNoTime},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000]`, reasonNoRequest},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1"`, reasonNoStatus},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" OK 1`, reasonNoStatus},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 12x`, reasonBadBytes},
		{NameCombined, `192.0.2.1 - - [32/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonBadTime},
		{NameCombined, `192.0.2.1 - - [10/Foo/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonBadTime},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:25:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonBadTime},
		{NameCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000 junk] "GET / HTTP/1.1" 200 1`, reasonBadTime},
		{NameCombined, `999.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonNoClient},
		{NameCombined, `[] - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonNoClient}, // found by FuzzCustom: panicked
		{NameCommon, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"`, reasonTrailing},
		{NameVhostCombined, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"`, reasonNoVhost},
	}
	for _, tc := range tests {
		var ev logs.Event
		err := parser(t, tc.format, testOpts).Parse(tc.line, &ev)
		var pe *logs.ParseError
		if !errors.As(err, &pe) || pe.Reason != tc.reason {
			t.Errorf("%s %q: err %v, want %q", tc.format, tc.line, err, tc.reason)
		}
	}
}

func TestCommonAndVhost(t *testing.T) {
	var ev logs.Event
	line := `198.51.100.9 - - [05/Mar/2021:09:01:38 +0100] "GET /x HTTP/1.0" 200 1513`
	if err := parser(t, NameCommon, testOpts).Parse(line, &ev); err != nil {
		t.Fatal(err)
	}
	check(t, line, &ev, want{"198.51.100.9", "2021-03-05T08:01:38Z", "GET", "/x", "", "HTTP/1.0", 200, 1513, "", "", ""})
	if ev.Format != NameCommon {
		t.Errorf("format %q", ev.Format)
	}
	line = `www.crowdsec11.net:80 192.168.1.1 - - [08/Jun/2020:08:04:43 +0000] "GET /test/uppercase/extensions.JPG HTTP/1.1" 301 0 "-" "Mozilla/5.0"`
	if err := parser(t, NameVhostCombined, testOpts).Parse(line, &ev); err != nil {
		t.Fatal(err)
	}
	check(t, line, &ev, want{"192.168.1.1", "2020-06-08T08:04:43Z", "GET", "/test/uppercase/extensions.JPG", "", "HTTP/1.1", 301, 0, "www.crowdsec11.net", "", "Mozilla/5.0"})
	line = `[2001:db8::2]:8443 2001:db8::9 - - [08/Jun/2020:08:04:43 +0000] "GET / HTTP/1.1" 200 5 "-" "-"`
	if err := parser(t, NameVhostCombined, testOpts).Parse(line, &ev); err != nil {
		t.Fatal(err)
	}
	check(t, line, &ev, want{"2001:db8::9", "2020-06-08T08:04:43Z", "GET", "/", "", "HTTP/1.1", 200, 5, "2001:db8::2", "", ""})
}

// TestTimestampCache checks that the cache returns the right time for a
// repeated second and does not leak it to the next, different one.
func TestTimestampCache(t *testing.T) {
	p := parser(t, NameCombined, testOpts)
	lines := []struct{ line, time string }{
		{`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1`, "2000-10-10T20:55:36Z"},
		{`192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1`, "2000-10-10T20:55:36Z"},
		{`192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, "2000-10-10T13:55:36Z"},
		{`192.0.2.1 - - [10/Oct/2000:13:55:37 +0000] "GET / HTTP/1.1" 200 1`, "2000-10-10T13:55:37Z"},
		{`192.0.2.1 - - [10/Oct/2000:13:55:37] "GET / HTTP/1.1" 200 1`, "2000-10-10T12:55:37Z"},
	}
	for _, l := range lines {
		var ev logs.Event
		if err := p.Parse(l.line, &ev); err != nil {
			t.Fatal(err)
		}
		if got := ev.Time.Format(time.RFC3339); got != l.time {
			t.Errorf("%q: %s, want %s", l.line, got, l.time)
		}
	}
}

func TestParseAddrPort(t *testing.T) {
	tests := []struct {
		in         string
		portLikely bool
		want       string
	}{
		{"192.0.2.1", false, "192.0.2.1"},
		{"192.0.2.1:4431", false, "192.0.2.1"},
		{"::1:53844", true, "::1"},
		{"2001:db8::1:8080", true, "2001:db8::1"},
		{"2001:db8::1", false, "2001:db8::1"},
		{"2001:db8::1", true, "2001:db8::1"},
		{"[2001:db8::1]:443", false, "2001:db8::1"},
		{"host.example:80", false, "invalid IP"},
	}
	for _, tc := range tests {
		a, _ := parseAddrPort(tc.in, tc.portLikely)
		if a.String() != tc.want {
			t.Errorf("parseAddrPort(%q, %v) = %s, want %s", tc.in, tc.portLikely, a, tc.want)
		}
	}
	if _, ok := parseAddr("fe80::1%eth0"); !ok {
		t.Error("zone not stripped")
	}
	if a, _ := parseAddr("::ffff:192.0.2.1"); a != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("mapped address not unmapped: %s", a)
	}
}
