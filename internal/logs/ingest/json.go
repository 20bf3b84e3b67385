package ingest

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/irtui/irtui/internal/logs"
)

// AppendJSON appends the `irtui parse` object of one event, without a
// newline: {"line", "file", "format", "kind", "time", "src", then the fields
// of its kind}. Empty optional fields are left out; line, file, format, kind
// and time are always there. Tools outside irtui read this, so names and
// order only ever grow.
func AppendJSON(dst []byte, ev *logs.Event, file string) []byte {
	dst = append(dst, `{"line":`...)
	dst = strconv.AppendInt(dst, ev.LineNo, 10)
	dst = appendField(dst, "file", file)
	dst = appendField(dst, "format", ev.Format)
	dst = appendField(dst, "kind", ev.Kind.String())
	dst = append(dst, `,"time":"`...)
	dst = ev.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if ev.Src.IsValid() {
		dst = append(dst, `,"src":"`...)
		dst = ev.Src.AppendTo(dst)
		dst = append(dst, '"')
	}
	switch ev.Kind {
	case logs.KindHTTP:
		h := &ev.HTTP
		dst = appendOpt(dst, "method", h.Method)
		dst = appendOpt(dst, "path", h.Path)
		dst = appendOpt(dst, "query", h.Query)
		if h.Status != 0 {
			dst = append(dst, `,"status":`...)
			dst = strconv.AppendInt(dst, int64(h.Status), 10)
			dst = append(dst, `,"bytes":`...)
			dst = strconv.AppendInt(dst, h.Bytes, 10)
		}
		dst = appendOpt(dst, "vhost", h.Vhost)
		dst = appendOpt(dst, "ua", h.UA)
		dst = appendOpt(dst, "referer", h.Referer)
		dst = appendOpt(dst, "action", h.Action)
		dst = appendOpt(dst, "level", h.Level)
		dst = appendOpt(dst, "module", h.Module)
		dst = appendOpt(dst, "message", h.Message)
	case logs.KindMail:
		m := &ev.Mail
		dst = appendOpt(dst, "program", m.Program)
		dst = appendOpt(dst, "action", m.Action)
		dst = appendOpt(dst, "reason", m.Reason)
		dst = appendOpt(dst, "from", m.From)
		dst = appendOpt(dst, "to", m.To)
		dst = appendOpt(dst, "helo", m.Helo)
		dst = appendOpt(dst, "sasl_user", m.SASLUser)
		dst = appendOpt(dst, "queue_id", m.QueueID)
		dst = appendOpt(dst, "relay", m.Relay)
		dst = appendOpt(dst, "dsn", m.DSN)
		if m.Size != 0 {
			dst = append(dst, `,"size":`...)
			dst = strconv.AppendInt(dst, m.Size, 10)
		}
		if m.NRcpt != 0 {
			dst = append(dst, `,"nrcpt":`...)
			dst = strconv.AppendInt(dst, int64(m.NRcpt), 10)
		}
	case logs.KindDNS:
		d := &ev.DNS
		dst = appendOpt(dst, "qname", d.QName)
		dst = appendOpt(dst, "qtype", d.QType)
		dst = append(dst, `,"rd":`...)
		dst = strconv.AppendBool(dst, d.RD)
		dst = append(dst, `,"denied":`...)
		dst = strconv.AppendBool(dst, d.Denied)
		dst = appendOpt(dst, "action", d.Action)
	}
	return append(dst, '}')
}

// AppendJSONError appends the object of a line that was not understood.
func AppendJSONError(dst []byte, line int64, file, reason string) []byte {
	dst = append(dst, `{"line":`...)
	dst = strconv.AppendInt(dst, line, 10)
	dst = appendField(dst, "file", file)
	dst = appendField(dst, "error", reason)
	return append(dst, '}')
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return AppendJSONString(dst, value)
}

func appendOpt(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	return appendField(dst, name, value)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Every byte of s may come from
// an attacker, and the output may be read on a terminal: besides what JSON
// requires, DEL and the C1 controls (U+0080–U+009F, which some terminals
// take as escape sequences) are escaped, U+2028/U+2029 too, and invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r <= 0x9f:
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		case r == 0x2028 || r == 0x2029:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
