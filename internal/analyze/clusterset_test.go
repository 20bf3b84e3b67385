package analyze

import (
	"math/rand/v2"
	"testing"
)

// TestClusterSet runs random puts, gets and deletions against a map,
// with fingerprints crowded into few home slots so probes run long and
// deletions move entries back across the table's end.
func TestClusterSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := newClusterSet()
	want := map[uint64]*cluster{}
	fp := func() uint64 {
		// Homes near the end of the table, so probing wraps around.
		return uint64(clusterSlots-4+r.IntN(8)) | uint64(r.IntN(64))<<20
	}
	for i := 0; i < 200000; i++ {
		k := fp()
		switch {
		case r.IntN(3) == 0:
			c.del(k)
			delete(want, k)
		case want[k] == nil && c.n < maxClusters:
			cl := &cluster{fp: k}
			c.put(k, cl)
			want[k] = cl
		}
		if got, _ := c.get(k); got != want[k] {
			t.Fatalf("op %d: get(%#x) = %p, want %p", i, k, got, want[k])
		}
		if c.n != len(want) {
			t.Fatalf("op %d: n = %d, want %d", i, c.n, len(want))
		}
	}
	seen := 0
	c.all(func(fp uint64, cl *cluster) {
		if want[fp] != cl {
			t.Errorf("all: %#x -> %p, want %p", fp, cl, want[fp])
		}
		seen++
	})
	if seen != len(want) {
		t.Errorf("all saw %d clusters, want %d", seen, len(want))
	}
	for k, cl := range want {
		if got, _ := c.get(k); got != cl {
			t.Errorf("get(%#x) lost", k)
		}
	}
}
