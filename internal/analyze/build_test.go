package analyze

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBusiest checks the heap selection against sorting every row.
func TestBusiest(t *testing.T) {
	a := New(DefaultConfig())
	a.cfg.Cumulative = true
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 1, 5, 300, 2000} {
		rows := make([]row[int, noX], size)
		for i := range rows {
			rows[i].key = i
			rows[i].total = int64(r.IntN(50)) // many ties: broken by rate, then key
			rows[i].short = int64(r.IntN(3))
		}
		for _, n := range []int{0, 1, 7, 200, 5000} {
			got := busiest(a, rows, n, cmp.Compare[int])
			want := slices.Clone(rows)
			byEvents(a, want, cmp.Compare[int])
			want = want[:min(n, len(want))]
			if len(got) != len(want) {
				t.Fatalf("%d rows, top %d: got %d", size, n, len(got))
			}
			for i := range got {
				if got[i].key != want[i].key {
					t.Fatalf("%d rows, top %d: row %d is %d, want %d", size, n, i, got[i].key, want[i].key)
				}
			}
		}
	}
}
