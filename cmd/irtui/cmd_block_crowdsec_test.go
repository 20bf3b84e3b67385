package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/irtui/irtui/internal/block/crowdsec/lapitest"
)

// TestBlockCommandOnCrowdSec drives the block, blocks and unblock commands
// with --backend crowdsec against a real Local API: the decision appears,
// a decision added with cscli survives unblock --all, and irtui's is gone.
func TestBlockCommandOnCrowdSec(t *testing.T) {
	l := lapitest.Start(t, "127.0.0.1:"+strconv.Itoa(lapitest.FreePort(t)), "", nil)
	cred := l.Machine(t, "irtui-cmd")
	l.Cscli(t, "decisions", "add", "--ip", "198.51.100.99", "--duration", "1h", "--reason", "operator")
	state := t.TempDir()
	t.Setenv("SSH_CLIENT", "")
	t.Setenv("SSH_CONNECTION", "")
	common := []string{"--backend", "crowdsec", "--crowdsec-credentials", cred, "--state-dir", state}
	if code := runBlock(append(append([]string{}, common...), "--yes", "--why", "test flood", "192.0.2.77", "2001:db8:77::/48")); code != 0 {
		t.Fatalf("block exited %d", code)
	}
	active := l.Active(t)
	joined := strings.Join(flatten(active), " ")
	if !strings.Contains(joined, "192.0.2.77") || !strings.Contains(joined, "2001:db8:77::/48") || !strings.Contains(joined, "198.51.100.99") {
		t.Fatalf("decisions after block: %v", active)
	}
	if code := runBlocks(common); code != 0 {
		t.Fatalf("blocks exited %d", code)
	}
	if code := runUnblock(append(append([]string{}, common...), "--all")); code != 0 {
		t.Fatalf("unblock --all exited %d", code)
	}
	joined = strings.Join(flatten(l.Active(t)), " ")
	if strings.Contains(joined, "192.0.2.77") || strings.Contains(joined, "2001:db8:77") || !strings.Contains(joined, "198.51.100.99") {
		t.Fatalf("decisions after unblock --all: %s", joined)
	}
	// The guard still applies on this backend: loopback is refused.
	if code := runBlock(append(append([]string{}, common...), "--yes", "127.0.0.1")); code == 0 {
		t.Fatal("blocking loopback was not refused")
	}
}

func flatten(m map[string][]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k)
		out = append(out, v...)
	}
	return out
}
