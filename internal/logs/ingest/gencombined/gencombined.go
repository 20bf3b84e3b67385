// Package gencombined writes a synthetic Apache/nginx combined access log
// for benchmarks: deterministic for a seed, a realistic mix of methods,
// paths, statuses and agents, about 150 bytes a line and one client in ten
// over IPv6. Addresses come only from the documentation ranges.
package gencombined

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

var (
	methods = []string{"GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "HEAD", "PUT"}
	paths   = []string{"/", "/index.html", "/shop/cart", "/shop/item/1234", "/wp-login.php", "/xmlrpc.php",
		"/static/css/site.css", "/static/js/app.js", "/images/logo.png", "/api/v1/orders", "/search",
		"/.env", "/admin/", "/favicon.ico", "/robots.txt", "/blog/2024/05/a-long-article-title"}
	queries  = []string{"", "", "", "", "q=shoes", "page=2", "id=42&sort=asc", "s=%27%20OR%201%3D1--"}
	statuses = []int{200, 200, 200, 200, 200, 200, 304, 301, 404, 404, 403, 500, 429}
	agents   = []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
		"curl/8.5.0", "python-requests/2.31.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "-"}
	referers = []string{"-", "-", "-", "https://www.example.com/", "https://shop.example.org/cart"}
	v4       = []string{"192.0.2.", "198.51.100.", "203.0.113."}
)

// Write writes n lines to w, starting at start and a few hundred
// milliseconds apart.
func Write(w io.Writer, n int, seed uint64, start time.Time) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	t := start.UTC()
	var b []byte
	for i := 0; i < n; i++ {
		b = b[:0]
		if r.IntN(10) == 0 {
			b = append(b, "2001:db8:"...)
			b = strconv.AppendInt(b, int64(r.IntN(0xffff)), 16)
			b = append(b, "::"...)
			b = strconv.AppendInt(b, int64(1+r.IntN(0xfff)), 16)
		} else {
			b = append(b, v4[r.IntN(len(v4))]...)
			b = strconv.AppendInt(b, int64(1+r.IntN(254)), 10)
		}
		b = append(b, " - - ["...)
		b = t.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
		b = append(b, "] \""...)
		b = append(b, methods[r.IntN(len(methods))]...)
		b = append(b, ' ')
		b = append(b, paths[r.IntN(len(paths))]...)
		if q := queries[r.IntN(len(queries))]; q != "" {
			b = append(b, '?')
			b = append(b, q...)
		}
		b = append(b, " HTTP/1.1\" "...)
		status := statuses[r.IntN(len(statuses))]
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
		if status == 304 {
			b = append(b, '-')
		} else {
			b = strconv.AppendInt(b, int64(r.IntN(60000)), 10)
		}
		b = append(b, " \""...)
		b = append(b, referers[r.IntN(len(referers))]...)
		b = append(b, "\" \""...)
		b = append(b, agents[r.IntN(len(agents))]...)
		b = append(b, "\"\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
		t = t.Add(time.Duration(r.IntN(400)) * time.Millisecond)
	}
	return bw.Flush()
}
