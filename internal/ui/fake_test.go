package ui

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/playbook"
	"github.com/irtui/irtui/playbooks"
)

// evilUA carries a title-setting OSC and a clear-screen CSI: neither may
// reach the terminal.
const evilUA = "Mozilla/5.0 \x1b]0;pwned\x07 \x1b[2J bot"

var t0 = time.Date(2026, 3, 14, 9, 26, 0, 0, time.UTC)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func adr(s string) netip.Addr   { return netip.MustParseAddr(s) }

func grp(key string, events int64, rate, base, share float64) analyze.Group {
	return analyze.Group{Key: key, Events: events, Rate: rate, Baseline: base, Share: share, Sources: int(events / 100),
		First: t0.Add(-10 * time.Minute), Last: t0, Trend: []float64{rate / 4, rate / 2, rate, rate}}
}

// fakeSnapshot is a fixed picture of an attack: a flood on two image pages
// from two ASes, an SMTP AUTH brute force and denied recursion.
func fakeSnapshot() *analyze.Snapshot {
	s := &analyze.Snapshot{
		Taken: t0, Newest: t0, From: t0.Add(-15 * time.Minute), To: t0,
		Windows: []time.Duration{10 * time.Second, time.Minute, 15 * time.Minute},
		Lines:   1234567, Parsed: 1234000, Malformed: 567,
		Total: grp("total", 900000, 1000, 120, 1),
		Sources: []analyze.SourceHealth{
			{Name: "/var/log/nginx/access.log", Format: "combined", Lines: 1200000, Malformed: 560, Rate: 980, Trend: []float64{100, 200, 400, 800, 980, 980}},
			{Name: "/var/log/mail.log", Format: "postfix", Lines: 34000, Malformed: 7, Rate: 20, Trend: []float64{5, 5, 10, 20}, Lag: 3 * time.Second},
			{Name: "/var/log/named/query.log", Format: "bind", Lines: 567, Err: "permission denied \x1b[2J(run with sudo)"},
		},
	}
	as1 := grp("AS64500", 500000, 600, 10, 0.6)
	as1.ASN, as1.ASName, as1.Country = 64500, "EXAMPLE-NET \x1b]0;pwned\x07", "NL"
	as1.Top = []analyze.Member{{Key: "203.0.113.0/24", Events: 400000}}
	as2 := grp("AS64501", 300000, 300, 5, 0.3)
	as2.ASN, as2.ASName, as2.Country = 64501, "DOC-TRANSIT", "US"
	as2.Top = []analyze.Member{{Key: "198.51.100.0/24", Events: 300000}}
	un := grp("AS unknown", 1000, 1, 1, 0.001)
	s.ASes = []analyze.Group{as1, as2, un}
	p1 := grp("203.0.113.0/24", 400000, 500, 8, 0.5)
	p1.Prefix, p1.ASN, p1.ASName = pfx("203.0.113.0/24"), 64500, as1.ASName
	p2 := grp("2001:db8:1::/48", 100000, 100, 2, 0.1)
	p2.Prefix, p2.ASN = pfx("2001:db8:1::/48"), 64500
	p3 := grp("198.51.100.0/24", 300000, 300, 5, 0.3)
	p3.Prefix, p3.ASN = pfx("198.51.100.0/24"), 64501
	s.Prefixes = []analyze.Group{p1, p2, p3}
	for i, ev := range []int64{200000, 150000, 50000} {
		ip := fmt.Sprintf("203.0.113.%d", 10+i)
		g := grp(ip, ev, float64(ev)/1000, 1, float64(ev)/900000)
		g.Prefix, g.ASN = pfx(ip+"/32"), 64500
		s.IPs = append(s.IPs, g)
	}
	g := grp("198.51.100.7", 300000, 300, 5, 0.3)
	g.Prefix, g.ASN = pfx("198.51.100.7/32"), 64501
	s.IPs = append(s.IPs, g)
	pg1 := grp("shop.example/img/hero.jpg", 600000, 650, 3, 0.66)
	pg1.Bytes = 9 << 30
	pg1.Top = []analyze.Member{{Key: "AS64500", Events: 400000}, {Key: "AS64501", Events: 200000}}
	pg2 := grp("shop.example/img/banner.png", 200000, 200, 2, 0.22)
	pg2.Bytes = 2 << 30
	s.Pages = []analyze.Group{pg1, pg2, grp("shop.example/", 5000, 5, 5, 0.01)}
	s.Clusters = []analyze.Cluster{{ID: "c1", UA: evilUA, Pages: []string{"/img/hero.jpg", "/img/banner.png"}, Size: 812, Events: 700000,
		Sources: []netip.Addr{adr("203.0.113.10"), adr("198.51.100.7")}, ASes: []analyze.Member{{Key: "AS64500", Events: 400000}}}}
	s.MailActions = []analyze.Group{grp("auth_fail", 9000, 15, 0.1, 0.01), grp("reject/relay access denied", 300, 0.5, 0.1, 0), grp("sent", 500, 0.8, 0.7, 0)}
	mc := grp("203.0.113.77", 9000, 15, 0.1, 0.01)
	mc.ASN, mc.ASName = 64500, "EXAMPLE-NET"
	s.MailClients = []analyze.Group{mc}
	s.MailSenders = []analyze.Group{grp("<>", 40, 0.1, 0.1, 0)}
	s.DNSNames = []analyze.Group{grp("example.org", 4000, 4, 0.5, 0)}
	s.DNSTypes = []analyze.Group{grp("ANY", 4000, 4, 0.1, 0), grp("A", 100, 0.2, 0.2, 0)}
	dc := grp("192.0.2.53", 4000, 4, 0, 0)
	s.DNSClients, s.DNSDenied = []analyze.Group{dc}, []analyze.Group{dc}
	s.Findings = []analyze.Finding{
		{ID: "f1", Kind: "page_flood", Severity: analyze.SevCritical, Summary: "2 pages get 88% of requests from 812 sources",
			Targets: []netip.Prefix{pfx("203.0.113.0/24"), pfx("198.51.100.0/24")}, Ports: []string{"tcp/80", "tcp/443"}, First: t0.Add(-9 * time.Minute)},
		{ID: "f2", Kind: "smtp_auth_bruteforce", Severity: analyze.SevHigh, Summary: "203.0.113.77 failed AUTH 9000 times",
			Targets: []netip.Prefix{pfx("203.0.113.77/32")}, Ports: []string{"tcp/25", "tcp/587"}, First: t0.Add(-5 * time.Minute)},
		{ID: "f3", Kind: "dns_open_resolver", Severity: analyze.SevMedium, Summary: "recursion refused to 1 outside client", First: t0.Add(-2 * time.Minute)},
	}
	for i := 0; i < 40; i++ {
		src := adr("203.0.113.10")
		if i%2 == 1 {
			src = adr("198.51.100.7")
		}
		s.Recent = append(s.Recent, analyze.RecentLine{Time: t0.Add(time.Duration(i-40) * time.Second), Source: "/var/log/nginx/access.log", Src: src, Kind: "http",
			Line: fmt.Sprintf(`%s - - [14/Mar/2026:09:25:%02d +0000] "GET /img/hero.jpg HTTP/1.1" 200 51234 "-" "%s"`, src, i%60, evilUA)})
	}
	return s
}

