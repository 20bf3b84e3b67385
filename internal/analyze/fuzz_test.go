package analyze

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

// FuzzAppendPage: page keys are built from attacker-controlled paths; the
// normalisation must not panic and must be idempotent.
func FuzzAppendPage(f *testing.F) {
	for _, s := range []string{"/", "/a%2Db", "/%zz", "/%", "/%4", "/x?y=%41", "/%25%32%44", "\xff%e2%80"} {
		f.Add("Shop.Example", s)
	}
	f.Fuzz(func(t *testing.T, vhost, path string) {
		once := AppendPage(nil, "", path)
		twice := AppendPage(nil, "", string(once))
		if string(once) != string(twice) {
			t.Fatalf("not idempotent: %q → %q → %q", path, once, twice)
		}
		_ = AppendPage(nil, vhost, path)
	})
}

// FuzzAddEvents feeds events whose every string is arbitrary through the
// analyzer and takes snapshots: no panic, counts add up.
func FuzzAddEvents(f *testing.F) {
	f.Add([]byte{203, 0, 113, 9}, "/wp-login.php", "POST", "Mozilla", "x@example.org", "reject", "relay_denied", "example.com", "ANY", 401, int64(5))
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "/.env", "GET", "\x1b[2J", "", "auth_fail", "", "", "TXT", 404, int64(-1))
	f.Fuzz(func(t *testing.T, ip []byte, path, method, ua, from, action, reason, qname, qtype string, status int, n int64) {
		cfg := DefaultConfig()
		cfg.SplitByHost = n%5 != 0
		cfg.Cumulative = n%2 != 0 // a report's lazy shards, or live ones
		a := New(cfg)
		src, _ := netip.AddrFromSlice(ip)
		at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC).Add(time.Duration(n%1e6) * time.Millisecond)
		evs := []logs.Event{
			{Time: at, Src: src, Kind: logs.KindHTTP, Line: path, HTTP: logs.HTTPFields{Method: method, Path: path, Status: status, Bytes: n, UA: ua, Vhost: qname}},
			{Time: at, Src: src, Kind: logs.KindMail, Line: from, Mail: logs.MailFields{Action: action, Reason: reason, From: from, Size: n, Outbound: n%2 == 0}},
			{Time: at, Src: src, Kind: logs.KindDNS, Line: qname, DNS: logs.DNSFields{QName: qname, QType: qtype, Denied: n%3 == 0}},
			{Time: at.Add(-time.Duration(n%1e9) * time.Second), Src: src, Kind: logs.KindHTTP, HTTP: logs.HTTPFields{Path: path, Action: reason}},
		}
		// A fleet host and queue IDs: the same message handed in and sent out.
		host := method
		for i := range evs {
			evs[i].Host = host
		}
		evs[1].Mail.QueueID = reason
		evs = append(evs, logs.Event{Time: at, Kind: logs.KindMail, Host: host, Mail: logs.MailFields{Action: logs.ActSent, QueueID: reason, Outbound: true}})
		for i := 0; i < 3; i++ {
			a.AddEvents(evs)
			a.AddMalformed(path, n, reason, ua)
			s := a.Snapshot()
			if s.Parsed != int64(5*(i+1)) || s.Lines != s.Parsed+s.Malformed+s.Skipped {
				t.Fatalf("parsed %d lines %d malformed %d", s.Parsed, s.Lines, s.Malformed)
			}
		}
		_ = a.Impact([]netip.Prefix{netip.PrefixFrom(src, src.BitLen()), {}})
	})
}

// FuzzLoadConfig: the config file is YAML the operator writes; a bad one
// must be an error, never a panic, and a good one must run.
func FuzzLoadConfig(f *testing.F) {
	f.Add("windows: [1m, 5m, 1h]\nallowlist: [192.0.2.0/24]\n")
	f.Add("detect:\n  page_flood: {factor: -1, min_rate: 0}\nclusters: {max_pages: 99}\ntop: -5\n")
	f.Add("windows: [0s]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err != nil {
			return
		}
		a := New(c)
		a.AddEvents([]logs.Event{{Time: time.Now(), Src: netip.MustParseAddr("192.0.2.7"), Kind: logs.KindHTTP, HTTP: logs.HTTPFields{Path: "/"}}})
		_ = a.Snapshot()
	})
}
