package trace

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func diskSample() *diskCache {
	exp := time.Date(2026, 11, 23, 13, 0, 53, 616632235, time.UTC)
	return &diskCache{
		Version: cacheVersion,
		Origins: []diskOrigin{
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Negative: true, Expires: exp},
			{Prefix: netip.MustParsePrefix("2001:db8::/32"), ASNs: []uint32{64500, 64501}, Country: "NL", Registry: "ripencc", Allocated: "2007-03-13", Expires: exp.Add(time.Hour)},
		},
		AS: []diskAS{
			{ASN: 64500, Name: "EXAMPLE-NET - Example <Networks> & \"Co\" é", Country: "NL", Expires: exp},
			{ASN: 64501, Negative: true, Expires: exp},
		},
		PTR:   []diskPTR{{IP: netip.MustParseAddr("192.0.2.7"), Name: "host7.example.net", Checked: true, Confirmed: true, Expires: exp}, {IP: netip.MustParseAddr("::1"), Expires: exp}},
		Abuse: []diskAbuse{{IP: netip.MustParseAddr("192.0.2.7"), Contacts: []string{"abuse@example.net"}, Expires: exp}, {IP: netip.MustParseAddr("192.0.2.8"), Contacts: []string{}, Expires: exp}, {IP: netip.MustParseAddr("192.0.2.9"), Expires: exp}},
	}
}

func encodeWithJSON(t testing.TB, d *diskCache) []byte {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The hand-written cache file is byte for byte what encoding/json writes,
// and reads back as encoding/json reads it.
func TestDiskCacheJSON(t *testing.T) {
	for _, d := range []*diskCache{diskSample(), {Version: 1}, {Version: 1, Origins: []diskOrigin{}}} {
		want := encodeWithJSON(t, d)
		got, err := appendDiskCache(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("written:\n%s\nencoding/json:\n%s", got, want)
		}
		checkDecode(t, want)
	}
	// The sample's AS name needs escapes: not the plain form.
	if _, ok := decodeDiskCache(encodeWithJSON(t, diskSample())); ok {
		t.Error("escaped strings read by the plain reader")
	}
	plain := diskSample()
	plain.AS[0].Name = "EXAMPLE-NET"
	if _, ok := decodeDiskCache(encodeWithJSON(t, plain)); !ok {
		t.Error("the plain form was not read")
	}
}

// checkDecode: whatever the plain reader accepts, encoding/json reads the
// same way.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	got, ok := decodeDiskCache(data)
	var want diskCache
	err := json.NewDecoder(bytes.NewReader(data)).Decode(&want)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("plain reader accepted what encoding/json refuses (%v): %q", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nplain reader:  %+v\nencoding/json: %+v", data, got, want)
	}
}

func FuzzDecodeDiskCache(f *testing.F) {
	plain := diskSample()
	plain.AS[0].Name = "EXAMPLE-NET"
	f.Add(encodeWithJSON(f, plain))
	f.Add(encodeWithJSON(f, diskSample()))
	f.Add([]byte(`{"version":1,"origins":null,"as":[],"ptr":null,"abuse":null}`))
	f.Add([]byte(` { "version" : 1 , "origins" : [ { "prefix" : "1.2.3.0/24" , "asns" : [ 1 , 2 ] , "expires" : "2026-01-02T03:04:05+01:00" } ] } trailing`))
	f.Add([]byte(`{"Version":1,"version":01,"origins":[{"prefix":"1.2.3.0/24","asns":[4294967296]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		// What encoding/json reads, the writer writes as encoding/json does.
		var d diskCache
		if json.NewDecoder(bytes.NewReader(data)).Decode(&d) != nil {
			return
		}
		want, werr := json.Marshal(&d)
		got, gerr := appendDiskCache(nil, &d)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: writer error %v, encoding/json %v", data, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("%q:\nwritten:       %s\nencoding/json: %s", data, got, want)
		}
	})
}

// BenchmarkDiskCache reads and writes a cache of 10,000 negative origins,
// about what a day of reports on a busy log leaves.
func BenchmarkDiskCache(b *testing.B) {
	d := diskCache{Version: cacheVersion}
	exp := time.Now().Add(time.Hour)
	for i := range 10_000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 8), byte(i), 7, 0}), 24)
		d.Origins = append(d.Origins, diskOrigin{Prefix: p, Negative: true, Expires: exp})
	}
	data := encodeWithJSON(b, &d)
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeDiskCache(data); !ok {
				b.Fatal("not read")
			}
		}
	})
	b.Run("read-encoding-json", func(b *testing.B) {
		for b.Loop() {
			var d diskCache
			if err := json.Unmarshal(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendDiskCache(buf[:0], &d)
		}
	})
	b.Run("write-encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