// fakeBlocker plans by printing nft-like text and keeps blocks in memory.
type fakeBlocker struct {
	mu     sync.Mutex
	blocks []ActiveBlock
	n      int
	fail   bool
}

func (f *fakeBlocker) Plan(_ context.Context, r BlockRequest) (BlockPlan, error) {
	var b strings.Builder
	var refused []Refusal
	for _, t := range r.Targets {
		if t.Contains(adr("198.51.100.7")) && t.Bits() == 32 {
			refused = append(refused, Refusal{Target: t, Reason: "your SSH client"})
			continue
		}
		fmt.Fprintf(&b, "add element inet irtui block4 { %s timeout %s }\n", t, r.TTL)
	}
	if len(r.Ports) > 0 {
		fmt.Fprintf(&b, "# ports %s action %s\n", strings.Join(r.Ports, ","), r.Action)
	} else {
		fmt.Fprintf(&b, "# all ports action %s\n", r.Action)
	}
	return BlockPlan{Request: r, Rules: b.String(), Refused: refused}, nil
}

func (f *fakeBlocker) Apply(_ context.Context, p BlockPlan) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("nft: \x1b[2Jboom")
	}
	for _, t := range p.Request.Targets {
		f.n++
		f.blocks = append(f.blocks, ActiveBlock{ID: fmt.Sprint(f.n), Target: t.String(), Ports: strings.Join(p.Request.Ports, ","),
			Action: string(p.Request.Action), Expires: t0.Add(p.Request.TTL), Packets: 1234, Bytes: 99999, Reason: p.Request.Reason,
			Targets: []netip.Prefix{t}})
	}
	return nil
}

