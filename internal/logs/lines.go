package logs

import "bytes"

// splitter cuts a byte stream into lines. It holds back a line until its
// newline arrives (a writer may be half-way through it), keeps at most
// MaxLineBytes of any line and drops the rest, and strips one trailing '\r'
// so CRLF files parse like LF files.
type splitter struct {
	pending []byte // the start of a line whose newline has not arrived
	trunc   bool   // the pending line was longer than MaxLineBytes
	drop    bool   // discard bytes up to and including the next newline
}

// emitFunc receives one complete line. text is a fresh string.
type emitFunc func(text string, truncated bool) bool

// feed splits p into lines, calling emit for each complete one. It returns
// false as soon as emit does (the consumer has gone).
func (s *splitter) feed(p []byte, emit emitFunc) bool {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.hold(p)
			return true
		}
		seg := p[:i]
		p = p[i+1:]
		if s.drop {
			s.drop = false
			continue
		}
		if len(s.pending) == 0 && !s.trunc {
			text, trunc := cut(seg)
			if !emit(text, trunc) {
				return false
			}
			continue
		}
		s.hold(seg)
		text, _ := cut(s.pending)
		trunc := s.trunc
		s.pending = s.pending[:0]
		s.trunc = false
		if !emit(text, trunc) {
			return false
		}
	}
	return true
}

// hold appends part of an unfinished line, keeping memory bounded.
func (s *splitter) hold(p []byte) {
	if s.drop {
		return
	}
	room := MaxLineBytes - len(s.pending)
	if len(p) > room {
		p = p[:room]
		s.trunc = true
	}
	s.pending = append(s.pending, p...)
}

// flush emits the held partial line, if any, as a line of its own: used at
// the end of a stream that will never grow (a pipe, a rotated-away file).
func (s *splitter) flush(emit emitFunc) bool {
	if s.drop {
		s.drop = false
		return true
	}
	if len(s.pending) == 0 && !s.trunc {
		return true
	}
	text, _ := cut(s.pending)
	trunc := s.trunc
	s.pending = s.pending[:0]
	s.trunc = false
	return emit(text, trunc)
}

// reset forgets any held partial line.
func (s *splitter) reset() {
	s.pending = s.pending[:0]
	s.trunc = false
	s.drop = false
}

// cut copies one line (without its newline) into a string, dropping a
// trailing '\r' and everything past MaxLineBytes.
func cut(b []byte) (string, bool) {
	trunc := false
	if len(b) > MaxLineBytes {
		b = b[:MaxLineBytes]
		trunc = true
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return string(b), trunc
}
