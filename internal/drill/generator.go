package drill

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irtui/irtui/internal/loggen"
)

// whats lists the traffic a stream can generate, by kind/what, with the
// port it arrives on (what a port-scoped block must cover to stop it).
var whats = map[string]string{
	"web/browse":       "tcp/443",
	"web/flood":        "tcp/443",
	"web/login":        "tcp/443",
	"web/scan":         "tcp/80",
	"mail/inbound":     "tcp/25",
	"mail/outbound":    "tcp/25",
	"mail/auth_fail":   "tcp/587",
	"mail/relay":       "tcp/25",
	"mail/backscatter": "tcp/25",
	"dns/query":        "udp/53",
	"dns/any":          "udp/53",
	"dns/denied":       "udp/53",
}

// Files a drill writes into its directory.
const (
	AccessLog = "access.log"
	MailLog   = "mail.log"
	QueryLog  = "query.log"
	ASTable   = "asn.tsv"
	Complaint = "complaint.txt"
)

// Lead is how much scenario time runs live before the attack starts; the
// baseline before that is written at once, so the console opens with history.
const Lead = 10 * time.Second

// Block is a block as the generator applies it: traffic from a covered
// source on a covered port stops (drop, reject) or is limited per source
// (ratelimit) from At on.
type Block struct {
	Prefix netip.Prefix
	Ports  []string // "tcp/80" or "tcp/8000-8100"; empty: all ports
	Action string
	// PerSecond is the per-source allowance of a ratelimit block, Burst
	// how many it lets through at once (at least one).
	PerSecond float64
	Burst     float64
	// Rule names the firewall rule the block belongs to: sources limited
	// by the same rule share nothing, but one source keeps its allowance
	// across every prefix of that rule, as a per-source meter does.
	Rule string
	At   time.Time
}

// Counts is the ground truth the generator kept.
type Counts struct {
	Attack, Benign               int64 // generated, over the whole drill
	AttackAfter, BenignAfter     int64 // generated after the first block
	AttackStopped, BenignStopped int64 // of those, stopped by blocks
	FirstBlock                   time.Time
	AttackStart                  time.Time
}

// Generator writes a scenario's logs in real time.
type Generator struct {
	S     *Scenario
	Dir   string
	Speed float64
	Seed  uint64

	rng     *rand.Rand
	line    []byte // scratch for one formatted line
	streams []*stream
	simZero time.Time // scenario time 0 on the data clock
	live    time.Time // wall time at which the live part starts
	history bool      // the history before the live part is written

	mu      sync.Mutex
	blocks  []Block
	buckets map[bucketKey]*bucket
	counts  Counts
	done    chan struct{}
	qid     uint64
}

type stream struct {
	Stream
	port  string
	addrs []netip.Addr
	acc   float64 // fractional events carried to the next tick
}

