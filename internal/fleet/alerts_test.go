package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/analyze"
	"github.com/irtui/irtui/internal/block/crowdsec"
)

type fakeAlerts struct {
	alerts []crowdsec.Alert
	err    error
	calls  int
}

func (f *fakeAlerts) FleetAlerts(ctx context.Context, since time.Duration) ([]crowdsec.Alert, error) {
	f.calls++
	return f.alerts, f.err
}

func TestAlertsMergeIntoSnapshots(t *testing.T) {
	now := time.Now().UTC().Format(time.RFC3339)
	var a crowdsec.Alert
	a.Scenario = "crowdsecurity/http-probing"
	a.Source.Scope, a.Source.Value, a.Source.IP = "Ip", "198.51.100.23", "198.51.100.23"
	a.StartAt, a.StopAt = now, now
	src := &fakeAlerts{alerts: []crowdsec.Alert{a}}
	feed := NewAlerts(src, time.Hour, time.Hour)
	own := &analyze.Snapshot{Findings: []analyze.Finding{{Kind: "page_flood"}}}
	if got := feed.Merge(own); got != own {
		t.Fatal("merge before the first poll changed the snapshot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { feed.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for feed.Merge(own) == own && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	got := feed.Merge(own)
	if len(got.Findings) != 2 || got.Findings[1].Kind != crowdsec.FindingKind || len(own.Findings) != 1 {
		t.Fatalf("merged %+v, own %+v", got.Findings, own.Findings)
	}
	// A failed poll keeps what was shown and says why.
	src.err = errors.New("connection refused")
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	feed.Run(ctx)
	if feed.Err() == "" || len(feed.Merge(own).Findings) != 2 {
		t.Fatalf("after a failed poll: err %q, findings %d", feed.Err(), len(feed.Merge(own).Findings))
	}
}
