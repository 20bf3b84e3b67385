package audit

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	cases := []struct {
		in      string
		code    int
		lines   []string
		wantErr string
	}{
		{"220 mx.example.com ESMTP\r\n", 220, []string{"mx.example.com ESMTP"}, ""},
		{"250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 250, []string{"mx.example.com", "PIPELINING", "STARTTLS"}, ""},
		{"250\r\n", 250, []string{""}, ""},
		{"354 go on\n", 354, []string{"go on"}, ""},
		{"250-a\r\n251 b\r\n", 0, nil, "code changed"},
		{"25\r\n", 0, nil, "too short"},
		{"abc hello\r\n", 0, nil, "does not start with a code"},
		{"999 what\r\n", 0, nil, "out of range"},
		{"250_x\r\n", 0, nil, "bad separator"},
		{"250 " + strings.Repeat("x", 2000) + "\r\n", 0, nil, "longer than 1024"},
		{strings.Repeat("250-x\r\n", 100) + "250 x\r\n", 0, nil, "longer than 64 lines"},
		{"250-unterminated", 0, nil, "EOF"},
	}
	for _, c := range cases {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(c.in), maxReplyLine+2))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%.40q: err %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || r.Code != c.code || strings.Join(r.Lines, "|") != strings.Join(c.lines, "|") {
			t.Errorf("%.40q: %+v %v", c.in, r, err)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 mx.example.com ESMTP Postfix\r\n",
		"250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n",
		"554 5.7.1 <relay-test@example.net>: Relay access denied\r\n",
		"421 4.7.0 closing\r\n250 next\r\n",
		"250-\x1b[2J\r\n250 \xff\xfe\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(strings.NewReader(string(data)), maxReplyLine+2)
		for i := 0; i < 200; i++ {
			r, err := readReply(br)
			if err != nil {
				return
			}
			if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
				t.Fatalf("bad reply %+v", r)
			}
			for _, l := range r.Lines {
				if len(l) > maxReplyLine {
					t.Fatalf("line of %d bytes", len(l))
				}
			}
		}
	})
}
