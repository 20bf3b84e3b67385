package analyze

import (
	"net/netip"

	"github.com/irtui/irtui/internal/logs"
)

// maxQueueIDs bounds each of the two generations of the queue-ID map.
const maxQueueIDs = 1 << 15

// queueState is what is known of one message by its queue ID: the client
// that handed it in, and how many of its remote deliveries were seen
// before that client (a worker may hand over a later batch first).
type queueState struct {
	client  netip.Addr
	pending uint32
}

// queues links a message's remote deliveries to the SMTP client that
// submitted it, so an outbound spike names the clients whose mail went
// out and not every server that delivered mail in. Two generations keep
// it bounded: when the newer fills, the older (messages long delivered)
// is dropped.
type queues struct {
	cur, old map[string]*queueState
	key      []byte // scratch for lookups
}

// link looks at a mail event with a queue ID and returns the client to
// credit with outbound deliveries, and how many (0: none).
func (q *queues) link(host string, ev *logs.Event, src netip.Addr) (netip.Addr, uint32) {
	key := append(q.key[:0], host...)
	key = append(key, 0)
	key = append(key, ev.Mail.QueueID[:min(len(ev.Mail.QueueID), 64)]...)
	q.key = key
	st := q.cur[string(key)]
	if st == nil {
		st = q.old[string(key)]
	}
	m := &ev.Mail
	out := m.Outbound && (m.Action == logs.ActSent || m.Action == logs.ActDeferred || m.Action == logs.ActBounced)
	if !out && !src.IsValid() {
		return netip.Addr{}, 0
	}
	if st == nil {
		if len(q.cur) >= maxQueueIDs || q.cur == nil {
			q.old, q.cur = q.cur, make(map[string]*queueState, 1024)
		}
		st = &queueState{}
		q.cur[string(key)] = st
	}
	if !out {
		// The first client of a queue ID handed the message in; later
		// lines with an address (a filter's reinjection) do not change that.
		if st.client.IsValid() {
			return netip.Addr{}, 0
		}
		st.client = src
		n := st.pending
		st.pending = 0
		return src, n
	}
	if !st.client.IsValid() {
		st.pending++
		return netip.Addr{}, 0
	}
	return st.client, 1
}
