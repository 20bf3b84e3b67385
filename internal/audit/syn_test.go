package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// The fixtures hold addresses the way a little-endian kernel prints them.
func needLittleEndian(t testing.TB) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		t.Skip("fixtures are written for little-endian hosts")
	}
}

func TestParseProcNetLine(t *testing.T) {
	needLittleEndian(t)
	cases := []struct {
		line          string
		local, remote string
		state         uint8
		rx            uint32
		wantErr       bool
	}{
		{"   0: 0100007F:0019 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 48 1", "127.0.0.1:25", "0.0.0.0:0", StateListen, 3, false},
		{"   2: 0A0200C0:0050 077100CB:9C40 03 00000000:00000000 00:00000000 00000000     0        0 1002 1", "192.0.2.10:80", "203.0.113.7:40000", StateSynRecv, 0, false},
		{"   1: B80D0120000000000000000010000000:01BB B80D0120000000000000000005000000:9C40 03 00000000:00000000 00:00000000", "[2001:db8::10]:443", "[2001:db8::5]:40000", StateSynRecv, 0, false},
		{"   6: 0000000000000000FFFF00000A0200C0:01BB 0000000000000000FFFF0000077100CB:A028 03 00000000:00000000", "192.0.2.10:443", "203.0.113.7:41000", StateSynRecv, 0, false},
		{"   0: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000", "[::1]:53", "[::]:0", StateClose, 0, false},
		{"garbage", "", "", 0, 0, true},
		{"   0: 0100007F:19 00000000:0000 0A 00000000:00000000", "", "", 0, 0, true},
		{"   0: 0100007G:0019 00000000:0000 0A 00000000:00000000", "", "", 0, 0, true},
		{"   0: 0100007F:0019 00000000:0000 0A0 00000000:00000000", "", "", 0, 0, true},
		{"   0: 0100007F:0019 00000000:0000 0A 0000000000000000", "", "", 0, 0, true},
		{"   0: 0100007F0:0019 00000000:0000 0A 00000000:00000000", "", "", 0, 0, true},
	}
	for _, c := range cases {
		s, err := parseProcNetLine([]byte(c.line))
		if c.wantErr {
			if err == nil {
				t.Errorf("%q: parsed as %+v, want an error", c.line, s)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if s.Local.String() != c.local || s.Remote.String() != c.remote || s.State != c.state || s.RxQueue != c.rx {
			t.Errorf("%q: got %s %s %02X rx=%d", c.line, s.Local, s.Remote, s.State, s.RxQueue)
		}
	}
}

func TestReadSYNFlood(t *testing.T) {
	needLittleEndian(t)
	r := CheckSYN("testdata/proc-flood")
	d := r.Data.(*SynData)
	if r.Verdict != Problem {
		t.Fatalf("verdict %v: %s", r.Verdict, r.Summary)
	}
	if d.HalfOpen != 130 || d.Syncookies != 0 || d.MaxSynBacklog != 128 || d.Somaxconn != 4096 || d.SynackRetries != 5 {
		t.Errorf("figures: %+v", d)
	}
	if d.BadLines != 1 {
		t.Errorf("bad lines %d, want 1", d.BadLines)
	}
	// 40 over v4 and 5 over v4-mapped v6 from the same address: one group.
	if d.BySource[0] != (SourceCount{"203.0.113.7", 45}) || d.BySource[1] != (SourceCount{"2001:db8::5", 5}) {
		t.Errorf("by source: %v", d.BySource[:3])
	}
	if len(d.BySource) != maxGroups {
		t.Errorf("by source has %d groups, want the top %d", len(d.BySource), maxGroups)
	}
	if len(d.ByPort) != 2 || d.ByPort[0] != (PortCount{80, 120}) || d.ByPort[1] != (PortCount{443, 10}) {
		t.Errorf("by port: %v", d.ByPort)
	}
	for _, want := range []string{"SYN cookies are off", "130 half-open connections"} {
		if !strings.Contains(r.Summary, want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
	text := strings.Join(r.Details, "\n")
	for _, want := range []string{"half-open by local port: 80: 120, 443: 10", "203.0.113.7: 45", "listener 127.0.0.1:25 has 3 connections waiting"} {
		if !strings.Contains(text, want) {
			t.Errorf("details lack %q:\n%s", want, text)
		}
	}
}

func TestReadSYNQuiet(t *testing.T) {
	needLittleEndian(t)
	r := CheckSYN("testdata/proc-quiet")
	d := r.Data.(*SynData)
	if r.Verdict != Fine || d.HalfOpen != 2 || d.Syncookies != 1 {
		t.Fatalf("%v %s %+v", r.Verdict, r.Summary, d)
	}
	if d.BySource[0] != (SourceCount{"198.51.100.9", 2}) {
		t.Errorf("by source %v", d.BySource)
	}
	if got := Listening("testdata/proc-quiet", false, 53); fmt.Sprint(got) != "[127.0.0.1 ::1]" {
		t.Errorf("TCP 53 listeners %v", got)
	}
	if got := Listening("testdata/proc-quiet", true, 53); fmt.Sprint(got) != "[127.0.0.1 ::1]" {
		t.Errorf("UDP 53 sockets %v", got)
	}
	if got := Listening("testdata/proc-quiet", false, 25); fmt.Sprint(got) != "[0.0.0.0]" {
		t.Errorf("TCP 25 listeners %v", got)
	}
}

func TestReadSYNMissing(t *testing.T) {
	r := CheckSYN(t.TempDir())
	if r.Verdict != Unknown {
		t.Errorf("verdict %v: %s", r.Verdict, r.Summary)
	}
}

// The real kernel's tables: our own listener and connection must show up
// with the right addresses and states.
func TestReadSYNReal(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp on this system")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	d, err := ReadSYN("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if d.Syncookies < 0 || d.MaxSynBacklog <= 0 || d.Somaxconn <= 0 {
		t.Errorf("sysctls unreadable: %+v", d)
	}
	if d.BadLines != 0 {
		t.Errorf("%d lines of the real table did not parse", d.BadLines)
	}
	found := false
	for _, l := range d.Listeners {
		if l.Addr == ln.Addr().String() {
			found = true
		}
	}
	if !found {
		t.Errorf("listener %s not among %v", ln.Addr(), d.Listeners)
	}
	if got := Listening("/proc", false, port); len(got) != 1 || got[0] != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("Listening: %v", got)
	}
	// The client side must appear as ESTABLISHED with our exact addresses.
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	est := false
	_, _ = ParseProcNet(f, func(s Socket) {
		if s.State == StateEstablished && s.Local.String() == c.LocalAddr().String() && s.Remote.String() == c.RemoteAddr().String() {
			est = true
		}
	})
	if !est {
		t.Errorf("connection %s -> %s not found as ESTABLISHED", c.LocalAddr(), c.RemoteAddr())
	}
	if r := CheckSYN("/proc"); r.Verdict == Unknown {
		t.Errorf("real run could not tell: %s", r.Summary)
	}
}

func FuzzParseProcNet(f *testing.F) {
	for _, dir := range []string{"testdata/proc-flood", "testdata/proc-quiet"} {
		for _, name := range []string{"net/tcp", "net/tcp6"} {
			b, err := os.ReadFile(dir + "/" + name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("   0: 0100007F:0019 00000000:0000 0A 00000000:00000003\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		_, _ = ParseProcNet(bytes.NewReader(data), func(s Socket) {
			n++
			if !s.Local.Addr().IsValid() || !s.Remote.Addr().IsValid() || s.Local.Addr().Is4In6() {
				t.Fatalf("invalid socket %+v", s)
			}
		})
		if n > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d sockets from %d lines", n, bytes.Count(data, []byte("\n"))+1)
		}
	})
}

func BenchmarkParseProcNet(b *testing.B) {
	data, err := os.ReadFile("testdata/proc-flood/net/tcp")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Count(data, []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		_, _ = ParseProcNet(bytes.NewReader(data), func(Socket) { n++ })
		if n == 0 {
			b.Fatal("nothing parsed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
