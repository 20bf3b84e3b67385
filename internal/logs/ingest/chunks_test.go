package ingest

import (
	"bytes"
	"context"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

type cutLine struct {
	No   int64
	Text string
	Cut  bool
}

// chunkLines cuts data with the Backfill reader, using tiny chunks and a
// tiny line limit so every boundary case is reachable, and returns the lines
// the workers see.
func chunkLines(t testing.TB, data []byte, size, maxLine, workers int) []cutLine {
	e, err := newEngine(Config{Formats: testFormats, Format: "thttp"}, workers)
	if err != nil {
		t.Fatal(err)
	}
	e.chunkSize, e.maxLine = size, maxLine
	e.stdin = bytes.NewReader(data)
	var mu sync.Mutex
	var got []cutLine
	e.run(context.Background(), []string{"-"}, 1, func(w *worker, c *chunk) {
		each(c, e.maxLine, func(no int64, line string, cut bool) {
			mu.Lock()
			got = append(got, cutLine{no, strings.Clone(line), cut})
			mu.Unlock()
		})
	}, func(*chunk) {})
	sort.Slice(got, func(i, j int) bool { return got[i].No < got[j].No })
	return got
}

// plainLines is the obvious, slow reading of the same data.
func plainLines(data []byte, maxLine int) []cutLine {
	var out []cutLine
	parts := strings.Split(string(data), "\n")
	for i, p := range parts {
		if i == len(parts)-1 && p == "" {
			break
		}
		p = strings.TrimSuffix(p, "\r")
		cut := len(p) > maxLine
		if cut {
			p = p[:maxLine]
		}
		out = append(out, cutLine{int64(i + 1), p, cut})
	}
	return out
}

func TestChunkBoundaries(t *testing.T) {
	long := strings.Repeat("L", 200)
	for _, in := range []string{
		"", "\n", "a", "a\n", "a\r\nb\r\n", "a\n\n\nb",
		long + "\nshort\n", "x\n" + long, long, long + "\r\n" + long + "\n",
		strings.Repeat("0123456789abcdef\n", 40),  // lines exactly at the limit
		strings.Repeat("0123456789abcdefg\n", 40), // one byte over
	} {
		for _, w := range []int{1, 3} {
			got := chunkLines(t, []byte(in), 64, 16, w)
			want := plainLines([]byte(in), 16)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q (workers %d):\n got %v\nwant %v", in, w, got, want)
			}
		}
	}
}

func FuzzChunks(f *testing.F) {
	f.Add([]byte("a\r\nbb\n"+strings.Repeat("z", 100)+"\nend"), uint8(0))
	f.Add([]byte(strings.Repeat("\n", 70)), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, extra uint8) {
		size := 32 + int(extra)%64 // always above the line limit
		got := chunkLines(t, data, size, 16, 2)
		want := plainLines(data, 16)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d:\n got %v\nwant %v", size, got, want)
		}
	})
}
