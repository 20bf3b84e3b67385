package loggen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// Addrs draws plausible public client addresses: IPv4 from a fixed set of
// provider /16s (so prefixes and ASes repeat as they do in real logs) and
// IPv6 from provider /32s with per-customer /48s and /64s.
type Addrs struct {
	rng   *rand.Rand
	v4    [][2]byte
	v6    [][2]uint16
	share float64
}

// NewAddrs returns a source of addresses; v6Share of them are IPv6.
func NewAddrs(rng *rand.Rand, v6Share float64) *Addrs {
	a := &Addrs{rng: rng, share: v6Share}
	for len(a.v4) < 400 {
		b0 := byte(1 + rng.IntN(222))
		b1 := byte(rng.IntN(256))
		if reserved4(b0, b1) {
			continue
		}
		a.v4 = append(a.v4, [2]byte{b0, b1})
	}
	for range 120 {
		a.v6 = append(a.v6, [2]uint16{0x2a00 + uint16(rng.IntN(0x10)), uint16(rng.IntN(0x10000))})
	}
	return a
}

func reserved4(b0, b1 byte) bool {
	switch {
	case b0 == 0, b0 == 10, b0 == 127, b0 >= 224:
		return true
	case b0 == 100 && b1 >= 64 && b1 < 128:
		return true
	case b0 == 169 && b1 == 254, b0 == 172 && b1 >= 16 && b1 < 32, b0 == 192 && b1 == 168:
		return true
	case b0 == 192 && b1 == 0, b0 == 198 && (b1 == 18 || b1 == 19 || b1 == 51), b0 == 203 && b1 == 0:
		return true
	}
	return false
}

// Next returns a new random address.
func (a *Addrs) Next() netip.Addr {
	if a.rng.Float64() < a.share {
		p := a.v6[a.rng.IntN(len(a.v6))]
		var b [16]byte
		b[0], b[1], b[2], b[3] = byte(p[0]>>8), byte(p[0]), byte(p[1]>>8), byte(p[1])
		b[4], b[5] = byte(a.rng.IntN(64)), byte(a.rng.IntN(256))
		b[7] = byte(a.rng.IntN(16))
		for i := 8; i < 16; i++ {
			b[i] = byte(a.rng.IntN(256))
		}
		return netip.AddrFrom16(b)
	}
	p := a.v4[a.rng.IntN(len(a.v4))]
	return netip.AddrFrom4([4]byte{p[0], p[1], byte(a.rng.IntN(256)), byte(1 + a.rng.IntN(254))})
}

// In returns n addresses packed into few /24s, as one hosting network's
// machines would be.
func (a *Addrs) In(n, perNet int) []netip.Addr {
	var out []netip.Addr
	for len(out) < n {
		p := a.v4[a.rng.IntN(len(a.v4))]
		c := byte(a.rng.IntN(256))
		for i := 0; i < perNet && len(out) < n; i++ {
			out = append(out, netip.AddrFrom4([4]byte{p[0], p[1], c, byte(2 + i)}))
		}
	}
	return out
}

var browsers = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
}

// apps are the shop's mobile apps and monitors: short user agents, API calls.
var apps = []string{
	"ShopApp/4.2.1 (iOS 17.5)", "ShopApp/4.2.0 (Android 14)", "ShopApp/4.1.9 (Android 13)", "okhttp/4.12.0",
	"UptimeRobot/2.0", "Dalvik/2.1.0 (Linux; U; Android 14)",
}

var crawlers = []string{
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
}

var categories = []string{"shoes", "shirts", "jackets", "bags", "hats", "sale", "new", "kids"}

var assets = []struct {
	path string
	size int64
}{
	{"/static/css/main.3f2a9c.css", 48213}, {"/static/js/app.91bc04.js", 183422}, {"/static/js/vendor.5d1e77.js", 402118},
	{"/static/img/logo.svg", 5120}, {"/favicon.ico", 1150}, {"/static/fonts/inter-var.woff2", 97320},
	{"/static/img/hero-summer.jpg", 312004}, {"/static/img/icons.svg", 14022},
}

