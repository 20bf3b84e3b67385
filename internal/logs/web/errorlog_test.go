package web

import (
	"errors"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

type wantErr struct {
	src, time, action, level, module, message string
	method, path                              string
	vhost, referer                            string
}

func checkErr(t *testing.T, line string, ev *logs.Event, w wantErr) {
	t.Helper()
	got := ev.Src.String()
	if !ev.Src.IsValid() {
		got = ""
	}
	if got != w.src {
		t.Errorf("%q: src %q, want %q", line, got, w.src)
	}
	if w.time != "" && ev.Time.Format(time.RFC3339Nano) != w.time {
		t.Errorf("%q: time %s, want %s", line, ev.Time.Format(time.RFC3339Nano), w.time)
	}
	h := ev.HTTP
	if h.Action != w.action || h.Level != w.level || h.Module != w.module {
		t.Errorf("%q: action/level/module %q %q %q, want %q %q %q", line, h.Action, h.Level, h.Module, w.action, w.level, w.module)
	}
	if w.message != "" && h.Message != w.message {
		t.Errorf("%q: message %q, want %q", line, h.Message, w.message)
	}
	if h.Method != w.method || h.Path != w.path || h.Vhost != w.vhost || h.Referer != w.referer {
		t.Errorf("%q: method/path/vhost/referer %q %q %q %q, want %q %q %q %q", line, h.Method, h.Path, h.Vhost, h.Referer, w.method, w.path, w.vhost, w.referer)
	}
	if ev.Kind != logs.KindHTTP || h.Status != 0 {
		t.Errorf("%q: kind %v status %d", line, ev.Kind, h.Status)
	}
}

func TestApacheError(t *testing.T) {
	tests := []struct {
		name, line string
		w          wantErr
	}{
		{"2.2 user not found", `[Thu Jul 11 01:21:43 2013] [error] [client 194.228.20.113] user dsfasdf not found: /`,
			wantErr{src: "194.228.20.113", time: "2013-07-11T00:21:43Z", action: logs.WebAuthFail, level: "error", message: "user dsfasdf not found: /"}},
		{"2.2 denied", `[Wed Jul 17 23:20:45 2013] [error] [client 127.0.0.1] client denied by server configuration: /var/www/html/noentry/cant_get_me.html`,
			wantErr{src: "127.0.0.1", action: logs.WebDenied, level: "error"}},
		{"2.4 AH01630 denied", `[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] [pid 10691] [client 192.3.9.178:44271] AH01630: client denied by server configuration: /var/www/html/noentry/cant_get_me.html`,
			wantErr{src: "192.3.9.178", time: "2014-09-14T20:44:43.008606Z", action: logs.WebDenied, level: "error", module: "authz_core", message: "AH01630: client denied by server configuration: /var/www/html/noentry/cant_get_me.html"}},
		{"2.4 AH01797 access_compat denied", `[Sun Sep 14 21:44:43 2014] [access_compat:error] [pid 10691] [client 192.0.2.8:44271] AH01797: client denied by server configuration: /var/www/html/x`,
			wantErr{src: "192.0.2.8", action: logs.WebDenied, level: "error", module: "access_compat"}},
		{"2.4 AH01618 empty user", `[Sat Jul 20 21:37:32.266605 2013] [auth_basic:error] [pid 17512:tid 140123079128832] [client 127.0.0.1:51386] AH01618: user  not found: /basic/file/cant_get_me.html`,
			wantErr{src: "127.0.0.1", action: logs.WebAuthFail, level: "error", module: "auth_basic"}},
		{"2.4 AH01617 mismatch", `[Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17512:tid 140123053950720] [client 127.0.0.1:51390] AH01617: user username: authentication failure for "/basic/file": Password Mismatch`,
			wantErr{src: "127.0.0.1", action: logs.WebAuthFail, level: "error", module: "auth_basic"}},
		{"2.2 authentication failure", `[Thu Jul 11 01:21:43 2013] [error] [client 192.0.2.77] user admin: authentication failure for "/admin": Password Mismatch`,
			wantErr{src: "192.0.2.77", action: logs.WebAuthFail, level: "error"}},
		{"digest mismatch", `[Sat Jul 20 21:44:06.867985 2013] [auth_digest:error] [pid 17540:tid 140123070736128] [client 127.0.0.1:51406] AH01792: user username: password mismatch: /digest/cant_get_me.html`,
			wantErr{src: "127.0.0.1", action: logs.WebAuthFail, level: "error", module: "auth_digest"}},
		{"file does not exist with referer", `[Mon Dec 23 21:21:39 2013] [error] [client 183.60.244.49] File does not exist: /var/www/extmail, referer: http://www.baidu.com`,
			wantErr{src: "183.60.244.49", action: logs.WebNotFound, level: "error", referer: "http://www.baidu.com", message: "File does not exist: /var/www/extmail"}},
		{"AH00128", `[Tue Mar 11 08:56:20.913548 2018] [core:info] [pid 742:tid 140142593419008] [client 2001:db8::7:50900] AH00128: File does not exist: /var/www/html/wp-login.php`,
			wantErr{src: "2001:db8::7", action: logs.WebNotFound, level: "info", module: "core"}},
		{"DoS vector is a not-found, not an auth failure", `[Sat Jun 01 02:17:42 2013] [error] [client 192.168.33.1] File does not exist: /srv/http/site/[client 192.168.0.1] user root not found`,
			wantErr{src: "192.168.33.1", action: logs.WebNotFound, level: "error"}},
		{"modsecurity", `[Sat Sep 28 09:18:06 2018] [error] [client 192.0.2.1:55555] [client 192.0.2.1] ModSecurity: [file "/etc/httpd/modsecurity.d/10_asl_rules.conf"] [id "340069"] Access denied with code 403 (phase 2). [uri "/w00tw00t"]`,
			wantErr{src: "192.0.2.1", action: logs.WebModSec, level: "error"}},
		{"modsecurity warning", `[Sat Sep 28 09:18:06 2018] [error] [client 192.0.2.1] ModSecurity: Warning. Pattern match "x" at ARGS.`,
			wantErr{src: "192.0.2.1", action: logs.WebError, level: "error"}},
		{"no client", `[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties`,
			wantErr{src: "", time: "2005-12-04T03:47:44Z", action: logs.WebError, level: "notice", message: "workerEnv.init() ok /etc/httpd/conf/workers2.properties"}},
		{"apr error before client", `[Wed Apr 16 16:09:40.056610 2025] [ssl:info] [pid 120974:tid 120974] (70014)End of file found: [client 192.168.1.1:17036] AH02006: SSL handshake stopped: connection was closed`,
			wantErr{src: "192.168.1.1", action: logs.WebError, level: "info", module: "ssl", message: "AH02006: SSL handshake stopped: connection was closed"}},
		{"syslog", `Feb 15 16:23:40 srv httpd/backend1[22034]: [authz_core:error] [pid 22036] [client 192.0.2.2:59392] AH01630: client denied by server configuration: /home/backend1/`,
			wantErr{src: "192.0.2.2", time: "2025-02-15T15:23:40Z", action: logs.WebDenied, level: "error", module: "authz_core"}},
		{"syslog 2.2", `Feb 16 22:32:48 srv httpd[22034]: [error] [client 127.0.0.1] user wrongusername not found: /basic/file`,
			wantErr{src: "127.0.0.1", time: "2025-02-16T21:32:48Z", action: logs.WebAuthFail, level: "error"}},
		{"syslog year turn", `Dec 31 23:59:59 srv httpd[1]: [error] [client 127.0.0.1] File does not exist: /x`,
			wantErr{src: "127.0.0.1", time: "2024-12-31T22:59:59Z", action: logs.WebNotFound, level: "error"}},
	}
	p := parser(t, NameApacheError, testOpts)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev logs.Event
			if err := p.Parse(tc.line, &ev); err != nil {
				t.Fatalf("%q: %v", tc.line, err)
			}
			checkErr(t, tc.line, &ev, tc.w)
		})
	}
}

