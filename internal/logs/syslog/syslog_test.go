package syslog

import (
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
)

var testNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

func newTest(now time.Time) *Parser {
	return New(logs.Options{Now: func() time.Time { return now }, Location: time.UTC})
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		line                 string
		time                 string
		host, prog, pid, msg string
	}{
		{"Jan  2 03:04:05 mx postfix/smtpd[123]: connect from x[192.0.2.1]",
			"2024-01-02T03:04:05Z", "mx", "postfix/smtpd", "123", "connect from x[192.0.2.1]"},
		{"Mar 7 02:09:33 server postfix/smtpd[27246]: hello",
			"2024-03-07T02:09:33Z", "server", "postfix/smtpd", "27246", "hello"},
		{"Sep 04 00:00:06 hostname openvpn[23718]: x",
			"2023-09-04T00:00:06Z", "hostname", "openvpn", "23718", "x"},
		{"2023-06-01T10:11:12.123456+02:00 host sshd[9]: msg",
			"2023-06-01T08:11:12.123456Z", "host", "sshd", "9", "msg"},
		{"2023-06-01T10:11:12+0200 host prog[1]: short-iso",
			"2023-06-01T08:11:12Z", "host", "prog", "1", "short-iso"},
		{"2022-04-14T00:16:57.566Z mailhub postfix/smtps/smtpd[90800]: lost",
			"2022-04-14T00:16:57.566Z", "mailhub", "postfix/smtps/smtpd", "90800", "lost"},
		{"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
			"2003-10-11T22:14:15.003Z", "mymachine.example.com", "su", "", "'su root' failed"},
		{`<165>1 2003-10-11T22:14:15.003Z host evntslog 99 ID47 [exampleSDID@32473 iut="3" eventSource="App\]x"][b a="1"] An application event`,
			"2003-10-11T22:14:15.003Z", "host", "evntslog", "99", "An application event"},
		{"<35>1 2020-01-03T11:57:14.257387-05:00 1.2.3.4 sshd 86784 - - error: PAM: x",
			"2020-01-03T16:57:14.257387Z", "1.2.3.4", "sshd", "86784", "error: PAM: x"},
		{"<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
			"2023-10-11T22:14:15Z", "mymachine", "su", "", "'su root' failed"},
		// The odd headers of sshguard's and fail2ban's samples. June 20 lies
		// more than three days after testNow, so it is last year's.
		{"Oct 14 19:45:05 [exim] LOGIN authenticator failed",
			"2023-10-14T19:45:05Z", "", "exim", "", "LOGIN authenticator failed"},
		{"2015-05-27T04:31:27.46667 auth.info: Invalid user admin",
			"2015-05-27T04:31:27.46667Z", "", "auth.info", "", "Invalid user admin"},
		{"2018-12-20 10:09:05.180218+0000 localhost sshd[67566]: Invalid user git",
			"2018-12-20T10:09:05.180218Z", "localhost", "sshd", "67566", "Invalid user git"},
		{"Jun 20 02:18:39 vps auth.info sshd[13482]: Invalid user admin",
			"2023-06-20T02:18:39Z", "vps", "sshd", "13482", "Invalid user admin"},
		{"May 9 11:11:17 sshd[30876]: Invalid user www",
			"2024-05-09T11:11:17Z", "", "sshd", "30876", "Invalid user www"},
		{"Jun 17 14:37:39 <mail.notice> robin sm-mta[2794]: 55HIbcGI002794: x",
			"2024-06-17T14:37:39Z", "robin", "sm-mta", "2794", "55HIbcGI002794: x"},
		{"Oct 23 03:35:40 update-security: error: client x",
			"2023-10-23T03:35:40Z", "", "update-security", "", "error: client x"},
		{"Dec 18 16:15:28 [postfix/smtpd] 0000 16 03 01",
			"2023-12-18T16:15:28Z", "", "postfix/smtpd", "", "0000 16 03 01"},
		{"Jan  2 2021 03:04:05 host prog: with year",
			"2021-01-02T03:04:05Z", "host", "prog", "", "with year"},
		{"Feb  3 04:05:06 host some message without tag",
			"2024-02-03T04:05:06Z", "host", "", "", "some message without tag"},
	}
	for _, tc := range tests {
		p := newTest(testNow)
		var h Header
		if err := p.Parse(tc.line, &h); err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, tc.time)
		if !h.Time.Equal(want) || h.Time.Location() != time.UTC {
			t.Errorf("%q: time %v, want %v", tc.line, h.Time, want)
		}
		if h.Host != tc.host || h.Program != tc.prog || h.PID != tc.pid || h.Message != tc.msg {
			t.Errorf("%q: got host=%q prog=%q pid=%q msg=%q", tc.line, h.Host, h.Program, h.PID, h.Message)
		}
	}
}