// client is one benign visitor: an address, a browser, a place on the site.
type client struct {
	ip      netip.Addr
	ua      string
	page    string
	pending int
	app     bool
}

// Web generates a shop's benign traffic: visitors (Zipf-distributed
// activity, ~10 % IPv6) browsing pages and loading their assets.
type Web struct {
	rng     *rand.Rand
	Addrs   *Addrs
	clients []client
	zipf    *rand.Zipf
	Vhost   string
}

// NewWeb returns a benign traffic generator with n distinct visitors.
func NewWeb(seed uint64, n int, v6Share float64) *Web {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	w := &Web{rng: rng, Addrs: NewAddrs(rng, v6Share), Vhost: "shop.example"}
	for range n {
		c := client{ip: w.Addrs.Next(), ua: browsers[rng.IntN(len(browsers))]}
		switch x := rng.IntN(100); {
		case x < 2:
			c.ua = crawlers[rng.IntN(len(crawlers))]
		case x < 62:
			c.ua, c.app = apps[rng.IntN(len(apps))], true
		}
		w.clients = append(w.clients, c)
	}
	w.zipf = rand.NewZipf(rng, 1.1, 4, uint64(n-1))
	return w
}

// Benign returns the next benign request at time t.
func (w *Web) Benign(t time.Time) HTTP {
	c := &w.clients[w.zipf.Uint64()]
	r := HTTP{Time: t, Src: c.ip, Method: "GET", Proto: "HTTP/1.1", UA: c.ua, Vhost: w.Vhost}
	if c.app {
		return w.api(r)
	}
	if c.pending > 0 && c.page != "" {
		c.pending--
		as := assets[w.rng.IntN(len(assets))]
		r.Path = as.path
		if w.rng.IntN(3) == 0 {
			r.Referer = "https://" + w.Vhost + c.page
		}
		if w.rng.IntN(100) < 30 {
			r.Status = 304
		} else {
			r.Status, r.Bytes = 200, as.size
		}
		return r
	}
	r.Path = w.page()
	if c.page != "" && w.rng.IntN(2) == 0 {
		r.Referer = "https://" + w.Vhost + c.page
	} else if c.page == "" && w.rng.IntN(3) == 0 {
		r.Referer = "https://www.google.com/"
	}
	c.page = r.Path
	c.pending = 2 + w.rng.IntN(7)
	r.Status, r.Bytes = 200, 8000+int64(w.rng.IntN(52000))
	switch x := w.rng.IntN(1000); {
	case x < 15:
		r.Status, r.Bytes = 404, 3120
		c.pending = 0
	case x < 18:
		r.Status, r.Bytes = 500, 612
		c.pending = 0
	case x < 40:
		r.Status, r.Bytes = 301, 0
		c.pending = 0
	}
	if r.Path == "/cart/add" || r.Path == "/checkout" {
		r.Method = "POST"
		if r.Status == 200 {
			r.Status, r.Bytes = 302, 0
		}
		c.pending = 0
	}
	return r
}

// api is a mobile app's call: JSON from the API, no referer.
func (w *Web) api(r HTTP) HTTP {
	r.Proto = "HTTP/2.0"
	r.Status, r.Bytes = 200, 600+int64(w.rng.IntN(9000))
	switch x := w.rng.IntN(100); {
	case x < 40:
		r.Path = "/api/v2/products?page=" + strconv.Itoa(1+w.rng.IntN(20))
	case x < 60:
		r.Path = "/api/v2/product/" + strconv.Itoa(1000+int(w.rng.ExpFloat64()*120)%900)
	case x < 75:
		r.Path = "/api/v2/cart"
	case x < 80:
		r.Method, r.Path, r.Status, r.Bytes = "POST", "/api/v2/cart/items", 201, 220
	case x < 85:
		r.Path, r.Status, r.Bytes = "/api/v2/session", 401, 64
	case x < 92:
		r.Path = "/img/p/" + strconv.Itoa(1000+w.rng.IntN(900)) + "_m.webp"
		r.Bytes = 20000 + int64(w.rng.IntN(60000))
	default:
		r.Path = "/api/v2/config"
		if w.rng.IntN(2) == 0 {
			r.Status, r.Bytes = 304, 0
		}
	}
	return r
}

