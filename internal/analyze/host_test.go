package analyze

import (
	"net/netip"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// fleetEvents are the same page, mail action and DNS name seen on two web
// servers and on this host, from one attacker address.
func fleetEvents() []logs.Event {
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	src := netip.MustParseAddr("203.0.113.9")
	var evs []logs.Event
	for i, host := range []string{"web1", "web2", "web2", ""} {
		t := at.Add(time.Duration(i) * time.Second)
		evs = append(evs,
			logs.Event{Time: t, Src: src, Kind: logs.KindHTTP, Source: "/var/log/nginx/access.log", Host: host,
				HTTP: logs.HTTPFields{Vhost: "Shop.Example.com", Path: "/img/a.jpg", Status: 200, Method: "GET"}},
			logs.Event{Time: t, Src: src, Kind: logs.KindHTTP, Source: "/var/log/nginx/error.log", Host: host,
				HTTP: logs.HTTPFields{Action: logs.WebNotFound}},
			logs.Event{Time: t, Src: src, Kind: logs.KindMail, Source: "/var/log/mail.log", Host: host,
				Mail: logs.MailFields{Action: logs.ActReject, Reason: "relay_denied"}},
			logs.Event{Time: t, Src: src, Kind: logs.KindDNS, Source: "/var/log/named/query.log", Host: host,
				DNS: logs.DNSFields{QName: "Example.com.", QType: "A"}},
		)
	}
	return evs
}

func groupByKey(gs []Group) map[string]Group {
	m := make(map[string]Group, len(gs))
	for _, g := range gs {
		m[g.Key] = g
	}
	return m
}

func TestSplitByHost(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SplitByHost = true
	a := New(cfg)
	a.AddEvents(fleetEvents())
	s := a.Snapshot()

	pages := groupByKey(s.Pages)
	want := map[string]struct {
		host   string
		events int64
	}{
		"web1 shop.example.com/img/a.jpg": {"web1", 1},
		"web2 shop.example.com/img/a.jpg": {"web2", 2},
		"shop.example.com/img/a.jpg":      {"", 1},
	}
	if len(pages) != len(want) {
		t.Fatalf("pages = %+v, want %d rows", s.Pages, len(want))
	}
	for k, w := range want {
		g, ok := pages[k]
		if !ok || g.Host != w.host || g.Events != w.events || g.Vhost != "shop.example.com" || g.Path != "/img/a.jpg" || g.Sources != 1 {
			t.Errorf("page %q = %+v (present %v), want host %q, %d events", k, g, ok, w.host, w.events)
		}
	}
	if m := groupByKey(s.MailActions); len(m) != 3 || m["web2 reject/relay_denied"].Events != 2 || m["reject/relay_denied"].Events != 1 {
		t.Errorf("mail actions = %+v", s.MailActions)
	}
	if m := groupByKey(s.DNSNames); len(m) != 3 || m["web1 example.com"].Events != 1 || m["example.com"].Events != 1 {
		t.Errorf("DNS names = %+v", s.DNSNames)
	}
	// The attacker is one attacker across the fleet.
	if len(s.IPs) != 1 || s.IPs[0].Events != 16 || len(s.Prefixes) != 1 || s.Prefixes[0].Events != 16 {
		t.Errorf("IPs = %+v, prefixes = %+v: want one of each with 16 events", s.IPs, s.Prefixes)
	}
}

func TestMergedHosts(t *testing.T) {
	a := New(DefaultConfig())
	a.AddEvents(fleetEvents())
	s := a.Snapshot()
	if len(s.Pages) != 1 || s.Pages[0].Key != "shop.example.com/img/a.jpg" || s.Pages[0].Events != 4 || s.Pages[0].Host != "" || s.Pages[0].Vhost != "shop.example.com" {
		t.Fatalf("pages = %+v, want one merged row of 4 events", s.Pages)
	}
	if len(s.MailActions) != 1 || s.MailActions[0].Events != 4 || len(s.DNSNames) != 1 || s.DNSNames[0].Key != "example.com" {
		t.Errorf("mail actions = %+v, DNS names = %+v: want merged", s.MailActions, s.DNSNames)
	}
}

// The same path followed on two hosts is two sources, each with its host,
// and a malformed line without a host lands on a source of that name.
func TestSourceHealthPerHost(t *testing.T) {
	a := New(DefaultConfig())
	a.AddEvents(fleetEvents())
	a.AddMalformed("/var/log/mail.log", 9, "no parser", "garbage")
	a.AddMalformed("/var/log/only-remote.log", 1, "no parser", "garbage")
	a.AddEvents([]logs.Event{{Time: time.Date(2026, 3, 3, 10, 0, 5, 0, time.UTC), Kind: logs.KindDNS, Source: "/var/log/web3.log", Host: "web3", DNS: logs.DNSFields{QName: "a"}}})
	a.AddMalformed("/var/log/web3.log", 2, "no parser", "garbage")
	s := a.Snapshot()
	type hk struct{ host, name string }
	got := map[hk]SourceHealth{}
	for _, h := range s.Sources {
		got[hk{h.Host, h.Name}] = h
	}
	for _, host := range []string{"web1", "web2", ""} {
		h, ok := got[hk{host, "/var/log/nginx/access.log"}]
		if !ok {
			t.Fatalf("no access.log source for host %q in %+v", host, s.Sources)
		}
		if want := map[string]int64{"web1": 1, "web2": 2, "": 1}[host]; h.Lines != want {
			t.Errorf("host %q access.log lines = %d, want %d", host, h.Lines, want)
		}
	}
	if h := got[hk{"", "/var/log/mail.log"}]; h.Malformed != 1 || h.Lines != 2 {
		t.Errorf("this host's mail.log = %+v, want the malformed line counted there", h)
	}
	if h := got[hk{"web3", "/var/log/web3.log"}]; h.Malformed != 1 || h.Lines != 2 {
		t.Errorf("web3's web3.log = %+v, want its malformed line", h)
	}
	if h := got[hk{"", "/var/log/only-remote.log"}]; h.Malformed != 1 {
		t.Errorf("only-remote.log = %+v", h)
	}
}