func TestRejects(t *testing.T) {
	for _, line := range []string{
		"", "hello world", "2024-13-01T00:00:00Z host x: y", "Foo  2 03:04:05 host x: y",
		"Jan 32 03:04:05 host x: y", "Jan  2 25:04:05 host x: y", "Jan  2 03:04:05",
		"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
		"<34>1 notatime host app - - - msg",
	} {
		var h Header
		if err := newTest(testNow).Parse(line, &h); err == nil {
			t.Errorf("%q: accepted as %+v", line, h)
		}
	}
}

// TestNewYear: a file that crosses New Year, read in early January, puts
// December in the previous year and keeps January in the current one.
func TestNewYear(t *testing.T) {
	p := newTest(time.Date(2024, 1, 3, 9, 0, 0, 0, time.UTC))
	lines := []struct{ line, want string }{
		{"Dec 30 23:59:58 h p: a", "2023-12-30T23:59:58Z"},
		{"Dec 31 23:59:59 h p: b", "2023-12-31T23:59:59Z"},
		{"Jan  1 00:00:01 h p: c", "2024-01-01T00:00:01Z"},
		{"Jan  2 10:00:00 h p: d", "2024-01-02T10:00:00Z"},
	}
	for _, l := range lines {
		var h Header
		if err := p.Parse(l.line, &h); err != nil {
			t.Fatal(err)
		}
		if got := h.Time.Format(time.RFC3339); got != l.want {
			t.Errorf("%q: %s, want %s", l.line, got, l.want)
		}
	}
	// Read much later in the year, the same file still crosses forward.
	p = newTest(time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC))
	for i, l := range lines {
		var h Header
		_ = p.Parse(l.line, &h)
		if got := h.Time.Format(time.RFC3339); got != l.want {
			t.Errorf("line %d read in August: %s, want %s", i, got, l.want)
		}
	}
	// A live follower on New Year's Eve whose clock reaches midnight.
	now := time.Date(2023, 12, 31, 23, 59, 0, 0, time.UTC)
	p = New(logs.Options{Now: func() time.Time { return now }, Location: time.UTC})
	var h Header
	_ = p.Parse("Dec 31 23:59:00 h p: x", &h)
	now = time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC)
	_ = p.Parse("Jan  1 00:00:01 h p: y", &h)
	if h.Time.Year() != 2024 {
		t.Errorf("live New Year: %v", h.Time)
	}
}

// TestZone: timestamps without an offset are read in Options.Location.
func TestZone(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	p := New(logs.Options{Now: func() time.Time { return testNow }, Location: loc})
	var h Header
	if err := p.Parse("Jun  1 10:00:00 h p: x", &h); err != nil {
		t.Fatal(err)
	}
	if h.Time.Hour() != 9 || h.Time.Location() != time.UTC {
		t.Errorf("got %v", h.Time)
	}
}

func TestNoAllocation(t *testing.T) {
	p := newTest(testNow)
	lines := []string{
		"Jan  2 03:04:05 mx postfix/smtpd[123]: connect from x[192.0.2.1]",
		"2023-06-01T10:11:12.123456+02:00 host sshd[9]: msg",
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - msg",
	}
	var h Header
	for _, l := range lines {
		if n := testing.AllocsPerRun(100, func() { _ = p.Parse(l, &h) }); n != 0 {
			t.Errorf("%q: %v allocations", l, n)
		}
	}
}

func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"Jan  2 03:04:05 mx postfix/smtpd[123]: connect",
		"2023-06-01T10:11:12.123456+02:00 host sshd[9]: msg",
		`<165>1 2003-10-11T22:14:15.003Z host app 99 ID [a b="\]"] m`,
		"Oct 14 19:45:05 [exim] LOGIN", "Jun 17 14:37:39 <mail.notice> robin sm-mta[2794]: x",
		"Jun 20 02:18:39 vps auth.info sshd[13482]: x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := newTest(testNow)
		var h Header
		if p.Parse(line, &h) != nil {
			return
		}
		if h.Time.Location() != time.UTC {
			t.Fatalf("time not UTC: %v", h.Time)
		}
		if len(h.Message) > len(line) || len(h.Host) > len(line) || len(h.Program) > len(line) {
			t.Fatal("field longer than the line")
		}
	})
}

func BenchmarkHeader(b *testing.B) {
	lines := []string{
		"Jan  2 03:04:05 mx postfix/smtpd[123]: connect from x[192.0.2.1]",
		"2023-06-01T10:11:12.123456+02:00 host postfix/smtpd[9]: connect from x[192.0.2.1]",
	}
	for _, l := range lines {
		b.Run(l[:6], func(b *testing.B) {
			p := newTest(testNow)
			var h Header
			b.SetBytes(int64(len(l)))
			b.ReportAllocs()
			for b.Loop() {
				_ = p.Parse(l, &h)
			}
		})
	}
}
