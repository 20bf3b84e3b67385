package audit

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// TCP states as the kernel numbers them in /proc/net/tcp.
const (
	StateEstablished = 0x01
	StateSynRecv     = 0x03
	StateClose       = 0x07 // also every unconnected UDP socket
	StateListen      = 0x0A
)

// FloodThreshold is the number of half-open connections from which the SYN
// check reports a likely SYN flood. A healthy server rarely holds more than
// a few dozen: a handshake completes in one round trip.
const FloodThreshold = 100

// Socket is one line of /proc/net/tcp, tcp6, udp or udp6. RxQueue of a
// listening TCP socket is its accept queue.
type Socket struct {
	Local   netip.AddrPort
	Remote  netip.AddrPort
	State   uint8
	RxQueue uint32
}

const maxProcLine = 4096

var errProcLine = errors.New("malformed /proc/net line")

// ParseProcNet reads a /proc/net/{tcp,tcp6,udp,udp6} table and calls fn for
// every socket. It streams, so a table of a million half-open connections
// costs no more memory than one line; malformed lines are counted and
// skipped.
func ParseProcNet(r io.Reader, fn func(Socket)) (bad int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxProcLine)
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			if bytes.Contains(line, []byte("local_address")) {
				continue
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s, err := parseProcNetLine(line)
		if err != nil {
			bad++
			continue
		}
		fn(s)
	}
	return bad, sc.Err()
}

// parseProcNetLine parses "sl local rem st tx:rx ..." without allocating.
func parseProcNetLine(line []byte) (Socket, error) {
	var s Socket
	var fields [5][]byte
	n := 0
	for i := 0; i < len(line) && n < len(fields); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j > i {
			fields[n] = line[i:j]
			n++
		}
		i = j
	}
	if n < 5 {
		return s, errProcLine
	}
	var err error
	if s.Local, err = parseHexAddrPort(fields[1]); err != nil {
		return s, err
	}
	if s.Remote, err = parseHexAddrPort(fields[2]); err != nil {
		return s, err
	}
	st, ok := hexUint(fields[3])
	if !ok || len(fields[3]) != 2 {
		return s, errProcLine
	}
	s.State = uint8(st)
	q := fields[4]
	colon := bytes.IndexByte(q, ':')
	if colon < 0 {
		return s, errProcLine
	}
	if _, ok := hexUint(q[:colon]); !ok {
		return s, errProcLine
	}
	rx, ok := hexUint(q[colon+1:])
	if !ok {
		return s, errProcLine
	}
	s.RxQueue = rx
	return s, nil
}