// page picks a page with a shop's usual popularity.
func (w *Web) page() string {
	switch x := w.rng.IntN(100); {
	case x < 18:
		return "/"
	case x < 40:
		return "/product/" + strconv.Itoa(1000+int(w.rng.ExpFloat64()*120)%900)
	case x < 55:
		return "/category/" + categories[w.rng.IntN(len(categories))]
	case x < 62:
		return "/search?q=" + categories[w.rng.IntN(len(categories))] + "&page=" + strconv.Itoa(1+w.rng.IntN(3))
	case x < 68:
		return "/cart"
	case x < 71:
		return "/cart/add"
	case x < 73:
		return "/checkout"
	case x < 85:
		return "/blog/" + strconv.Itoa(2020+w.rng.IntN(6)) + "/post-" + strconv.Itoa(w.rng.IntN(80))
	case x < 90:
		return "/about"
	case x < 94:
		return "/contact"
	case x < 97:
		return "/account/login"
	}
	return "/products?sort=price&page=" + strconv.Itoa(1+w.rng.IntN(9))
}

// PageFlood is a botnet of many addresses hammering the same few heavy
// pages with one user agent (the "accidental DoS" of worm-infected PCs).
type PageFlood struct {
	rng   *rand.Rand
	IPs   []netip.Addr
	Pages []string
	UA    string
	Vhost string
}

// NewPageFlood returns a botnet of bots addresses.
func (w *Web) NewPageFlood(bots int) *PageFlood {
	f := &PageFlood{rng: w.rng, Pages: []string{"/static/img/hero-summer.jpg", "/product/1337"},
		UA: "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", Vhost: w.Vhost}
	for range bots {
		f.IPs = append(f.IPs, w.Addrs.Next())
	}
	return f
}

// Next returns the next bot request.
func (f *PageFlood) Next(t time.Time) HTTP {
	p := f.Pages[f.rng.IntN(len(f.Pages))]
	return HTTP{Time: t, Src: f.IPs[f.rng.IntN(len(f.IPs))], Method: "GET", Path: p, Proto: "HTTP/1.1",
		Status: 200, Bytes: 312004, UA: f.UA, Vhost: f.Vhost}
}

// SingleFlood is one address requesting pages as fast as it can.
type SingleFlood struct {
	w  *Web
	IP netip.Addr
}

// NewSingleFlood returns a flood from one new address.
func (w *Web) NewSingleFlood() *SingleFlood { return &SingleFlood{w: w, IP: w.Addrs.Next()} }

// Next returns the next request of the flood.
func (f *SingleFlood) Next(t time.Time) HTTP {
	return HTTP{Time: t, Src: f.IP, Method: "GET", Path: f.w.page(), Proto: "HTTP/1.1", Status: 200,
		Bytes: 24000, UA: "python-requests/2.31.0", Vhost: f.w.Vhost}
}

// LoginBruteforce is a set of addresses guessing WordPress passwords.
type LoginBruteforce struct {
	rng *rand.Rand
	IPs []netip.Addr
}

// NewLoginBruteforce returns a brute force from n addresses.
func (w *Web) NewLoginBruteforce(n int) *LoginBruteforce {
	b := &LoginBruteforce{rng: w.rng}
	for range n {
		b.IPs = append(b.IPs, w.Addrs.Next())
	}
	return b
}

