package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/irtui/irtui/internal/logs"
)

// copySink checks every event when it arrives and keeps nothing of it, so
// Backfill reuses its read buffers.
type copySink struct {
	mu     sync.Mutex
	seen   map[int64]int
	errors []string
}

func (s *copySink) CopiesStrings() bool { return true }

func (s *copySink) AddEvents(b []logs.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b {
		ev := &b[i]
		s.seen[ev.LineNo]++
		if want := fmt.Sprintf("/page/%d", ev.LineNo); ev.HTTP.Path != want && len(s.errors) < 5 {
			s.errors = append(s.errors, fmt.Sprintf("line %d has path %q", ev.LineNo, ev.HTTP.Path))
		}
	}
}
func (s *copySink) AddMalformed(string, int64, string, string) {}
func (s *copySink) SourceError(string, string)                 {}

// TestBackfillRecycledBuffers checks that a sink that copies what it keeps
// gets every line intact while the read buffers are reused: no event may
// reach it after its chunk's memory was handed back.
func TestBackfillRecycledBuffers(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a.log")
	write(t, a, httpLines(60000, t0)) // several 1 MiB chunks
	poisonReleased = true
	defer func() { poisonReleased = false }()
	sink := &copySink{seen: map[int64]int{}}
	if err := Backfill(context.Background(), []string{a, a}, Config{Formats: testFormats}, 4, sink); err != nil {
		t.Fatal(err)
	}
	for _, e := range sink.errors {
		t.Error(e)
	}
	for i := int64(1); i <= 60000; i++ {
		if sink.seen[i] != 2 {
			t.Fatalf("line %d seen %d times", i, sink.seen[i])
		}
	}
}