type bucketKey struct {
	rule string
	src  netip.Addr
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewGenerator prepares s to be written into dir at speed (1 = real time).
func NewGenerator(s *Scenario, dir string, speed float64, seed uint64) *Generator {
	if speed <= 0 {
		speed = 1
	}
	g := &Generator{S: s, Dir: dir, Speed: speed, Seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		buckets: map[bucketKey]*bucket{}, done: make(chan struct{})}
	nets := map[uint32]Network{}
	for _, n := range s.Networks {
		nets[n.ASN] = n
	}
	byName := map[string]*stream{}
	for _, t := range s.Traffic {
		st := &stream{Stream: t, port: whats[t.Kind+"/"+t.What]}
		byName[t.Name] = st
		if o := byName[t.Share]; o != nil {
			st.addrs = o.addrs
			g.streams = append(g.streams, st)
			continue
		}
		n := t.Sources
		if n <= 0 {
			n = 1
		}
		seen := map[netip.Addr]bool{}
		for i := 0; len(st.addrs) < n && i < n*20; i++ {
			net := nets[t.Networks[i%len(t.Networks)]]
			p := netip.MustParsePrefix(net.Prefixes[g.rng.IntN(len(net.Prefixes))]).Masked()
			a := randomHost(g.rng, p)
			if !seen[a] {
				seen[a] = true
				st.addrs = append(st.addrs, a)
			}
		}
		g.streams = append(g.streams, st)
	}
	return g
}

func randomHost(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range a {
		for bit := 0; bit < 8; bit++ {
			if i*8+bit >= bits && r.IntN(2) == 1 {
				a[i] |= 0x80 >> bit
			}
		}
	}
	if len(a) == 4 && (a[3] == 0 || a[3] == 255) {
		a[3] = byte(1 + r.IntN(254))
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}

// Attackers returns the ground truth: every address of an attack stream.
func (g *Generator) Attackers() []netip.Addr {
	var out []netip.Addr
	for _, st := range g.streams {
		if st.Role == "attack" {
			out = append(out, st.addrs...)
		}
	}
	return out
}

// Clock returns the time on the drill's data clock (the time stamped on
// the lines being written) corresponding to a wall time. It is fixed by
// Prepare.
func (g *Generator) Clock(wall time.Time) time.Time {
	return g.simZero.Add(g.S.AttackStart - Lead + time.Duration(float64(wall.Sub(g.live))*g.Speed))
}

// Now is the data clock now.
func (g *Generator) Now() time.Time { return g.Clock(time.Now()) }

// End returns when the scenario ends on the data clock.
func (g *Generator) End() time.Time { return g.simZero.Add(g.S.Duration) }

// AttackStart returns when the attack starts on the data clock.
func (g *Generator) AttackStart() time.Time { return g.simZero.Add(g.S.AttackStart) }

// AddBlock makes the generator honour a block from b.At on, as the
// firewall would.
func (g *Generator) AddBlock(b Block) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addLocked(b)
}

func (g *Generator) addLocked(b Block) {
	if g.counts.FirstBlock.IsZero() || b.At.Before(g.counts.FirstBlock) {
		g.counts.FirstBlock = b.At
	}
	if b.Rule == "" {
		b.Rule = fmt.Sprintf("%s %v %s", b.Action, b.Ports, b.Prefix)
	}
	g.blocks = append(g.blocks, b)
}

// SetBlocks replaces the blocks with what the firewall now holds: a block
// already in force (same prefix and rule) keeps its start, new ones start
// at b.At, and the ones missing are lifted.
func (g *Generator) SetBlocks(bs []Block) {
	g.mu.Lock()
	defer g.mu.Unlock()
	type key struct {
		p    netip.Prefix
		rule string
	}
	old := map[key]time.Time{}
	for _, b := range g.blocks {
		old[key{b.Prefix, b.Rule}] = b.At
	}
	g.blocks = g.blocks[:0]
	for _, b := range bs {
		if at, ok := old[key{b.Prefix, b.Rule}]; ok && b.Rule != "" {
			b.At = at
		}
		g.addLocked(b)
	}
}

// Blocks returns the blocks in force.
func (g *Generator) Blocks() []Block {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Block(nil), g.blocks...)
}

// RemoveBlocks lifts every block covering p (an undo in the console).
func (g *Generator) RemoveBlocks(p netip.Prefix) {
	g.mu.Lock()
	defer g.mu.Unlock()
	kept := g.blocks[:0]
	for _, b := range g.blocks {
		if b.Prefix != p {
			kept = append(kept, b)
		}
	}
	g.blocks = kept
}

// Counts returns the ground truth so far.
func (g *Generator) Counts() Counts {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.counts
}

// Done is closed when the scenario's duration has been written.
func (g *Generator) Done() <-chan struct{} { return g.done }