// Next returns the next guess.
func (b *LoginBruteforce) Next(t time.Time) HTTP {
	r := HTTP{Time: t, Src: b.IPs[b.rng.IntN(len(b.IPs))], Method: "POST", Path: "/wp-login.php", Proto: "HTTP/1.1",
		Status: 200, Bytes: 4312, UA: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0"}
	if b.rng.IntN(3) == 0 {
		r.Path, r.Bytes = "/xmlrpc.php", 403
	}
	return r
}

// ProbePaths are what vulnerability scanners ask for.
var ProbePaths = []string{
	"/.env", "/.git/config", "/wp-admin/setup-config.php", "/phpmyadmin/index.php", "/cgi-bin/luci/;stok=/locale",
	"/.aws/credentials", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/actuator/env", "/boaform/admin/formLogin",
	"/HNAP1/", "/solr/admin/info/system", "/server-status", "/config.json", "/.DS_Store", "/wp-config.php.bak",
}

// Scanner is one address walking a list of probe paths.
type Scanner struct {
	rng *rand.Rand
	IP  netip.Addr
	i   int
}

// NewScanner returns a scanner from a new address.
func (w *Web) NewScanner() *Scanner { return &Scanner{rng: w.rng, IP: w.Addrs.Next()} }

// Next returns the next probe.
func (s *Scanner) Next(t time.Time) HTTP {
	p := ProbePaths[s.i%len(ProbePaths)]
	s.i++
	return HTTP{Time: t, Src: s.IP, Method: "GET", Path: p, Proto: "HTTP/1.1", Status: 404, Bytes: 196,
		UA: "Mozilla/5.0 zgrab/0.x"}
}

// MailGen generates a mail server's traffic: benign inbound mail and
// outbound replies, and the mail attacks.
type MailGen struct {
	rng    *rand.Rand
	Addrs  *Addrs
	Host   string
	Domain string
	qid    uint32
	peers  []netip.Addr
	buf    []Mail
}

// NewMail returns a mail generator for host serving domain.
func NewMail(seed uint64, host, domain string) *MailGen {
	rng := rand.New(rand.NewPCG(seed, seed^0xa11))
	m := &MailGen{rng: rng, Addrs: NewAddrs(rng, 0.1), Host: host, Domain: domain, qid: 0x3F2A1000}
	for range 300 {
		m.peers = append(m.peers, m.Addrs.Next())
	}
	return m
}

func (m *MailGen) queueID() string {
	m.qid += 7919
	return fmt.Sprintf("%X", m.qid)
}

var users = []string{"anna", "bert", "info", "sales", "orders", "support", "jobs"}

// Benign returns the lines of one benign message at t: inbound delivered
// to a mailbox, or (one time in five) an outbound reply.
func (m *MailGen) Benign(t time.Time) []Mail {
	m.buf = m.buf[:0]
	q := m.queueID()
	src := m.peers[m.rng.IntN(len(m.peers))]
	pid := 1000 + m.rng.IntN(30000)
	user := users[m.rng.IntN(len(users))] + "@" + m.Domain
	if m.rng.IntN(5) == 0 {
		to := fmt.Sprintf("customer%d@mail%d.example.net", m.rng.IntN(5000), m.rng.IntN(20))
		m.buf = append(m.buf,
			Mail{Time: t, Host: m.Host, Kind: MailQmgr, PID: 812, QueueID: q, From: user, Size: 2000 + int64(m.rng.IntN(40000))},
			Mail{Time: t.Add(time.Second), Host: m.Host, Kind: MailSent, PID: pid, QueueID: q, To: to,
				Relay: "mx.example.net[" + m.peers[m.rng.IntN(len(m.peers))].String() + "]:25"})
		return m.buf
	}
	from := fmt.Sprintf("news%d@sender%d.example.org", m.rng.IntN(100), m.rng.IntN(50))
	m.buf = append(m.buf,
		Mail{Time: t, Host: m.Host, Kind: MailConnect, PID: pid, Src: src, Client: "mail.example.org"},
		Mail{Time: t, Host: m.Host, Kind: MailReceived, PID: pid, Src: src, Client: "mail.example.org", QueueID: q},
		Mail{Time: t, Host: m.Host, Kind: MailQmgr, PID: 812, QueueID: q, From: from, Size: 3000 + int64(m.rng.IntN(90000))},
		Mail{Time: t, Host: m.Host, Kind: MailDelivered, PID: pid + 1, QueueID: q, To: user},
		Mail{Time: t.Add(time.Second), Host: m.Host, Kind: MailDisconnect, PID: pid, Src: src, Client: "mail.example.org"})
	return m.buf
}

// RelayAttempt is one try to use this server as an open relay, from src.
func (m *MailGen) RelayAttempt(t time.Time, src netip.Addr) Mail {
	return Mail{Time: t, Host: m.Host, Kind: MailRelayDenied, PID: 2000 + m.rng.IntN(9000), Src: src,
		From: "spam@" + m.Domain, To: fmt.Sprintf("victim%d@example.com", m.rng.IntN(1000)), Helo: "ylmf-pc"}
}

// AuthFailure is one failed SMTP AUTH guess from src.
func (m *MailGen) AuthFailure(t time.Time, src netip.Addr) Mail {
	return Mail{Time: t, Host: m.Host, Kind: MailAuthFail, PID: 2000 + m.rng.IntN(9000), Src: src,
		SASLUser: users[m.rng.IntN(len(users))]}
}

// Outbound is one message this server sends to a remote server: in a
// spike, the sign that it relays spam.
func (m *MailGen) Outbound(t time.Time) []Mail {
	q := m.queueID()
	m.buf = append(m.buf[:0],
		Mail{Time: t, Host: m.Host, Kind: MailQmgr, PID: 812, QueueID: q, From: "hacked@" + m.Domain, Size: 1800},
		Mail{Time: t, Host: m.Host, Kind: MailSent, PID: 3000 + m.rng.IntN(9000), QueueID: q,
			To:    fmt.Sprintf("target%d@mail%d.example.com", m.rng.IntN(100000), m.rng.IntN(40)),
			Relay: "mx.example.com[" + m.peers[m.rng.IntN(len(m.peers))].String() + "]:25"})
	return m.buf
}

// Backscatter is one bounce for mail this server never sent, from a
// remote server, to a made-up address of the forged domain.
func (m *MailGen) Backscatter(t time.Time, src netip.Addr) Mail {
	return Mail{Time: t, Host: m.Host, Kind: MailUnknownUser, PID: 2000 + m.rng.IntN(9000), Src: src, Client: "mx.example.com",
		From: "", To: fmt.Sprintf("%x@%s", m.rng.Uint32(), m.Domain), Helo: "mx.example.com"}
}

// DNSGen generates an authoritative server's query log.
type DNSGen struct {
	rng     *rand.Rand
	Addrs   *Addrs
	Zone    string
	Server  netip.Addr
	clients []netip.Addr
}

// NewDNS returns a query generator for zone served at server.
func NewDNS(seed uint64, zone string, server netip.Addr) *DNSGen {
	rng := rand.New(rand.NewPCG(seed, seed^0xd25))
	g := &DNSGen{rng: rng, Addrs: NewAddrs(rng, 0.1), Zone: zone, Server: server}
	for range 500 {
		g.clients = append(g.clients, g.Addrs.Next())
	}
	return g
}

var benignTypes = []string{"A", "A", "A", "AAAA", "AAAA", "MX", "TXT", "NS", "SOA"}
var labels = []string{"", "www.", "mail.", "shop.", "api.", "cdn."}

// Benign returns a resolver's query for a name in the zone.
func (g *DNSGen) Benign(t time.Time) DNS {
	return DNS{Time: t, Src: g.clients[g.rng.IntN(len(g.clients))], Port: 1024 + g.rng.IntN(60000),
		QName: labels[g.rng.IntN(len(labels))] + g.Zone, QType: benignTypes[g.rng.IntN(len(benignTypes))], Server: g.Server}
}

// Denied is a recursive query for a foreign name, refused.
func (g *DNSGen) Denied(t time.Time, src netip.Addr) DNS {
	return DNS{Time: t, Src: src, Port: 1024 + g.rng.IntN(60000), QName: "example" + strconv.Itoa(g.rng.IntN(99)) + ".com",
		QType: "A", RD: true, Denied: true, Server: g.Server}
}

// Any is an ANY query for the zone from a (spoofed) victim address.
func (g *DNSGen) Any(t time.Time, src netip.Addr) DNS {
	return DNS{Time: t, Src: src, Port: 80, QName: g.Zone, QType: "ANY", RD: true, Server: g.Server}
}
