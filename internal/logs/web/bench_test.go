package web

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// genCombined makes n combined lines like a busy site's: several requests
// per second, about 10% IPv6 clients, a few bots and junk requests.
func genCombined(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/", "/index.php", "/wp-login.php", "/assets/app.js", "/assets/site.css", "/images/logo.png",
		"/api/v1/items?page=2&sort=desc", "/search?q=shoes", "/product/12345", "/cart", "/.env", "/favicon.ico"}
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"curl/8.5.0", "-",
	}
	refs := []string{"-", "https://www.example.com/", "https://www.google.com/search?q=example"}
	methods := []string{"GET", "GET", "GET", "GET", "POST", "HEAD"}
	statuses := []int{200, 200, 200, 304, 404, 301, 403, 500}
	t := time.Date(2024, 2, 2, 0, 0, 0, 0, time.FixedZone("", 5*3600))
	lines := make([]string, n)
	for i := range lines {
		if r.IntN(4) == 0 {
			t = t.Add(time.Second)
		}
		var client string
		if r.IntN(10) == 0 {
			client = fmt.Sprintf("2001:db8:%x::%x", r.IntN(65536), r.IntN(65536))
		} else {
			client = fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		}
		req := fmt.Sprintf("%s %s HTTP/1.1", methods[r.IntN(len(methods))], paths[r.IntN(len(paths))])
		if r.IntN(200) == 0 {
			req = `\x16\x03\x01\x00\xEE\x01\x00\x00\xEA\x03\x03n\xAC`
		}
		lines[i] = fmt.Sprintf(`%s - - [%s] "%s" %d %d "%s" "%s"`, client, t.Format("02/Jan/2006:15:04:05 -0700"),
			req, statuses[r.IntN(len(statuses))], r.IntN(200000), refs[r.IntN(len(refs))], uas[r.IntN(len(uas))])
	}
	return lines
}

