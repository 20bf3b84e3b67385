package main

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/block"
	"github.com/irtui/irtui/internal/block/crowdsec"
	"github.com/irtui/irtui/internal/block/crowdsec/lapitest"
)

func TestSSHFlags(t *testing.T) {
	f := sshFlags{config: "/etc/irtui/ssh_config", options: multiFlag{"ProxyJump=bastion", "UserKnownHostsFile=/k"}}
	got, err := f.args()
	if err != nil || strings.Join(got, " ") != "-F /etc/irtui/ssh_config -o ProxyJump=bastion -o UserKnownHostsFile=/k" {
		t.Fatalf("args = %q, %v", got, err)
	}
	for _, bad := range []string{"-oProxyCommand=x", "ProxyJump", "=x", "Proxy Jump=x"} {
		f := sshFlags{options: multiFlag{bad}}
		if _, err := f.args(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFleetCheckCrowdSec(t *testing.T) {
	l := lapitest.Start(t, "127.0.0.1:"+strconv.Itoa(lapitest.FreePort(t)), "", nil)
	cred := l.Machine(t, "irtui-ops")
	be, err := crowdsec.Open(cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := block.OpenJournal(t.TempDir())
	g, _ := block.NewGuard(block.GuardOptions{Env: func(string) string { return "" }})
	e := &block.Engine{Backend: be, Journal: j, Guard: g, Who: "t"}
	ctx := context.Background()
	p, err := e.Plan(ctx, block.Request{Targets: []netip.Prefix{netip.MustParsePrefix("203.0.113.8/32")}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	rep, ok := fleetCheck(ctx, nil, nil, []string{"198.51.100.4"}, nil, cred, time.Hour)
	if !ok || rep.CrowdSec == nil || len(rep.CrowdSec.Decisions) != 1 || rep.CrowdSec.Decisions[0].Target != "203.0.113.8" {
		t.Fatalf("report: %+v ok=%v", rep, ok)
	}
	var b bytes.Buffer
	printFleet(&b, rep)
	for _, want := range []string{"198.51.100.4: 198.51.100.4", "irtui decisions in force: 1", "203.0.113.8 ", "by irtui-ops"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}
