package analyze

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/loggen"
)

// An outbound spike's targets are the clients whose mail went out: spam
// clients relaying through the server, not the inbound MTA that delivers
// mail to local users at the same time, nor the operator's own clients.
func TestOutboundSpikeTargetsSenders(t *testing.T) {
	for _, cum := range []bool{false, true} {
		t.Run(fmt.Sprint("cumulative=", cum), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Cumulative = cum
			cfg.OwnNetworks = []string{"192.0.2.0/24"}
			s := newSim(t, cfg)
			s.run(0, 1800, nil)
			inbound := netip.MustParseAddr("198.51.100.25")
			office := netip.MustParseAddr("192.0.2.40")
			spammers := []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8:66::9")}
			qid := 0
			msg := func(t time.Time, src netip.Addr, out bool) {
				qid++
				q := fmt.Sprintf("%X", 0xA0000+qid)
				last := loggen.Mail{Time: t, Kind: loggen.MailDelivered, QueueID: q, To: "anna@shop.example"}
				if out {
					last = loggen.Mail{Time: t, Kind: loggen.MailSent, QueueID: q, To: "x@example.com", Relay: "mx.example.com[198.51.100.99]:25"}
				}
				for _, m := range []loggen.Mail{
					{Time: t, Kind: loggen.MailReceived, Src: src, QueueID: q},
					{Time: t, Kind: loggen.MailQmgr, QueueID: q, From: "someone@shop.example", Size: 1500},
					last,
				} {
					s.add(m.Event())
				}
			}
			s.run(1800, 120, func(t time.Time) {
				for i := 0; i < 6; i++ {
					msg(t, spammers[i%2], true)
					msg(t, inbound, false)
				}
				msg(t, office, true)
			})
			f := find(s.a.Snapshot().Findings, "outbound_spike")
			if f == nil {
				t.Fatal("no outbound_spike")
			}
			for _, sp := range spammers {
				if !covers(f.Targets, sp) {
					t.Errorf("targets %v miss spam client %s", f.Targets, sp)
				}
			}
			if covers(f.Targets, inbound) || covers(f.Targets, office) {
				t.Errorf("targets %v include the inbound MTA or the office", f.Targets)
			}
		})
	}
}

// A remote delivery seen before the client that handed the message in
// (batches from parallel workers) is still credited to that client.
func TestQueueLinkOutOfOrder(t *testing.T) {
	var q queues
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("203.0.113.7")
	ms := loggen.Mail{Time: at, Kind: loggen.MailSent, QueueID: "ABC", Relay: "mx.example.com[198.51.100.99]:25"}
	mr := loggen.Mail{Time: at, Kind: loggen.MailReceived, QueueID: "ABC", Src: client}
	sent, recv := ms.Event(), mr.Event()
	if _, n := q.link("", &sent, sent.Src); n != 0 {
		t.Fatalf("credited %d before the client is known", n)
	}
	if _, n := q.link("", &sent, sent.Src); n != 0 {
		t.Fatal("credited before the client is known")
	}
	if a, n := q.link("", &recv, recv.Src); a != client || n != 2 {
		t.Fatalf("client line credits %s with %d, want %s with 2", a, n, client)
	}
	if a, n := q.link("", &sent, sent.Src); a != client || n != 1 {
		t.Fatalf("later delivery credits %s with %d", a, n)
	}
	// The same queue ID on another fleet host is another message.
	if _, n := q.link("web2", &sent, sent.Src); n != 0 {
		t.Fatal("queue IDs of two hosts were mixed")
	}
	// Bounded: old generations are dropped.
	for i := 0; i < 3*maxQueueIDs; i++ {
		m := loggen.Mail{Time: at, Kind: loggen.MailReceived, QueueID: fmt.Sprint(i), Src: client}
		r := m.Event()
		q.link("", &r, r.Src)
	}
	if len(q.cur)+len(q.old) > 2*maxQueueIDs {
		t.Fatalf("queue map holds %d IDs", len(q.cur)+len(q.old))
	}
}