func benchLines(b *testing.B, p logs.Parser, lines []string) {
	total := 0
	for _, l := range lines {
		total += len(l) + 1
	}
	// SetBytes is per op and an op is one line: use the mean line length.
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	var ev logs.Event
	bad := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p.Parse(lines[i%len(lines)], &ev) != nil {
			bad++
		}
	}
	b.StopTimer()
	if bad > b.N/100 {
		b.Fatalf("%d of %d lines malformed", bad, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkCombined is the figure the README quotes: one core parsing a
// generated combined log.
func BenchmarkCombined(b *testing.B) {
	benchLines(b, parser(b, NameCombined, logs.Options{Location: time.UTC}), genCombined(100000))
}

// BenchmarkCombinedUncached defeats the timestamp cache: every line has a
// different second.
func BenchmarkCombinedUncached(b *testing.B) {
	lines := genCombined(100000)
	for i := range lines {
		// rewrite the seconds so consecutive lines differ
		k := strings.IndexByte(lines[i], '[') + 19
		lines[i] = lines[i][:k] + fmt.Sprintf("%02d", i%60) + lines[i][k+2:]
	}
	benchLines(b, parser(b, NameCombined, logs.Options{Location: time.UTC}), lines)
}

// BenchmarkCustom runs nginx's default format through the custom compiler.
func BenchmarkCustom(b *testing.B) {
	o := logs.Options{Location: time.UTC, LogFormat: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`}
	benchLines(b, parser(b, NameCustom, o), genCombined(100000))
}

func BenchmarkApacheError(b *testing.B) {
	lines := []string{
		`[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] [pid 10691] [client 192.0.2.178:44271] AH01630: client denied by server configuration: /var/www/html/noentry/cant_get_me.html`,
		`[Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17512:tid 140123053950720] [client 2001:db8::1:51390] AH01617: user username: authentication failure for "/basic/file": Password Mismatch`,
		`[Mon Dec 23 21:21:39 2013] [error] [client 198.51.100.49] File does not exist: /var/www/extmail, referer: http://www.example.com`,
		`[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties`,
	}
	benchLines(b, parser(b, NameApacheError, logs.Options{Location: time.UTC}), lines)
}

func BenchmarkNginxError(b *testing.B) {
	lines := []string{
		`2012/04/09 11:53:29 [error] 2865#0: *66647 user "xyz" was not found in "/var/www/.htpasswd", client: 192.0.2.10, server: www.example.com, request: "GET / HTTP/1.1", host: "www.example.com"`,
		`2015/10/29 20:01:02 [error] 256554#0: *99927 limiting requests, excess: 1.852 by zone "one", client: 2001:db8::4, server: example.com, request: "POST /index.htm HTTP/1.0", host: "example.com"`,
		`2015/01/21 10:56:10 [error] 2833#0: *16336 open() "/var/www/site/cgi-bin/php4" failed (2: No such file or directory), client: 198.51.100.2, server: localhost, request: "GET /cgi-bin/php4 HTTP/1.1", host: "203.0.113.4"`,
	}
	benchLines(b, parser(b, NameNginxError, logs.Options{Location: time.UTC}), lines)
}

// TestLinearTime feeds lines built to make a backtracking parser blow up:
// thousands of quotes, brackets, backslashes and separators. Each must be
// parsed in time proportional to its length; the check compares a long
// line with one 16 times shorter, allowing a generous factor for noise.
func TestLinearTime(t *testing.T) {
	o := testOpts
	o.LogFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
	shapes := []func(n int) string{
		func(n int) string {
			return `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "` + strings.Repeat(`a" `, n) + `x`
		},
		func(n int) string {
			return `192.0.2.1 - - [10/Oct/2000:13:55:36 +0000] "` + strings.Repeat(`\"`, n) + `" 200 1 "` + strings.Repeat(`\\"`, n)
		},
		func(n int) string { return strings.Repeat("[", n) + strings.Repeat("1 ", n) },
		func(n int) string { return strings.Repeat("1.2.3.4, ", n) + "- - [" },
		func(n int) string {
			return "2024/01/02 03:04:05 [error] 1#1: *1 " + strings.Repeat(", client: x", n) + `, client: 192.0.2.1, request: "` + strings.Repeat(`", host: "`, n)
		},
		func(n int) string {
			return "[Thu Jul 11 01:21:43 2013] [error] " + strings.Repeat("[pid 1] ", n) + strings.Repeat(", referer: ", n)
		},
		func(n int) string { return strings.Repeat(`"`, n) },
	}
	names := []string{NameCombined, NameCommon, NameVhostCombined, NameCustom, NameApacheError, NameNginxError}
	for si, shape := range shapes {
		for _, name := range names {
			p := parser(t, name, o)
			short, long := shape(500), shape(8000)
			ts := timeParse(p, short)
			tl := timeParse(p, long)
			// 16x the input: linear is ~16x, quadratic ~256x.
			if tl > 64*ts && tl > 2*time.Millisecond {
				t.Errorf("shape %d, %s: %v for %d bytes vs %v for %d bytes: superlinear", si, name, tl, len(long), ts, len(short))
			}
		}
	}
}

func timeParse(p logs.Parser, line string) time.Duration {
	var ev logs.Event
	best := time.Duration(1 << 62)
	for r := 0; r < 5; r++ {
		start := time.Now()
		for i := 0; i < 20; i++ {
			_ = p.Parse(line, &ev)
		}
		if d := time.Since(start); d < best {
			best = d
		}
	}
	return best
}

// BenchmarkCombinedElastic parses the 10,000 real Apache lines of the
// elastic-examples fixture (Apache-2.0), the clean-licence real benchmark.
func BenchmarkCombinedElastic(b *testing.B) {
	path := testkit.Fixture(b, "elastic-examples/common-data-formats/apache_logs/apache_logs")
	benchLines(b, parser(b, NameCombined, logs.Options{Location: time.UTC}), readLines(b, path))
}

// TestNoAllocs: parsing allocates nothing per line (the strings of an Event
// are pieces of the line). Allocation counts are deterministic, unlike
// timings, so this is a test and not only a benchmark.
func TestNoAllocs(t *testing.T) {
	o := testOpts
	o.LogFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
	cases := map[string][]string{
		NameCombined:    genCombined(50),
		NameCustom:      genCombined(50),
		NameApacheError: {fuzzSeeds[9], fuzzSeeds[10], fuzzSeeds[11], fuzzSeeds[12]},
		NameNginxError:  {fuzzSeeds[13], fuzzSeeds[14], fuzzSeeds[15]},
	}
	for name, lines := range cases {
		p := parser(t, name, o)
		var ev logs.Event
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			if err := p.Parse(lines[i%len(lines)], &ev); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per line", name, allocs)
		}
	}
}
