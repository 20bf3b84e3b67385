package fleet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/block/crowdsec/lapitest"
	"github.com/irtui/irtui/internal/testkit"
)

// The fleet lab: a "hub" namespace holding a bridge and the CrowdSec LAPI,
// two web hosts each running Debian's crowdsec-firewall-bouncer (nftables)
// that pulls from it, an attacker and a customer, all on the bridge.
var (
	hub4, hub6   = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8:f::1")
	web4         = []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.12")}
	web6         = []netip.Addr{netip.MustParseAddr("2001:db8:f::11"), netip.MustParseAddr("2001:db8:f::12")}
	att4, att6   = netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("2001:db8:f::6601")
	cust4, cust6 = netip.MustParseAddr("192.0.2.77"), netip.MustParseAddr("2001:db8:f::77")
	other4       = netip.MustParseAddr("192.0.2.99") // blocked by the operator with cscli
)

type fleetLab struct {
	id, mode       string
	hub, att, cust string
	web            []string
	lapi           *lapitest.LAPI
	hc             *http.Client // reaches the LAPI inside the hub namespace
	bouncerLogs    []*bytes.Buffer
}

func run(t testing.TB, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

func newFleetLab(t *testing.T, mode string) *fleetLab {
	t.Helper()
	testkit.NeedRoot(t)
	testkit.NeedTool(t, "ip", "iproute2")
	if mode == "nftables" {
		testkit.NeedTool(t, "nft", "nftables")
	} else {
		testkit.NeedTool(t, "iptables", "iptables")
		testkit.NeedTool(t, "ipset", "ipset")
	}
	testkit.NeedTool(t, "crowdsec-firewall-bouncer", "crowdsec-firewall-bouncer")
	lapitest.NeedCrowdSec(t)
	var b [3]byte
	rand.Read(b[:])
	id := "irf-" + hex.EncodeToString(b[:])
	l := &fleetLab{id: id, mode: mode, hub: id + "-hub", att: id + "-att", cust: id + "-cust", web: []string{id + "-w1", id + "-w2"}}
	all := append([]string{l.hub, l.att, l.cust}, l.web...)
	for _, ns := range all {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", l.hub, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", l.hub, "addr", "add", hub4.String()+"/24", "dev", "br0")
	run(t, "ip", "-n", l.hub, "addr", "add", hub6.String()+"/64", "dev", "br0", "nodad")
	run(t, "ip", "-n", l.hub, "link", "set", "br0", "up")
	attach := func(ns, port string, addrs ...netip.Addr) {
		run(t, "ip", "-n", l.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run(t, "ip", "-n", l.hub, "link", "set", port, "master", "br0")
		run(t, "ip", "-n", l.hub, "link", "set", port, "up")
		for _, a := range addrs {
			bits := 24
			if a.Is6() {
				bits = 64
			}
			run(t, "ip", "-n", ns, "addr", "add", netip.PrefixFrom(a, bits).String(), "dev", "eth0", "nodad")
		}
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	}
	attach(l.att, "p-att", att4, att6)
	attach(l.cust, "p-cust", cust4, cust6, other4)
	for i, ns := range l.web {
		attach(ns, fmt.Sprintf("p-w%d", i+1), web4[i], web6[i])
		l.serveHTTP(t, ns)
	}
	l.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := testkit.InNetns(l.hub, func() error {
				var err error
				c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
	l.lapi = lapitest.Start(t, hub4.String()+":8080", l.hub, l.hc)
	for i, ns := range l.web {
		l.startBouncer(t, ns, fmt.Sprintf("web%d", i+1))
	}
	return l
}

func (l *fleetLab) serveHTTP(t *testing.T, ns string) {
	t.Helper()
	var ln net.Listener
	if err := testkit.InNetns(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "[::]:80")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "shop is open")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// startBouncer runs Debian's firewall bouncer (nftables or iptables mode)
// inside ns,
// pulling the LAPI every second.
func (l *fleetLab) startBouncer(t *testing.T, ns, name string) {
	t.Helper()
	key := l.lapi.Bouncer(t, name)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bouncer.yaml")
	body := fmt.Sprintf(`mode: %[4]s
pid_dir: %[1]s/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: http://%[2]s:8080/
api_key: %[3]s
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
ipset_type: nethash
iptables_chains:
  - INPUT
`, dir, hub4, key, l.mode)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "crowdsec-firewall-bouncer", "-c", cfg)
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.bouncerLogs = append(l.bouncerLogs, log)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("bouncer %s:\n%s", name, log.String())
		}
	})
	// Ready when its set is in place.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := l.bouncerState(ns)
		if strings.Contains(out, "crowdsec-blacklists") && strings.Contains(out, "crowdsec6-blacklists") {
			return
		}
		select {
		case <-done:
			t.Fatalf("bouncer %s exited: %s", name, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bouncer %s has no nftables table: %s\n%s", name, out, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bouncerState is the firewall state the bouncer keeps in ns.
func (l *fleetLab) bouncerState(ns string) string {
	var argv [][]string
	if l.mode == "nftables" {
		argv = [][]string{{"nft", "list", "ruleset"}}
	} else {
		argv = [][]string{{"ipset", "list"}, {"iptables-save"}, {"ip6tables-save"}}
	}
	var b strings.Builder
	for _, a := range argv {
		out, _ := exec.Command("ip", append([]string{"netns", "exec", ns}, a...)...).CombinedOutput()
		b.Write(out)
	}
	return b.String()
}

// probe asks web from src inside ns for a page.
func probe(ns string, src, dst netip.Addr, timeout time.Duration) error {
	return testkit.InNetns(ns, func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		c, err := d.Dial("tcp", netip.AddrPortFrom(dst, 80).String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write([]byte("GET / HTTP/1.0\r\nHost: shop\r\n\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "HTTP/1.0 200") {
			return fmt.Errorf("unexpected answer %q", line)
		}
		return nil
	})
}

type client struct {
	ns  string
	src netip.Addr
}

// waitAll waits until every client gets an answer from every web host
// (open) or none does (blocked), and returns how long that took.
func (l *fleetLab) waitAll(t *testing.T, clients []client, open bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok := true
		var bad string
		for _, c := range clients {
			for i := range l.web {
				dst := web4[i]
				if c.src.Is6() {
					dst = web6[i]
				}
				err := probe(c.ns, c.src, dst, 300*time.Millisecond)
				if (err == nil) != open {
					ok = false
					bad = fmt.Sprintf("%s → %s: %v", c.src, dst, err)
				}
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			for _, ns := range l.web {
				t.Logf("%s firewall:\n%s", ns, l.bouncerState(ns))
			}
			t.Fatalf("after %s, %s (want open=%v)", within, bad, open)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Debian bookworm's bouncer (0.0.25) in nftables mode keeps only the first
// address of a Range decision (its sets have no interval flag), so the
// nftables run blocks the attacker's two addresses, and the iptables
// (ipset hash:net) run blocks its v6 network as a range.
func TestFleetBlockThroughCrowdSecNFT(t *testing.T) {
	testFleetBlock(t, "nftables", []netip.Prefix{netip.PrefixFrom(att4, 32), netip.PrefixFrom(att6, 128)})
}

func TestFleetBlockThroughCrowdSecIPTables(t *testing.T) {
	testFleetBlock(t, "iptables", []netip.Prefix{netip.PrefixFrom(att4, 32), netip.MustParsePrefix("2001:db8:f::6600/120")})
}

func testFleetBlock(t *testing.T, mode string, targets []netip.Prefix) {
	l := newFleetLab(t, mode)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	attackers := []client{{l.att, att4}, {l.att, att6}}
	customers := []client{{l.cust, cust4}, {l.cust, cust6}}
	l.waitAll(t, append(attackers, customers...), true, 10*time.Second)

	// The operator's own decision, made with cscli: irtui must leave it.
	l.lapi.Cscli(t, "decisions", "add", "-i", other4.String(), "-d", "2h", "-R", "operator")

	// irtui: the fleet's hosts are resolved and protected.
	names := Names([]string{"ssh://" + web4[0].String() + "/var/log/nginx/access.log", "ssh://[" + web6[1].String() + "]/var/log/nginx/access.log"},
		l.lapi.URL, []string{web4[1].String(), web6[0].String()})
	hosts, err := Resolve(ctx, names, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := block.NewGuard(block.GuardOptions{Env: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if err := Protect(g, hosts); err != nil {
		t.Fatal(err)
	}
	be, err := crowdsec.Open(l.lapi.Machine(t, "irtui-console"), l.hc)
	if err != nil {
		t.Fatal(err)
	}
	j, err := block.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := &block.Engine{Backend: be, Journal: j, Guard: g, Who: "tester"}

	// A block that would cut a web host is refused whole, nothing sent.
	if _, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{netip.PrefixFrom(att4, 32), netip.MustParsePrefix("192.0.2.8/29")}}); err == nil ||
		!strings.Contains(err.Error(), "192.0.2.11, a fleet host") {
		t.Fatalf("a block covering web1 must be refused: %v", err)
	}
	if _, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{netip.MustParsePrefix("2001:db8:f::/120")}}); err == nil {
		t.Fatal("a v6 block covering the web hosts must be refused")
	}

	// One block from irtui: the attacker's address and its v6 network.
	be.SetReason("playbook web-flood step 2: block the flood's sources")
	p, err := e.Plan(ctx, block.Request{Targets: targets, TTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(p.Rules(), "# POST") != 1 {
		t.Fatalf("one request for the batch:\n%s", p.Rules())
	}
	applied := time.Now()
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	took := l.waitAll(t, attackers, false, 20*time.Second)
	t.Logf("both web hosts drop the attacker %s after the decision was pushed (bouncer pull interval 1s)", time.Since(applied).Round(10*time.Millisecond))
	_ = took
	l.waitAll(t, customers, true, 5*time.Second)

	// Both bouncers hold the decisions in their own sets.
	for _, ns := range l.web {
		out := l.bouncerState(ns)
		for _, p := range append(targets, netip.PrefixFrom(other4, 32)) {
			want := p.String()
			if p.IsSingleIP() {
				want = p.Addr().String()
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s: the bouncer's sets lack %s:\n%s", ns, want, out)
			}
		}
	}
	act, err := e.List(ctx)
	if err != nil || len(act) != 1 || act[0].Missing != 0 || act[0].Left < 29*time.Minute {
		t.Fatalf("blocks: %+v, %v", act, err)
	}

	// The panic button: both hosts answer the attacker again, the
	// operator's cscli decision stays.
	if _, err := e.UnblockAll(ctx); err != nil {
		t.Fatal(err)
	}
	l.waitAll(t, attackers, true, 20*time.Second)
	l.waitAll(t, customers, true, 5*time.Second)
	got := l.lapi.Active(t)
	if len(got["irtui"]) != 0 || !slices.Equal(got["cscli"], []string{other4.String()}) {
		t.Fatalf("after unblock --all: %v", got)
	}
	// The cscli block is still enforced on both web hosts.
	for i, ns := range l.web {
		if err := probe(l.cust, other4, web4[i], 300*time.Millisecond); err == nil {
			t.Errorf("%s: the operator's cscli block on %s was lifted", ns, other4)
		}
	}
}