func (f *fakeBlocker) List(context.Context) ([]ActiveBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ActiveBlock(nil), f.blocks...), nil
}

func (f *fakeBlocker) Unblock(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, b := range f.blocks {
		if b.ID == id {
			f.blocks = append(f.blocks[:i], f.blocks[i+1:]...)
			return nil
		}
	}
	return errors.New("no such block")
}

func (f *fakeBlocker) UnblockAll(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.blocks)
	f.blocks = nil
	return n, nil
}

type fakeTracer struct {
	mu  sync.Mutex
	req []netip.Addr
	ch  chan TraceResult
}

func newFakeTracer() *fakeTracer { return &fakeTracer{ch: make(chan TraceResult, 16)} }

func (f *fakeTracer) Request(a netip.Addr) {
	f.mu.Lock()
	f.req = append(f.req, a)
	f.mu.Unlock()
}

func (f *fakeTracer) Results() <-chan TraceResult { return f.ch }

type fakeReporter struct {
	mu    sync.Mutex
	added []netip.Prefix
}

func (f *fakeReporter) Add(_ context.Context, ts []netip.Prefix, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, ts...)
	return nil
}

type fakes struct {
	block  *fakeBlocker
	trace  *fakeTracer
	report *fakeReporter
}

func testConfig(mode Mode) (Config, *fakes) {
	f := &fakes{block: &fakeBlocker{}, trace: newFakeTracer(), report: &fakeReporter{}}
	snap := fakeSnapshot()
	return Config{
		Engines: Engines{
			Snapshot: func() *analyze.Snapshot { return snap },
			Impact: func(ts []netip.Prefix) analyze.Impact {
				return analyze.Impact{AttackCovered: 0.92, BaselineCut: 0.004, AttackEvents: 700000, BaselineEvents: 12}
			},
			Block: f.block, Trace: f.trace, Report: f.report,
			Playbooks: testLibrary(),
		},
		Mode: mode, NoColor: true, Refresh: time.Hour,
		Now: func() time.Time { return t0 },
	}, f
}

var (
	libOnce sync.Once
	lib     *playbook.Library
)

// testLibrary is the shipped playbooks, loaded once.
func testLibrary() *playbook.Library {
	libOnce.Do(func() {
		var err error
		if lib, err = playbook.Load(playbooks.FS, ""); err != nil {
			panic(err)
		}
	})
	return lib
}

// press builds a key press the way the terminal reader would.
func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(s)
	if len(r) != 1 {
		panic("press: unknown key " + s)
	}
	k := tea.KeyPressMsg{Code: r[0], Text: s}
	if r[0] >= 'A' && r[0] <= 'Z' {
		k.Code, k.ShiftedCode, k.Mod = r[0]+'a'-'A', r[0], tea.ModShift
	}
	return k
}

// drive runs the model's Update for msg and every command it returns,
// synchronously, the way the program would (ticks excluded).
func drive(t testing.TB, m *Model, msgs ...tea.Msg) {
	t.Helper()
	queue := append([]tea.Msg(nil), msgs...)
	for n := 0; len(queue) > 0; n++ {
		if n > 1000 {
			t.Fatal("drive: too many messages")
		}
		msg := queue[0]
		queue = queue[1:]
		_, cmd := m.Update(msg)
		queue = append(queue, run(cmd)...)
	}
}

// run executes a command tree, skipping ticks, quits and blocking waits.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(200 * time.Millisecond):
		return nil // a tick or a wait on a channel
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	case tea.QuitMsg, tickMsg, nil:
		return nil
	}
	return []tea.Msg{msg}
}

// screen is the model's view with styles stripped.
func screen(m *Model) string { return ansi.Strip(m.render()) }

// started is a model at w×h with the first snapshot in.
func started(t testing.TB, w, h int, mode Mode) (*Model, *fakes) {
	t.Helper()
	cfg, f := testConfig(mode)
	m := New(cfg)
	drive(t, m, tea.WindowSizeMsg{Width: w, Height: h}, snapMsg{cfg.Snapshot()}, blocksMsg{})
	return m, f
}
