package block

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Record is one line of the journal. Blocks are written before they are
// applied; a block whose apply failed is followed by a "failed" record with
// its ID, so replaying the journal gives what irtui means to have.
type Record struct {
	V       int       `json:"v"`
	Op      string    `json:"op"` // block, unblock, failed, expired, reconcile
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Who     string    `json:"who,omitempty"`
	Why     string    `json:"why,omitempty"`
	Backend string    `json:"backend"`
	TTL     int64     `json:"ttl_seconds,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	Action  Action    `json:"action,omitempty"`
	Rate    string    `json:"rate,omitempty"`
	Burst   int       `json:"burst,omitempty"`
	Scope   string    `json:"scope,omitempty"`
	AS      uint32    `json:"as,omitempty"`
	Targets []string  `json:"targets,omitempty"`
	IDs     []string  `json:"ids,omitempty"` // unblock by block ID; failed/expired: the records concerned
	All     bool      `json:"all,omitempty"`
	Error   string    `json:"error,omitempty"`
	Note    string    `json:"note,omitempty"`
}

// Journal is the append-only JSON-lines file in the state directory.
type Journal struct {
	Dir string
}

// DefaultStateDir is $IRTUI_STATE_DIR, else $XDG_STATE_HOME/irtui, else
// ~/.local/state/irtui.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("IRTUI_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "irtui"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the state directory (set XDG_STATE_HOME or use --state-dir): %w", err)
	}
	return filepath.Join(home, ".local", "state", "irtui"), nil
}

// OpenJournal makes sure the state directory exists (mode 0700).
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the state directory %s: %w (use --state-dir)", dir, err)
	}
	return &Journal{Dir: dir}, nil
}

// Path is the journal file.
func (j *Journal) Path() string { return filepath.Join(j.Dir, "journal.jsonl") }

// Lock takes the journal's exclusive lock so two irtui processes never
// interleave a plan's journal write and its apply.
func (j *Journal) Lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(j.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the journal lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock the journal: %w", err)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// maxRecord bounds one journal line (a block of a million addresses is
// about 25 MB).
const maxRecord = 64 << 20

// Read returns every record and the journal's size. A torn last line (a
// crash in the middle of a write) is ignored; any other broken line is an
// error naming it, since guessing could undo the wrong block.
func (j *Journal) Read() ([]Record, int64, error) {
	f, err := os.Open(j.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read the journal: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var recs []Record
	var size int64
	line := 0
	for {
		b, err := r.ReadSlice('\n')
		var full []byte
		for errors.Is(err, bufio.ErrBufferFull) {
			full = append(full, b...)
			if len(full) > maxRecord {
				return nil, 0, fmt.Errorf("journal %s: line %d is larger than %d bytes", j.Path(), line+1, maxRecord)
			}
			b, err = r.ReadSlice('\n')
		}
		if full != nil {
			b = append(full, b...)
		}
		if len(b) > 0 {
			line++
			if b[len(b)-1] != '\n' {
				break // torn write at the end
			}
			size += int64(len(b))
			if len(bytes.TrimSpace(b)) > 0 {
				var rec Record
				if uerr := json.Unmarshal(b, &rec); uerr != nil {
					return nil, 0, fmt.Errorf("journal %s: line %d: %v (move the file aside to start afresh; the firewall keeps its own expiry)", j.Path(), line, uerr)
				}
				recs = append(recs, rec)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return recs, size, nil
}

// Append writes records and fsyncs before returning: a block is on disk
// before the firewall changes. A torn last line is first cut away.
func (j *Journal) Append(recs ...Record) error {
	var buf bytes.Buffer
	for _, r := range recs {
		if r.V == 0 {
			r.V = 1
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	f, err := os.OpenFile(j.Path(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the journal: %w", err)
	}
	size, err := completeSize(f)
	if err == nil {
		err = f.Truncate(size)
	}
	if err == nil {
		_, err = f.WriteAt(buf.Bytes(), size)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("cannot write the journal %s: %w", j.Path(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot sync the journal: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if size == 0 {
		if d, err := os.Open(j.Dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// Block is one block as the journal holds it.
type Block struct {
	ID      string
	Targets []netip.Prefix
	Rule    Rule
	TTL     time.Duration
	Created time.Time
	Expires time.Time
	Who     string
	Why     string
	Backend string
	AS      uint32
}

func (b *Block) record() Record {
	r := Record{Op: "block", ID: b.ID, At: b.Created, Who: b.Who, Why: b.Why, Backend: b.Backend,
		TTL: int64(b.TTL / time.Second), Expires: b.Expires, Action: b.Rule.Action,
		Scope: ScopeString(b.Rule.Scope), AS: b.AS}
	if b.Rule.Action == RateLimit {
		r.Rate = b.Rule.Rate.String()
		r.Burst = b.Rule.Rate.Burst
	}
	// One string holds every target; each is a slice of it (one allocation
	// instead of one per target).
	buf := make([]byte, 0, 24*len(b.Targets))
	ends := make([]int, len(b.Targets))
	for i, t := range b.Targets {
		buf = t.AppendTo(buf)
		ends[i] = len(buf)
	}
	all := string(buf)
	r.Targets = make([]string, len(b.Targets))
	start := 0
	for i, end := range ends {
		r.Targets[i] = all[start:end]
		start = end
	}
	return r
}

func blockFromRecord(r Record) (*Block, error) {
	b := &Block{ID: r.ID, Created: r.At, Who: r.Who, Why: r.Why, Backend: r.Backend,
		TTL: time.Duration(r.TTL) * time.Second, Expires: r.Expires, AS: r.AS}
	b.Rule.Action = r.Action
	if r.Action == RateLimit {
		rate, err := ParseRate(r.Rate)
		if err != nil {
			return nil, err
		}
		rate.Burst = r.Burst
		b.Rule.Rate = rate
	}
	scope, err := ParseScope(r.Scope)
	if err != nil {
		return nil, err
	}
	b.Rule.Scope = scope
	if err := b.Rule.Validate(); err != nil {
		return nil, err
	}
	for _, t := range r.Targets {
		p, err := ParseTarget(t)
		if err != nil {
			return nil, err
		}
		b.Targets = append(b.Targets, p)
	}
	return b, nil
}

// journalState is the journal replayed for one backend.
type journalState struct {
	blocks  map[string]*Block // blocks not failed, not unblocked (expired ones included)
	expired map[string]bool   // blocks whose expiry was already reported
}

func replay(recs []Record, backend string) (*journalState, error) {
	failed := map[string]bool{}
	for _, r := range recs {
		if r.Op == "failed" {
			for _, id := range r.IDs {
				failed[id] = true
			}
		}
	}
	st := &journalState{blocks: map[string]*Block{}, expired: map[string]bool{}}
	for i, r := range recs {
		if r.Backend != backend || failed[r.ID] {
			continue
		}
		switch r.Op {
		case "block":
			b, err := blockFromRecord(r)
			if err != nil {
				return nil, fmt.Errorf("journal record %d (block %s): %v", i+1, clip(r.ID), err)
			}
			st.blocks[b.ID] = b
		case "unblock":
			if r.All {
				st.blocks = map[string]*Block{}
				continue
			}
			for _, id := range r.IDs {
				delete(st.blocks, id)
			}
			var undo []netip.Prefix
			for _, t := range r.Targets {
				if p, err := ParseTarget(t); err == nil {
					undo = append(undo, p)
				}
			}
			if len(undo) > 0 {
				for id, b := range st.blocks {
					b.Targets = removeCovered(b.Targets, undo)
					if len(b.Targets) == 0 {
						delete(st.blocks, id)
					}
				}
			}
		case "expired":
			for _, id := range r.IDs {
				st.expired[id] = true
			}
		}
	}
	return st, nil
}

// removeCovered drops every target equal to or inside one of undo.
func removeCovered(targets, undo []netip.Prefix) []netip.Prefix {
	out := targets[:0:0]
	for _, t := range targets {
		covered := false
		for _, u := range undo {
			if u.Bits() <= t.Bits() && u.Contains(t.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, t)
		}
	}
	return out
}

// active returns blocks not yet expired, oldest first.
func (st *journalState) active(now time.Time) []*Block {
	var out []*Block
	for _, b := range st.blocks {
		if b.Expires.After(now) {
			out = append(out, b)
		}
	}
	sortBlocks(out)
	return out
}

func sortBlocks(bs []*Block) {
	sort.Slice(bs, func(i, j int) bool {
		if !bs[i].Created.Equal(bs[j].Created) {
			return bs[i].Created.Before(bs[j].Created)
		}
		return bs[i].ID < bs[j].ID
	})
}

// BulkTargets is the size from which a block gets sets and rules of its own
// on a backend that splits bulk blocks (BulkSplitter): the rule's counter
// is then the block's counter, so its networks need none each.
const BulkTargets = 1000

// BulkSplitter is a backend whose per-network counters are costly to load
// (nftables allocates one kernel counter per element: for 100,000
// addresses that is a third of the load time). It puts a bulk block in sets
// of its own, without per-network counters, and counts its packets with
// its rules' counters.
type BulkSplitter interface {
	SplitsBulk() bool
}

func splitsBulk(b Backend) bool {
	s, ok := b.(BulkSplitter)
	return ok && s.SplitsBulk()
}

// ruleID is the firewall rule a block's networks go in: the rule shared by
// every block with the same action and scope, or with split, for a bulk
// block, one of its own (the shared ID and a hash of the block's ID; short
// enough for ipset's 31-character names).
func ruleID(b *Block, split bool) string {
	id := b.Rule.ID()
	if split && len(b.Targets) >= BulkTargets {
		h := fnv.New32a()
		h.Write([]byte(b.ID))
		id += "_" + strconv.FormatUint(uint64(h.Sum32()), 16)
	}
	return id
}

// wantState turns active blocks into what the firewall should hold. A
// prefix inside a wider prefix under the same rule is left out (interval
// sets refuse overlaps); it stays in the journal and enters the firewall
// when the wider one goes, at the next reconcile. With split, bulk blocks
// get rules of their own (see BulkSplitter).
func wantState(blocks []*Block, split bool) *State {
	st := &State{Rules: map[string]*RuleState{}}
	for _, b := range blocks {
		id := ruleID(b, split)
		rs := st.Rules[id]
		if rs == nil {
			rs = &RuleState{Rule: b.Rule, Elems: make(map[netip.Prefix]time.Time, len(b.Targets)), Bulk: id != b.Rule.ID()}
			st.Rules[id] = rs
		}
		for _, t := range b.Targets {
			if e, ok := rs.Elems[t]; !ok || b.Expires.After(e) {
				rs.Elems[t] = b.Expires
			}
		}
	}
	for _, rs := range st.Rules {
		var nets []netip.Prefix
		for p := range rs.Elems {
			if !p.IsSingleIP() {
				nets = append(nets, p)
			}
		}
		sort.Slice(nets, func(i, j int) bool { return PrefixLess(nets[i], nets[j]) })
		var last netip.Prefix
		for _, p := range nets {
			if last.IsValid() && last.Bits() <= p.Bits() && last.Contains(p.Addr()) {
				delete(rs.Elems, p)
				continue
			}
			last = p
		}
	}
	return st
}

// completeSize is the length of f up to its last newline: what a crash in
// the middle of a write left after it is not a record.
func completeSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	buf := make([]byte, 64*1024)
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// size is the journal file's current size, to notice a change between a
// plan and its apply.
func (j *Journal) size() int64 {
	fi, err := os.Stat(j.Path())
	if err != nil {
		return 0
	}
	return fi.Size()
}