// parseHexAddrPort parses the kernel's "0100007F:0019" form: the address as
// 32-bit words in host byte order (one for IPv4, four for IPv6), the port
// in plain hex. IPv4-mapped IPv6 addresses are unmapped.
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	colon := bytes.IndexByte(b, ':')
	if colon < 0 || len(b)-colon-1 != 4 {
		return netip.AddrPort{}, errProcLine
	}
	port, ok := hexUint(b[colon+1:])
	if !ok {
		return netip.AddrPort{}, errProcLine
	}
	hx := b[:colon]
	var raw [16]byte
	switch len(hx) {
	case 8, 32:
	default:
		return netip.AddrPort{}, errProcLine
	}
	for w := 0; w*8 < len(hx); w++ {
		v, ok := hexUint(hx[w*8 : w*8+8])
		if !ok {
			return netip.AddrPort{}, errProcLine
		}
		binary.NativeEndian.PutUint32(raw[w*4:], v)
	}
	var a netip.Addr
	if len(hx) == 8 {
		a = netip.AddrFrom4([4]byte(raw[:4]))
	} else {
		a = netip.AddrFrom16(raw).Unmap()
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// hexUint parses up to eight hex digits.
func hexUint(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint32(c-'A'+10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// SynData is what the SYN-flood playbook reads: the half-open connections
// grouped by source and by local port, and the kernel's defences.
type SynData struct {
	// Syncookies is net.ipv4.tcp_syncookies (0 off, 1 when the queue
	// overflows, 2 always); -1 when unreadable, as are the others.
	Syncookies    int `json:"tcp_syncookies"`
	MaxSynBacklog int `json:"tcp_max_syn_backlog"`
	Somaxconn     int `json:"somaxconn"`
	SynackRetries int `json:"tcp_synack_retries"`
	// HalfOpen counts sockets in SYN_RECV, v4 and v6.
	HalfOpen  int           `json:"half_open"`
	BySource  []SourceCount `json:"by_source"`
	ByPort    []PortCount   `json:"by_port"`
	Listeners []Listener    `json:"listeners"`
	Sockets   int           `json:"sockets"`
	BadLines  int           `json:"bad_lines,omitempty"`
}

// SourceCount is the number of half-open connections from one address.
type SourceCount struct {
	Addr  string `json:"addr"`
	Count int    `json:"count"`
}

// PortCount is the number of half-open connections to one local port.
type PortCount struct {
	Port  uint16 `json:"port"`
	Count int    `json:"count"`
}

// Listener is a listening TCP socket and its current accept queue.
type Listener struct {
	Addr        string `json:"addr"`
	AcceptQueue uint32 `json:"accept_queue"`
}

// maxGroups bounds the per-source list: under a spoofed flood every source
// is different and only the top ones help.
const maxGroups = 20

// ReadSYN reads the TCP tables and SYN sysctls under procRoot (normally
// /proc; tests point it at fixtures).
func ReadSYN(procRoot string) (SynData, error) {
	d := SynData{}
	d.Syncookies = readSysctl(procRoot, "sys/net/ipv4/tcp_syncookies")
	d.MaxSynBacklog = readSysctl(procRoot, "sys/net/ipv4/tcp_max_syn_backlog")
	d.Somaxconn = readSysctl(procRoot, "sys/net/core/somaxconn")
	d.SynackRetries = readSysctl(procRoot, "sys/net/ipv4/tcp_synack_retries")
	bySrc := map[netip.Addr]int{}
	byPort := map[uint16]int{}
	read := 0
	var firstErr error
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(procRoot, name))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		bad, err := ParseProcNet(f, func(s Socket) {
			d.Sockets++
			switch s.State {
			case StateSynRecv:
				d.HalfOpen++
				bySrc[s.Remote.Addr()]++
				byPort[s.Local.Port()]++
			case StateListen:
				if len(d.Listeners) < 256 {
					d.Listeners = append(d.Listeners, Listener{Addr: s.Local.String(), AcceptQueue: s.RxQueue})
				}
			}
		})
		_ = f.Close()
		d.BadLines += bad
		if err != nil {
			return d, fmt.Errorf("reading %s: %w", filepath.Join(procRoot, name), err)
		}
		read++
	}
	if read == 0 {
		return d, fmt.Errorf("cannot read the TCP tables: %w", firstErr)
	}
	for a, n := range bySrc {
		d.BySource = append(d.BySource, SourceCount{Addr: a.String(), Count: n})
	}
	sort.Slice(d.BySource, func(i, j int) bool {
		if d.BySource[i].Count != d.BySource[j].Count {
			return d.BySource[i].Count > d.BySource[j].Count
		}
		return d.BySource[i].Addr < d.BySource[j].Addr
	})
	if len(d.BySource) > maxGroups {
		d.BySource = d.BySource[:maxGroups]
	}
	for p, n := range byPort {
		d.ByPort = append(d.ByPort, PortCount{Port: p, Count: n})
	}
	sort.Slice(d.ByPort, func(i, j int) bool {
		if d.ByPort[i].Count != d.ByPort[j].Count {
			return d.ByPort[i].Count > d.ByPort[j].Count
		}
		return d.ByPort[i].Port < d.ByPort[j].Port
	})
	if len(d.ByPort) > maxGroups {
		d.ByPort = d.ByPort[:maxGroups]
	}
	return d, nil
}

func readSysctl(root, rel string) int {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

// CheckSYN reports half-open connections and the SYN-flood defences.
func CheckSYN(procRoot string) Result {
	if procRoot == "" {
		procRoot = "/proc"
	}
	res := Result{Check: "syn", Target: "this host", Verdict: Unknown}
	d, err := ReadSYN(procRoot)
	res.Data = &d
	if err != nil {
		res.Summary = err.Error()
		return res
	}
	res.Verdict = Fine
	var problems []string
	switch d.Syncookies {
	case 0:
		problems = append(problems, "SYN cookies are off")
		res.Details = append(res.Details, "net.ipv4.tcp_syncookies = 0: a SYN flood fills the backlog and real clients are refused. Fix: sysctl -w net.ipv4.tcp_syncookies=1 (and persist it in /etc/sysctl.d/).")
	case -1:
		res.Details = append(res.Details, "net.ipv4.tcp_syncookies: unreadable")
	default:
		res.Details = append(res.Details, fmt.Sprintf("net.ipv4.tcp_syncookies = %d (on)", d.Syncookies))
	}
	res.Details = append(res.Details, fmt.Sprintf("net.ipv4.tcp_max_syn_backlog = %s, net.core.somaxconn = %s, net.ipv4.tcp_synack_retries = %s",
		sysctlText(d.MaxSynBacklog), sysctlText(d.Somaxconn), sysctlText(d.SynackRetries)))
	if d.HalfOpen >= FloodThreshold {
		problems = append(problems, fmt.Sprintf("%d half-open connections: a SYN flood is likely", d.HalfOpen))
	}
	res.Details = append(res.Details, fmt.Sprintf("%d half-open (SYN_RECV) of %d TCP sockets", d.HalfOpen, d.Sockets))
	if len(d.ByPort) > 0 {
		var parts []string
		for _, p := range d.ByPort {
			parts = append(parts, fmt.Sprintf("%d: %d", p.Port, p.Count))
		}
		res.Details = append(res.Details, "half-open by local port: "+strings.Join(parts, ", "))
	}
	if len(d.BySource) > 0 {
		var parts []string
		for i, s := range d.BySource {
			if i == 10 {
				break
			}
			parts = append(parts, fmt.Sprintf("%s: %d", s.Addr, s.Count))
		}
		res.Details = append(res.Details, "half-open by source: "+strings.Join(parts, ", "))
		if d.HalfOpen >= FloodThreshold && d.BySource[0].Count*10 < d.HalfOpen {
			res.Details = append(res.Details, "sources are spread thin: likely spoofed; blocking addresses will not help, SYN cookies and upstream filtering will")
		}
	}
	for _, l := range d.Listeners {
		if l.AcceptQueue > 0 {
			res.Details = append(res.Details, fmt.Sprintf("listener %s has %d connections waiting to be accepted (the application is slow to accept)", l.Addr, l.AcceptQueue))
		}
	}
	if d.BadLines > 0 {
		res.Details = append(res.Details, fmt.Sprintf("%d unreadable lines skipped", d.BadLines))
	}
	if len(problems) > 0 {
		res.Verdict = Problem
		res.Summary = strings.Join(problems, "; ")
	} else {
		res.Summary = fmt.Sprintf("%d half-open connections, SYN cookies on", d.HalfOpen)
	}
	return res
}

func sysctlText(n int) string {
	if n < 0 {
		return "unreadable"
	}
	return strconv.Itoa(n)
}

// Listening returns the local addresses on which something listens on port:
// TCP sockets in LISTEN, or (udp) unconnected UDP sockets.
func Listening(procRoot string, udp bool, port uint16) []netip.Addr {
	if procRoot == "" {
		procRoot = "/proc"
	}
	files, state := []string{"net/tcp", "net/tcp6"}, uint8(StateListen)
	if udp {
		files, state = []string{"net/udp", "net/udp6"}, StateClose
	}
	var out []netip.Addr
	for _, name := range files {
		f, err := os.Open(filepath.Join(procRoot, name))
		if err != nil {
			continue
		}
		_, _ = ParseProcNet(f, func(s Socket) {
			if s.State == state && s.Local.Port() == port {
				out = append(out, s.Local.Addr())
			}
		})
		_ = f.Close()
	}
	return out
}
