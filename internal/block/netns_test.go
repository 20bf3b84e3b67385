package block

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/testkit"
	"golang.org/x/sys/unix"
)

// lab is three network namespaces: a server running HTTP on 80 and an SMTP
// banner on 25, an attacker with three addresses per family and a customer,
// each linked to the server by a veth pair. irtui's rules go into the
// server namespace only.
type lab struct {
	srv, att, cust string
	// The server's address on each link, and the clients' addresses.
	srvAtt4, srvAtt6, srvCust4, srvCust6 netip.Addr
	att4, att6                           []netip.Addr
	cust4, cust6                         netip.Addr
}

var (
	labSrvAtt4  = netip.MustParseAddr("192.0.2.1")
	labSrvAtt6  = netip.MustParseAddr("2001:db8:a::1")
	labSrvCust4 = netip.MustParseAddr("198.51.100.1")
	labSrvCust6 = netip.MustParseAddr("2001:db8:c::1")
)

func needFirewall(t testing.TB, backend string) {
	t.Helper()
	testkit.NeedRoot(t)
	testkit.NeedTool(t, "ip", "iproute2")
	switch backend {
	case "nft":
		testkit.NeedTool(t, "nft", "nftables")
	case "iptables":
		testkit.NeedTool(t, "iptables-restore", "iptables")
		testkit.NeedTool(t, "ip6tables-restore", "iptables")
		testkit.NeedTool(t, "ipset", "ipset")
	}
}

func run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

func runIn(t testing.TB, ns string, input string, argv ...string) string {
	t.Helper()
	out, err := Runner{Prefix: []string{"ip", "netns", "exec", ns}}.Run(context.Background(), input, argv[0], argv[1:]...)
	if err != nil {
		t.Fatalf("in %s: %v", ns, err)
	}
	return string(out)
}

func newLab(t testing.TB) *lab {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	id := "irtui-" + hex.EncodeToString(b[:])
	l := &lab{srv: id + "-srv", att: id + "-att", cust: id + "-cust",
		srvAtt4: labSrvAtt4, srvAtt6: labSrvAtt6, srvCust4: labSrvCust4, srvCust6: labSrvCust6,
		cust4: netip.MustParseAddr("198.51.100.10"), cust6: netip.MustParseAddr("2001:db8:c::10")}
	for _, s := range []string{"10", "11", "12"} {
		l.att4 = append(l.att4, netip.MustParseAddr("192.0.2."+s))
		l.att6 = append(l.att6, netip.MustParseAddr("2001:db8:a::"+s))
	}
	for _, ns := range []string{l.srv, l.att, l.cust} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "-n", l.srv, "link", "add", "toatt", "type", "veth", "peer", "name", "tosrv", "netns", l.att)
	run(t, "ip", "-n", l.srv, "link", "add", "tocust", "type", "veth", "peer", "name", "tosrv", "netns", l.cust)
	addr := func(ns, dev, a string) { run(t, "ip", "-n", ns, "addr", "add", a, "dev", dev, "nodad") }
	addr(l.srv, "toatt", "192.0.2.1/24")
	addr(l.srv, "toatt", "2001:db8:a::1/64")
	addr(l.srv, "tocust", "198.51.100.1/24")
	addr(l.srv, "tocust", "2001:db8:c::1/64")
	for i := range l.att4 {
		addr(l.att, "tosrv", l.att4[i].String()+"/24")
		addr(l.att, "tosrv", l.att6[i].String()+"/64")
	}
	addr(l.cust, "tosrv", "198.51.100.10/24")
	addr(l.cust, "tosrv", "2001:db8:c::10/64")
	run(t, "ip", "-n", l.srv, "link", "set", "toatt", "up")
	run(t, "ip", "-n", l.srv, "link", "set", "tocust", "up")
	run(t, "ip", "-n", l.att, "link", "set", "tosrv", "up")
	run(t, "ip", "-n", l.cust, "link", "set", "tosrv", "up")
	l.serve(t)
	// Wait until both links answer, so a failure later means a block.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e1 := probe(l.att, l.att4[0], l.srvAtt4, 80, time.Second)
		e2 := probe(l.cust, l.cust6, l.srvCust6, 80, time.Second)
		if e1 == nil && e2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab does not answer before any block: %v / %v", e1, e2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return l
}

func (l *lab) serve(t testing.TB) {
	t.Helper()
	var lns []net.Listener
	err := testkit.InNetns(l.srv, func() error {
		for _, port := range []string{"80", "25"} {
			ln, err := net.Listen("tcp", "[::]:"+port)
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "shop is open")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(lns[0])
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := lns[1].Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 mail.example ESMTP\r\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		lns[1].Close()
		wg.Wait()
	})
}

// probe connects from src in namespace ns to dst:port and expects the
// service's answer: an HTTP status line on 80, an SMTP banner on 25.
func probe(ns string, src, dst netip.Addr, port uint16, timeout time.Duration) error {
	return testkit.InNetns(ns, func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		c, err := d.Dial("tcp", netip.AddrPortFrom(dst, port).String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if port == 80 {
			if _, err := c.Write([]byte("GET / HTTP/1.0\r\nHost: shop\r\n\r\n")); err != nil {
				return err
			}
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if (port == 80 && !strings.HasPrefix(line, "HTTP/1.0 200")) || (port == 25 && !strings.HasPrefix(line, "220")) {
			return fmt.Errorf("unexpected answer %q", line)
		}
		return nil
	})
}

// expectOpen and expectBlocked name the client in failures.
func expectOpen(t *testing.T, ns string, src, dst netip.Addr, port uint16) {
	t.Helper()
	if err := probe(ns, src, dst, port, 2*time.Second); err != nil {
		t.Errorf("%s → %s:%d should get an answer: %v", src, dst, port, err)
	}
}

func expectBlocked(t *testing.T, ns string, src, dst netip.Addr, port uint16) error {
	t.Helper()
	err := probe(ns, src, dst, port, 400*time.Millisecond)
	if err == nil {
		t.Errorf("%s → %s:%d should be blocked but got an answer", src, dst, port)
	}
	return err
}

func isRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }

// engine returns an engine acting inside the lab's server namespace, with
// its own journal and a guard protecting the server's addresses.
func (l *lab) engine(t testing.TB, backend string) *Engine {
	t.Helper()
	return l.engineAt(t, backend, t.TempDir())
}

func (l *lab) engineAt(t testing.TB, backend, dir string) *Engine {
	t.Helper()
	be, err := NewBackend(backend, Runner{Prefix: []string{"ip", "netns", "exec", l.srv}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(GuardOptions{
		Env: func(string) string { return "" },
		OwnAddrs: func() ([]netip.Prefix, error) {
			var out []netip.Prefix
			for _, a := range []netip.Addr{l.srvAtt4, l.srvAtt6, l.srvCust4, l.srvCust6} {
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
			return out, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Engine{Backend: be, Journal: j, Guard: g, Who: "tester"}
}

func mustBlock(t testing.TB, e *Engine, rule Rule, ttl time.Duration, targets ...string) *Plan {
	t.Helper()
	var ps []netip.Prefix
	for _, s := range targets {
		p, err := ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	p, err := e.Plan(context.Background(), Request{Targets: ps, Rule: rule, TTL: ttl, Why: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(context.Background(), p); err != nil {
		t.Fatalf("apply:\n%s\n%v", p.Rules(), err)
	}
	return p
}

var backends = []string{"nft", "iptables"}