func TestNginxError(t *testing.T) {
	tests := []struct {
		name, line string
		w          wantErr
	}{
		{"user not found", `2012/04/09 11:53:29 [error] 2865#0: *66647 user "xyz" was not found in "/var/www/.htpasswd", client: 192.0.43.10, server: www.myhost.com, request: "GET / HTTP/1.1", host: "www.myhost.com"`,
			wantErr{src: "192.0.43.10", time: "2012-04-09T10:53:29Z", action: logs.WebAuthFail, level: "error", message: `user "xyz" was not found in "/var/www/.htpasswd"`, method: "GET", path: "/", vhost: "www.myhost.com"}},
		{"password mismatch, empty server", `2014/04/03 22:20:38 [error] 30708#0: *3 user "scriben dio": password mismatch, client: 192.0.2.1, server: , request: "GET / HTTP/1.1", host: "localhost:8443"`,
			wantErr{src: "192.0.2.1", action: logs.WebAuthFail, level: "error", method: "GET", path: "/", vhost: "localhost"}},
		{"no user/password", `2014/04/03 22:20:38 [error] 30708#0: *3 no user/password was provided for basic authentication, client: 192.0.2.3, server: x, request: "GET /admin HTTP/1.1", host: "x"`,
			wantErr{src: "192.0.2.3", action: logs.WebAuthFail, level: "error", method: "GET", path: "/admin", vhost: "x"}},
		{"limit_req ipv6", `2021/12/02 11:53:15 [error] 4065777#4065777: *42952950 limiting requests, excess: 5.428 by zone "default_root_zone", client: ::1, server: , request: "GET / HTTP/1.1", host: "la03.d.sb"`,
			wantErr{src: "::1", action: logs.WebRateLimit, level: "error", method: "GET", path: "/", vhost: "la03.d.sb"}},
		{"forbidden with referrer", `2018/09/14 19:03:05 [error] 2035#2035: *9134 access forbidden by rule, client: 12.34.56.78, server: www.example.net, request: "GET /wp-content/x.php?a=1 HTTP/1.1", host: "www.example.net", referrer: "http://example.net/foo.php"`,
			wantErr{src: "12.34.56.78", action: logs.WebDenied, level: "error", method: "GET", path: "/wp-content/x.php", vhost: "www.example.net", referer: "http://example.net/foo.php"}},
		{"open failed", `2015/01/21 10:56:10 [error] 2833#0: *16336 open() "/var/www/site/cgi-bin/php4" failed (2: No such file or directory), client: 5.7.9.2, server: localhost, request: "GET /cgi-bin/php4 HTTP/1.1", host: "1.2.3.4"`,
			wantErr{src: "5.7.9.2", action: logs.WebNotFound, level: "error", method: "GET", path: "/cgi-bin/php4", vhost: "1.2.3.4"}},
		{"index not found", `2021/12/01 13:53:33 [error] 31#31: *46 "/usr/share/nginx/html/market/index.html" is not found (2: No such file or directory), client: 172.17.0.1, server: localhost, request: "GET /market/ HTTP/1.1", host: "localhost"`,
			wantErr{src: "172.17.0.1", action: logs.WebNotFound, level: "error", method: "GET", path: "/market/", vhost: "localhost"}},
		{"journal prefix", `host nginx[983479]: 2023/12/09 21:35:20 [notice] 983479#983479: *22174 limiting requests, excess: 1.495 by zone "one", client: 192.0.2.2, server: example.com, request: "GET /index.htm HTTP/1.1", host: "example.com", referrer: "https://example.com"`,
			wantErr{src: "192.0.2.2", action: logs.WebRateLimit, level: "notice", method: "GET", path: "/index.htm", vhost: "example.com", referer: "https://example.com"}},
		{"no client", `2024/01/02 03:04:05 [notice] 1#1: signal process started`,
			wantErr{src: "", time: "2024-01-02T02:04:05Z", action: logs.WebError, level: "notice", message: "signal process started"}},
		{"ssl handshake, no request", `2020/11/25 15:47:47 [crit] 76952#76952: *5062354 SSL_do_handshake() failed (SSL: error:1408F0A0:SSL routines:ssl3_get_record:length too short) while SSL handshaking, client: 80.191.166.166, server: 0.0.0.0:443`,
			wantErr{src: "80.191.166.166", action: logs.WebError, level: "crit", vhost: "0.0.0.0"}},
		{"message imitating the context", `2024/01/02 03:04:05 [error] 7#7: *1 open() "/srv/a, client: x" failed (2: No such file or directory), client: 198.51.100.3, server: s, request: "GET /a,%20client:%20x HTTP/1.1", host: "h"`,
			wantErr{src: "198.51.100.3", action: logs.WebNotFound, level: "error", method: "GET", path: "/a,%20client:%20x", vhost: "h"}},
		{"request with quotes", `2024/01/02 03:04:05 [error] 7#7: *1 access forbidden by rule, client: 198.51.100.3, server: s, request: "GET /"x" HTTP/1.1", host: "h"`,
			wantErr{src: "198.51.100.3", action: logs.WebDenied, level: "error", method: "GET", path: `/"x"`, vhost: "h"}},
		{"upstream", `2020/11/25 16:02:45 [error] 76952#76952: *5645766 connect() failed (111: Connection refused) while connecting to upstream, client: 5.126.32.148, server: www.google.de, request: "GET /admin/config HTTP/2.0", upstream: "http://127.0.0.1:3000/admin/config", host: "www.google.de"`,
			wantErr{src: "5.126.32.148", action: logs.WebError, level: "error", method: "GET", path: "/admin/config", vhost: "www.google.de"}},
	}
	p := parser(t, NameNginxError, testOpts)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev logs.Event
			if err := p.Parse(tc.line, &ev); err != nil {
				t.Fatalf("%q: %v", tc.line, err)
			}
			checkErr(t, tc.line, &ev, tc.w)
		})
	}
}

func TestErrorLogMalformed(t *testing.T) {
	tests := []struct {
		format, line, reason string
	}{
		{NameApacheError, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonNoTime},
		{NameApacheError, `[Thu Jul 11 01:21:43 2013] hello`, reasonNoLevel},
		{NameApacheError, `[Thu Jul 11 01:21:43 2013] [bogus] [client 192.0.2.1] x`, reasonNoLevel},
		{NameApacheError, `[Thu Jul 41 01:21:43 2013] [error] x`, reasonBadTime},
		{NameApacheError, `[Thu Jul 11 01:21:43 2013] [error] [client www.example.com] x`, reasonBadClient},
		{NameApacheError, `2024/01/02 03:04:05 [error] 1#1: x`, reasonNoTime},
		{NameNginxError, `[Thu Jul 11 01:21:43 2013] [error] [client 192.0.2.1] x`, reasonNoTime},
		{NameNginxError, `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1`, reasonNoTime},
		{NameNginxError, `2024/01/02 03:04:05 hello`, reasonNoLevel},
		{NameNginxError, `2024/13/02 03:04:05 [error] 1#1: x`, reasonBadTime},
		{NameNginxError, ``, reasonEmpty},
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
