package audit

import (
	"bufio"
	"errors"
	"fmt"
)

// Limits on what a server may send back. RFC 5321 caps a reply line at 512
// octets; we allow twice that so a chatty but honest server still parses, and
// refuse anything larger instead of buffering it.
const (
	maxReplyLine  = 1024
	maxReplyLines = 64
)

// Reply is one SMTP reply: its three-digit code and its text lines (without
// code, separator or line ending). The text is the server's, unsanitized.
type Reply struct {
	Code  int
	Lines []string
}

// Class returns the first digit of the code: 2 success, 3 more input, 4
// temporary failure, 5 permanent failure.
func (r Reply) Class() int { return r.Code / 100 }

var (
	errLineTooLong  = errors.New("reply line longer than 1024 bytes")
	errTooManyLines = errors.New("reply longer than 64 lines")
)

// parseReplyLine splits one reply line (CRLF or LF already removed) into its
// code, whether more lines follow, and its text.
func parseReplyLine(line []byte) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("reply line too short: %q", clip(line))
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return 0, false, "", fmt.Errorf("reply does not start with a code: %q", clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("reply code %d out of range", code)
	}
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case ' ':
		return code, false, string(line[4:]), nil
	case '-':
		return code, true, string(line[4:]), nil
	}
	return 0, false, "", fmt.Errorf("bad separator after reply code: %q", clip(line))
}

// readReply reads one complete, possibly multi-line reply. br must have been
// made with a buffer of at least maxReplyLine bytes: a longer line makes
// ReadSlice fail rather than grow memory.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxReplyLine+2 {
			return r, errLineTooLong
		}
		if err != nil {
			return r, err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return r, err
		}
		if r.Code != 0 && code != r.Code {
			return r, fmt.Errorf("reply code changed from %d to %d inside one reply", r.Code, code)
		}
		r.Code = code
		if len(r.Lines) >= maxReplyLines {
			return r, errTooManyLines
		}
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
	}
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
