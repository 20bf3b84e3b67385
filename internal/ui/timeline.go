package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/irtui/irtui/internal/playbook"
)

// The incident timeline is written off the UI goroutine, in order: entries
// are stamped when they happen and queued; one command at a time appends
// what is queued, and its completion starts the next.

type tlEntry struct {
	at                    time.Time
	kind, summary, detail string
}

// timelineDone says a batch of entries was appended.
type timelineDone struct{ err error }

// maxTimelineQueue bounds what waits while the disk is slow; beyond it the
// oldest waiting entries are dropped (and the console says so).
const maxTimelineQueue = 1000

type timelineQueue struct {
	tl      *playbook.Timeline
	pending []tlEntry
	busy    bool
	dropped int
}

func (q *timelineQueue) add(e tlEntry) tea.Cmd {
	if q == nil || q.tl == nil {
		return nil
	}
	if len(q.pending) >= maxTimelineQueue {
		q.pending = q.pending[1:]
		q.dropped++
	}
	q.pending = append(q.pending, e)
	return q.flush()
}

func (q *timelineQueue) flush() tea.Cmd {
	if q.busy || len(q.pending) == 0 {
		return nil
	}
	q.busy = true
	batch, tl := q.pending, q.tl
	q.pending = nil
	return func() tea.Msg {
		var first error
		for _, e := range batch {
			if err := tl.AppendAt(e.at, e.kind, e.summary, e.detail); err != nil && first == nil {
				first = err
			}
		}
		return timelineDone{first}
	}
}

// done is called when a batch was written: the next one starts.
func (q *timelineQueue) done() tea.Cmd {
	if q == nil {
		return nil
	}
	q.busy = false
	return q.flush()
}
