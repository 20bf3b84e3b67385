package audit

import (
	"context"
	"testing"
	"time"
)

func TestValuesFromProcFixtures(t *testing.T) {
	for _, c := range []struct {
		root string
		many bool
	}{{"testdata/proc-flood", true}, {"testdata/proc-quiet", false}} {
		v := NewValues(LocalOptions{ProcRoot: c.root, Timeout: time.Second}, time.Hour, time.Hour)
		if v.Get() != nil {
			t.Fatal("values before the first measurement")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // measure once, then stop
		v.Run(ctx)
		got := v.Get()
		n, ok := got["syn_recv"]
		// the flood fixture holds a SYN flood; the quiet one a couple of
		// half-open connections, as any busy server has
		if !ok || (n > 100) != c.many {
			t.Fatalf("%s: values %v", c.root, got)
		}
	}
}
