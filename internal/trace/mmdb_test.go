package trace

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// A minimal MaxMind DB writer, enough for GeoLite2-ASN-shaped test files:
// an IPv6 tree (IPv4 under ::/96), 24-bit records, disjoint prefixes, one
// map per record.

type mmdbEntry struct {
	prefix netip.Prefix
	asn    uint32
	org    string
}

func mmdbControl(b *bytes.Buffer, typ int, size int) {
	var ctrl byte
	ext := typ > 7
	if !ext {
		ctrl = byte(typ) << 5
	}
	var sizeBytes []byte
	switch {
	case size < 29:
		ctrl |= byte(size)
	case size < 29+256:
		ctrl |= 29
		sizeBytes = []byte{byte(size - 29)}
	default:
		ctrl |= 30
		s := size - 285
		sizeBytes = []byte{byte(s >> 8), byte(s)}
	}
	b.WriteByte(ctrl)
	if ext {
		b.WriteByte(byte(typ - 7))
	}
	b.Write(sizeBytes)
}

func mmdbString(b *bytes.Buffer, s string) {
	mmdbControl(b, 2, len(s))
	b.WriteString(s)
}

func mmdbUint(b *bytes.Buffer, typ int, v uint64) {
	var raw []byte
	for v > 0 {
		raw = append([]byte{byte(v)}, raw...)
		v >>= 8
	}
	mmdbControl(b, typ, len(raw))
	b.Write(raw)
}

type mmdbNode struct{ rec [2]int } // >=0 node index; -1 empty; <= -2 data: -(offset+2)

func writeMMDB(t *testing.T, entries []mmdbEntry) string {
	t.Helper()
	var data bytes.Buffer
	nodes := []mmdbNode{{rec: [2]int{-1, -1}}}
	for _, e := range entries {
		off := data.Len()
		mmdbControl(&data, 7, 2)
		mmdbString(&data, "autonomous_system_number")
		mmdbUint(&data, 6, uint64(e.asn))
		mmdbString(&data, "autonomous_system_organization")
		mmdbString(&data, e.org)

		a16 := e.prefix.Addr().As16()
		bitsN := e.prefix.Bits()
		if e.prefix.Addr().Is4() {
			bitsN += 96
			a16 = [16]byte{}
			a4 := e.prefix.Addr().As4()
			copy(a16[12:], a4[:])
		}
		n := 0
		for i := 0; i < bitsN; i++ {
			bit := int(a16[i/8]>>(7-i%8)) & 1
			if i == bitsN-1 {
				nodes[n].rec[bit] = -(off + 2)
				break
			}
			if nodes[n].rec[bit] < 0 {
				nodes = append(nodes, mmdbNode{rec: [2]int{-1, -1}})
				nodes[n].rec[bit] = len(nodes) - 1
			}
			n = nodes[n].rec[bit]
		}
	}
	count := len(nodes)
	var out bytes.Buffer
	for _, nd := range nodes {
		for _, r := range nd.rec {
			var v int
			switch {
			case r >= 0:
				v = r
			case r == -1:
				v = count
			default:
				v = count + 16 + (-r - 2)
			}
			out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	out.Write(make([]byte, 16))
	out.Write(data.Bytes())
	out.WriteString("\xab\xcd\xefMaxMind.com")
	var meta bytes.Buffer
	mmdbControl(&meta, 7, 9)
	mmdbString(&meta, "node_count")
	mmdbUint(&meta, 6, uint64(count))
	mmdbString(&meta, "record_size")
	mmdbUint(&meta, 5, 24)
	mmdbString(&meta, "ip_version")
	mmdbUint(&meta, 5, 6)
	mmdbString(&meta, "database_type")
	mmdbString(&meta, "GeoLite2-ASN")
	mmdbString(&meta, "languages")
	mmdbControl(&meta, 11, 1)
	mmdbString(&meta, "en")
	mmdbString(&meta, "binary_format_major_version")
	mmdbUint(&meta, 5, 2)
	mmdbString(&meta, "binary_format_minor_version")
	mmdbUint(&meta, 5, 0)
	mmdbString(&meta, "build_epoch")
	mmdbUint(&meta, 9, 1700000000)
	mmdbString(&meta, "description")
	mmdbControl(&meta, 7, 1)
	mmdbString(&meta, "en")
	mmdbString(&meta, "irtui test ASN database")
	out.Write(meta.Bytes())

	p := filepath.Join(t.TempDir(), "GeoLite2-ASN-test.mmdb")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMMDBTable(t *testing.T) {
	p := writeMMDB(t, []mmdbEntry{
		{netip.MustParsePrefix("192.0.2.0/24"), 64500, "EXAMPLE-NET \x1b[2J Example"},
		{netip.MustParsePrefix("198.51.100.128/25"), 64501, "DOC-NET"},
		{netip.MustParsePrefix("2001:db8:100::/40"), 64502, "V6-NET"},
	})
	tab, err := LoadTable(p)
	if err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	defer tab.Close()
	if tab.Format != FormatMMDB {
		t.Fatalf("format %q, want mmdb", tab.Format)
	}
	cases := []struct {
		ip     string
		asn    uint32
		name   string
		prefix string
	}{
		{"192.0.2.77", 64500, "EXAMPLE-NET ?[2J Example", "192.0.2.0/24"},
		{"198.51.100.200", 64501, "DOC-NET", "198.51.100.128/25"},
		{"2001:db8:1ff::1", 64502, "V6-NET", "2001:db8:100::/40"},
	}
	for _, c := range cases {
		a, ok := tab.Lookup(netip.MustParseAddr(c.ip))
		if !ok || a.ASN != c.asn || a.Name != c.name || a.Prefix.String() != c.prefix {
			t.Errorf("%s: got %+v ok=%v, want AS%d %q %s", c.ip, a, ok, c.asn, c.name, c.prefix)
		}
	}
	for _, miss := range []string{"198.51.100.1", "203.0.113.1", "2001:db8::1"} {
		if a, ok := tab.Lookup(netip.MustParseAddr(miss)); ok {
			t.Errorf("%s: want no answer, got %+v", miss, a)
		}
	}
	tr := New(Config{Offline: true, NoDiskCache: true})
	defer tr.Close()
	tr.SetTables(Tables{tab})
	if asn, name, _, ok := tr.ASOf(netip.MustParseAddr("::ffff:192.0.2.1")); !ok || asn != 64500 || name != "EXAMPLE-NET ?[2J Example" {
		t.Errorf("ASOf through mmdb: %d %q %v", asn, name, ok)
	}
}

func TestMMDBDamaged(t *testing.T) {
	p := writeMMDB(t, []mmdbEntry{{netip.MustParsePrefix("192.0.2.0/24"), 64500, "X"}})
	b, _ := os.ReadFile(p)
	// Point a tree record far past the data section.
	b[0], b[1], b[2] = 0xff, 0xff, 0xf0
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTable(p); err == nil {
		t.Fatal("a damaged mmdb loaded")
	}
}