// Prepare writes the offline AS table and the complaint, and fixes the
// data clock so that the live part starts now.
func (g *Generator) Prepare(now time.Time) error {
	if err := os.MkdirAll(g.Dir, 0o700); err != nil {
		return err
	}
	g.live = now
	g.simZero = now.UTC().Add(-(g.S.AttackStart - Lead))
	g.counts.AttackStart = g.AttackStart()
	if err := os.WriteFile(filepath.Join(g.Dir, ASTable), g.S.ASTable(), 0o600); err != nil {
		return err
	}
	for _, name := range []string{AccessLog, MailLog, QueryLog} {
		f, err := os.OpenFile(filepath.Join(g.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// openLogs opens the three log files for appending.
func (g *Generator) openLogs() (map[string]*bufio.Writer, func() error, error) {
	files := map[string]*bufio.Writer{}
	var closers []*os.File
	closeAll := func() error {
		var first error
		for _, w := range files {
			if err := w.Flush(); err != nil && first == nil {
				first = err
			}
		}
		for _, f := range closers {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for _, name := range []string{AccessLog, MailLog, QueryLog} {
		f, err := os.OpenFile(filepath.Join(g.Dir, name), os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, f)
		files[name] = bufio.NewWriterSize(f, 256<<10)
	}
	return files, closeAll, nil
}

// WriteHistory writes the baseline before the live part at once, so a
// console (or the drill's own pipeline) opens with history and can detect
// the files' formats from their first lines. Run calls it when it has not
// been called.
func (g *Generator) WriteHistory() error {
	if g.simZero.IsZero() {
		if err := g.Prepare(time.Now()); err != nil {
			return err
		}
	}
	if g.history {
		return nil
	}
	g.history = true
	files, closeAll, err := g.openLogs()
	if err != nil {
		return err
	}
	for sim := time.Duration(0); sim < g.S.AttackStart-Lead; sim += time.Second {
		g.tick(files, sim, time.Second)
	}
	return closeAll()
}

// Run writes the rest of the scenario in real time (scaled by Speed), from
// Lead before the attack until its duration or ctx ends. Done is closed
// when it returns.
func (g *Generator) Run(ctx context.Context) error {
	defer close(g.done)
	if err := g.WriteHistory(); err != nil {
		return err
	}
	files, closeAll, err := g.openLogs()
	if err != nil {
		return err
	}
	defer closeAll()
	flush := func() error {
		for _, w := range files {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		return nil
	}
	const step = time.Second
	sim := g.S.AttackStart - Lead
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	complained := false
	for sim < g.S.Duration {
		select {
		case <-ctx.Done():
			return flush()
		case now := <-tick.C:
			target := g.Clock(now).Sub(g.simZero)
			if target > g.S.Duration {
				target = g.S.Duration
			}
			for sim < target {
				dt := min(target-sim, step)
				g.tick(files, sim, dt)
				sim += dt
			}
			if !complained && g.S.Complaint != "" && sim >= g.S.AttackStart {
				complained = true
				if err := os.WriteFile(filepath.Join(g.Dir, Complaint), []byte(g.S.Complaint), 0o600); err != nil {
					return err
				}
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return closeAll()
}

// tick generates the events of [sim, sim+dt).
func (g *Generator) tick(files map[string]*bufio.Writer, sim, dt time.Duration) {
	for _, st := range g.streams {
		if sim < st.Start || (st.Role == "attack" && sim < g.S.AttackStart) {
			continue
		}
		st.acc += st.Rate * dt.Seconds()
		n := int(st.acc)
		st.acc -= float64(n)
		for i := 0; i < n; i++ {
			at := g.simZero.Add(sim + time.Duration(g.rng.Int64N(int64(dt))))
			src := st.addrs[g.rng.IntN(len(st.addrs))]
			if !g.admit(st, src, at) {
				continue
			}
			g.write(files, st, src, at)
		}
	}
}

// admit counts the event for the score and says whether it gets through.
func (g *Generator) admit(st *stream, src netip.Addr, at time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	attack := st.Role == "attack"
	if attack {
		g.counts.Attack++
	} else {
		g.counts.Benign++
	}
	if g.counts.FirstBlock.IsZero() || at.Before(g.counts.FirstBlock) {
		return true
	}
	if attack {
		g.counts.AttackAfter++
	} else {
		g.counts.BenignAfter++
	}
	stopped := false
	for _, b := range g.blocks {
		if at.Before(b.At) || !b.Prefix.Contains(src) || !portCovered(b.Ports, st.port) {
			continue
		}
		if b.Action != "ratelimit" {
			stopped = true
			break
		}
		k := bucketKey{b.Rule, src}
		burst := max(b.Burst, b.PerSecond, 1)
		bk := g.buckets[k]
		if bk == nil {
			bk = &bucket{tokens: burst, last: at}
			g.buckets[k] = bk
		}
		if el := at.Sub(bk.last).Seconds(); el > 0 {
			bk.tokens = min(burst, bk.tokens+el*b.PerSecond)
			bk.last = at
		}
		if bk.tokens >= 1 {
			bk.tokens--
			continue
		}
		stopped = true
		break
	}
	if stopped {
		if attack {
			g.counts.AttackStopped++
		} else {
			g.counts.BenignStopped++
		}
	}
	return !stopped
}

// portCovered reports whether port ("tcp/443") is in ports, which may hold
// ranges ("tcp/8000-8100").
func portCovered(ports []string, port string) bool {
	if len(ports) == 0 {
		return true
	}
	proto, num, _ := strings.Cut(port, "/")
	n, _ := strconv.Atoi(num)
	for _, p := range ports {
		if p == port {
			return true
		}
		pp, rng, ok := strings.Cut(p, "/")
		if !ok || pp != proto {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		if !isRange {
			continue
		}
		from, err1 := strconv.Atoi(lo)
		to, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && from <= n && n <= to {
			return true
		}
	}
	return false
}

func (g *Generator) pick(list []string, fallback string) string {
	if len(list) == 0 {
		return fallback
	}
	return list[g.rng.IntN(len(list))]
}

func (g *Generator) queueID() string {
	g.qid++
	return fmt.Sprintf("%X", 0x4B2C10000+g.qid*7919)
}

// write appends the log lines of one event, in the formats real servers
// use: nginx combined, Postfix behind an RFC 3339 syslog header (Debian 12),
// and the BIND 9 query log.
func (g *Generator) write(files map[string]*bufio.Writer, st *stream, src netip.Addr, at time.Time) {
	switch st.Kind {
	case "web":
		g.writeWeb(files[AccessLog], st, src, at)
	case "mail":
		g.writeMail(files[MailLog], st, src, at)
	case "dns":
		g.writeDNS(files[QueryLog], st, src, at)
	}
}

func (g *Generator) writeWeb(w *bufio.Writer, st *stream, src netip.Addr, at time.Time) {
	method, page, status, size := "GET", g.pick(st.Pages, "/"), 200, 2000+g.rng.IntN(40000)
	ref := "-"
	switch st.What {
	case "browse":
		if g.rng.IntN(20) == 0 {
			status, size = 304, 0
		} else if g.rng.IntN(50) == 0 {
			status, size = 404, 512
		}
		if g.rng.IntN(2) == 0 {
			ref = "https://shop.example.com/"
		}
	case "flood":
		size = 400000 + g.rng.IntN(200000)
	case "login":
		method, page, status, size = "POST", g.pick(st.Pages, "/wp-login.php"), 401, 1800
	case "scan":
		status, size = 404, 162
	}
	ua := g.pick(st.UAs, "Mozilla/5.0")
	g.combined(w, at, src, method, page, status, size, ref, ua)
	if st.What != "browse" || len(st.Assets) == 0 {
		return
	}
	// A page view: the browser fetches the page's assets right after it,
	// most from its cache (304) once it has them.
	ref = "https://shop.example.com" + page
	for _, asset := range st.Assets {
		at = at.Add(time.Duration(20+g.rng.IntN(200)) * time.Millisecond)
		status, size = 200, 1000+g.rng.IntN(90000)
		if g.rng.IntN(3) > 0 {
			status, size = 304, 0
		}
		g.combined(w, at, src, "GET", asset, status, size, ref, ua)
	}
}

// combined writes one nginx combined line, formatted by loggen as the
// benchmarks' logs are.
func (g *Generator) combined(w *bufio.Writer, at time.Time, src netip.Addr, method, path string, status, size int, ref, ua string) {
	if ref == "-" {
		ref = ""
	}
	g.line = loggen.AppendCombined(g.line[:0], &loggen.HTTP{Time: at, Src: src, Method: method, Path: path, Proto: "HTTP/1.1",
		Status: status, Bytes: int64(size), Referer: ref, UA: ua})
	w.Write(g.line)
}

func (g *Generator) mailHeader(w *bufio.Writer, at time.Time, prog string) {
	fmt.Fprintf(w, "%s mail postfix/%s[%d]: ", at.Format("2006-01-02T15:04:05.000000-07:00"), prog, 1000+g.rng.IntN(30000))
}

func (g *Generator) writeMail(w *bufio.Writer, st *stream, src netip.Addr, at time.Time) {
	host := "unknown"
	if len(st.Names) > 0 {
		host = st.Names[g.rng.IntN(len(st.Names))]
	}
	client := fmt.Sprintf("%s[%s]", host, src)
	domain := "example.com"
	remote := fmt.Sprintf("user%d@%s", g.rng.IntN(5000), g.pick([]string{"example.net", "example.org"}, "example.net"))
	local := fmt.Sprintf("%s@%s", g.pick([]string{"anna", "bert", "info", "sales", "shop"}, "info"), domain)
	q := g.queueID()
	line := func(prog, format string, a ...any) {
		g.mailHeader(w, at, prog)
		fmt.Fprintf(w, format, a...)
		w.WriteByte('\n')
	}
	switch st.What {
	case "inbound":
		line("smtpd", "connect from %s", client)
		line("smtpd", "%s: client=%s", q, client)
		line("qmgr", "%s: from=<%s>, size=%d, nrcpt=1 (queue active)", q, remote, 3000+g.rng.IntN(50000))
		line("local", "%s: to=<%s>, relay=local, delay=0.1, delays=0.05/0.01/0/0.04, dsn=2.0.0, status=sent (delivered to mailbox)", q, local)
		line("smtpd", "disconnect from %s ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", client)
	case "outbound":
		// Mail handed to this server by a client and sent on to the world:
		// a customer's newsletter, or a spammer using the relay.
		line("smtpd", "connect from %s", client)
		line("smtpd", "%s: client=%s", q, client)
		line("qmgr", "%s: from=<%s>, size=%d, nrcpt=1 (queue active)", q, local, 2000+g.rng.IntN(8000))
		line("smtp", "%s: to=<%s>, relay=mx.%s[203.0.113.25]:25, delay=0.6, delays=0.1/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)", q, remote, remote[strings.IndexByte(remote, '@')+1:])
		line("smtpd", "disconnect from %s ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", client)
	case "auth_fail":
		line("smtpd", "connect from %s", client)
		line("smtpd", "warning: %s: SASL LOGIN authentication failed: UGFzc3dvcmQ6", client)
		line("smtpd", "disconnect from %s ehlo=1 auth=0/1 quit=1 commands=2/3", client)
	case "relay":
		line("smtpd", "connect from %s", client)
		line("smtpd", "NOQUEUE: reject: RCPT from %s: 554 5.7.1 <%s>: Relay access denied; from=<%s> to=<%s> proto=ESMTP helo=<%s>", client, remote, remote, remote, host)
		line("smtpd", "disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", client)
	case "backscatter":
		// Bounces for mail this server never sent: a null sender, to made-up
		// local parts of the forged domain.
		rcpt := fmt.Sprintf("%x@%s", g.rng.Uint32(), domain)
		line("smtpd", "connect from %s", client)
		if g.rng.IntN(3) == 0 {
			line("smtpd", "%s: client=%s", q, client)
			line("qmgr", "%s: from=<>, size=%d, nrcpt=1 (queue active)", q, 4000+g.rng.IntN(4000))
			line("local", "%s: to=<%s>, relay=local, delay=0.1, delays=0.05/0.01/0/0.04, dsn=5.1.1, status=bounced (unknown user: \"%s\")", q, local, rcpt[:strings.IndexByte(rcpt, '@')])
		} else {
			line("smtpd", "NOQUEUE: reject: RCPT from %s: 550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table; from=<> to=<%s> proto=ESMTP helo=<%s>", client, rcpt, rcpt, host)
		}
		line("smtpd", "disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", client)
	}
}

func (g *Generator) writeDNS(w *bufio.Writer, st *stream, src netip.Addr, at time.Time) {
	d := loggen.DNS{Time: at, Src: src, Port: 1024 + g.rng.IntN(60000), QName: g.pick(st.Names, "www.example.com"),
		RD: true, Server: dnsServer}
	switch st.What {
	case "query":
		d.QType = g.pick([]string{"A", "A", "AAAA", "MX", "TXT"}, "A")
	case "any":
		d.QType = "ANY"
	case "denied":
		d.QType, d.Denied = "A", true
	}
	g.line = loggen.AppendBind(g.line[:0], &d)
	w.Write(g.line)
}

// dnsServer is the address the drill's DNS server answers on.
var dnsServer = netip.MustParseAddr("192.0.2.53")
