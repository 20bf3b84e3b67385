package loggen

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/logs/formats"
)

func parser(t *testing.T, name string) logs.Parser {
	t.Helper()
	f, ok := formats.ByName(name)
	if !ok {
		t.Fatalf("no format %q", name)
	}
	now := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	return f.New(logs.Options{Now: func() time.Time { return now }, Location: time.UTC})
}

// TestLinesParse checks that every line the generator writes is understood
// by irtui's own parsers as the record's Event says.
func TestLinesParse(t *testing.T) {
	at := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	web := NewWeb(1, 500, 0.5)
	var recs []HTTP
	for i := 0; i < 2000; i++ {
		recs = append(recs, web.Benign(at))
	}
	recs = append(recs, web.NewPageFlood(5).Next(at), web.NewSingleFlood().Next(at), web.NewLoginBruteforce(2).Next(at), web.NewScanner().Next(at))
	for _, name := range []string{"combined", "vhost_combined"} {
		p := parser(t, name)
		for i := range recs {
			r := &recs[i]
			var line []byte
			if name == "combined" {
				line = AppendCombined(nil, r)
			} else {
				line = AppendVhostCombined(nil, r)
			}
			var ev logs.Event
			if err := p.Parse(string(bytes.TrimSuffix(line, []byte("\n"))), &ev); err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			want := r.Event()
			if ev.Src != want.Src || ev.HTTP.Status != want.HTTP.Status || ev.HTTP.Path != want.HTTP.Path ||
				ev.HTTP.Bytes != want.HTTP.Bytes || ev.HTTP.Method != want.HTTP.Method || ev.HTTP.UA != want.HTTP.UA || !ev.Time.Equal(want.Time) {
				t.Fatalf("%s: %q parsed as %+v %+v, want %+v", name, line, ev.Src, ev.HTTP, want.HTTP)
			}
		}
	}

	mail := NewMail(2, "mx", "shop.example")
	var mails []Mail
	for i := 0; i < 50; i++ {
		mails = append(mails, mail.Benign(at)...)
		mails = append(mails, mail.Outbound(at)...)
	}
	src := netip.MustParseAddr("203.0.113.7")
	mails = append(mails, mail.RelayAttempt(at, src), mail.AuthFailure(at, src), mail.Backscatter(at, src),
		Mail{Time: at, Host: "mx", Kind: MailBounceNotice, PID: 9, QueueID: "ABC123", Helo: "DEF456"})
	p := parser(t, "postfix")
	for i := range mails {
		m := &mails[i]
		line := strings.TrimSuffix(string(AppendPostfix(nil, m)), "\n")
		var ev logs.Event
		if err := p.Parse(line, &ev); err != nil {
			t.Fatalf("postfix: %q: %v", line, err)
		}
		want := m.Event()
		if ev.Src != want.Src || ev.Mail.Action != want.Mail.Action || ev.Mail.Outbound != want.Mail.Outbound ||
			(want.Mail.Reason != "" && ev.Mail.Reason != want.Mail.Reason) || ev.Mail.From != want.Mail.From {
			t.Errorf("postfix: %q parsed as src %v %+v, want src %v %+v", line, ev.Src, ev.Mail, want.Src, want.Mail)
		}
	}

	dns := NewDNS(3, "shop.example", netip.MustParseAddr("192.0.2.53"))
	qs := []DNS{dns.Benign(at), dns.Denied(at, src), dns.Any(at, src)}
	for i := 0; i < 100; i++ {
		qs = append(qs, dns.Benign(at))
	}
	p = parser(t, "bind")
	for i := range qs {
		q := &qs[i]
		line := strings.TrimSuffix(string(AppendBind(nil, q)), "\n")
		var ev logs.Event
		if err := p.Parse(line, &ev); err != nil {
			t.Fatalf("bind: %q: %v", line, err)
		}
		want := q.Event()
		if ev.Src != want.Src || ev.DNS.Denied != want.DNS.Denied || !strings.EqualFold(ev.DNS.QName, want.DNS.QName) ||
			(!want.DNS.Denied && (ev.DNS.QType != want.DNS.QType || ev.DNS.RD != want.DNS.RD)) {
			t.Errorf("bind: %q parsed as %v %+v, want %+v", line, ev.Src, ev.DNS, want.DNS)
		}
	}
}

func TestAccessLogShape(t *testing.T) {
	c := DefaultAccessLog()
	c.Lines = 100000
	var a, b bytes.Buffer
	tr, err := WriteAccessLog(&a, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteAccessLog(&b, c); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote different files")
	}
	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	if len(lines) != c.Lines || tr.Lines != c.Lines || tr.Bytes != int64(a.Len()) {
		t.Fatalf("%d lines, truth %+v", len(lines), tr)
	}
	v6 := 0
	for _, l := range lines {
		if strings.Contains(l[:strings.IndexByte(l, ' ')], ":") {
			v6++
		}
	}
	if share := float64(v6) / float64(len(lines)); share < 0.06 || share > 0.14 {
		t.Errorf("IPv6 share %.3f, want about 0.1", share)
	}
	if per := a.Len() / len(lines); per < 130 || per > 190 {
		t.Errorf("%d bytes per line, want ~150 (1 M lines ≈ 150 MB)", per)
	}
	c.Attacks = []string{"nonsense"}
	if _, err := WriteAccessLog(&b, c); err == nil {
		t.Error("unknown attack accepted")
	}
}

// TestQuoting makes sure request fields with quotes and controls stay one field.
func TestQuoting(t *testing.T) {
	r := HTTP{Time: time.Unix(0, 0).UTC(), Src: netip.MustParseAddr("2001:db8::1"), Method: "GET", Path: "/a\"b\x1b[2J",
		Proto: "HTTP/1.1", Status: 200, UA: "x\"y\\"}
	line := string(AppendCombined(nil, &r))
	if strings.ContainsRune(line, 0x1b) || !strings.Contains(line, `\"`) {
		t.Errorf("line %q", line)
	}
	var ev logs.Event
	if err := parser(t, "combined").Parse(strings.TrimSuffix(line, "\n"), &ev); err != nil || ev.HTTP.Status != 200 {
		t.Errorf("%q: %v %+v", line, err, ev.HTTP)
	}
}
