package analyze

import (
	"cmp"
	"net/netip"
	"slices"
)

// A lazy shard (see shard.lazy) keeps no clusters while it counts: each
// address keeps only its fingerprint (fingerprintStep), and the clusters
// are grouped from the fingerprints when read or when the shard stops being
// lazy. A cluster then holds its present members only: its events are
// theirs since they joined, and its ASes theirs.

// fpGroup is the addresses of a lazy shard that share one fingerprint;
// the user agent and pages are read from any member (its head).
type fpGroup struct {
	fp     uint64
	events int64
	last   int64
	size   int32
	head   int32 // a member's index in the address table; next links the rest
}

// fpGroups is every fingerprint group of a lazy shard, found through a
// flat index sized up front (most of a report's groups have one member: a
// Go map grown to hold them allocated 6 MB of fresh memory on the 1 M-line
// benchmark, which the snapshot then faulted in).
type fpGroups struct {
	groups []fpGroup
	next   []int32 // by address index: the next member of its group, -1 at the end
	idx    *fpTable[int32]
}

func newFPGroups(addresses int32) *fpGroups {
	size := 16
	for size < 2*int(addresses) {
		size <<= 1
	}
	return &fpGroups{groups: make([]fpGroup, 0, addresses), next: make([]int32, addresses), idx: newFPTable[int32](size)}
}

// add counts the address at index i, entry e, in its fingerprint's group.
func (gs *fpGroups) add(i int32, e *entry[netip.Addr, ipX]) {
	x := &e.x
	if x.np == 0 || x.np == diverse {
		return
	}
	fp := fingerprint(x)
	j, ok := gs.idx.get(fp)
	if !ok {
		j = int32(len(gs.groups))
		gs.idx.put(fp, j)
		gs.groups = append(gs.groups, fpGroup{fp: fp, head: -1})
	}
	g := &gs.groups[j]
	g.size++
	g.events += int64(x.fpEv)
	g.last = max(g.last, e.last)
	gs.next[i] = g.head
	g.head = i
}

// members returns the indexes of g's members, the busiest first.
func (gs *fpGroups) members(s *shard, g *fpGroup) []int32 {
	var out []int32
	for i := g.head; i >= 0; i = gs.next[i] {
		out = append(out, i)
	}
	slices.SortFunc(out, func(i, j int32) int {
		if c := cmp.Compare(s.ips.at(j).x.fpEv, s.ips.at(i).x.fpEv); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})
	return out
}

// lazyGroups groups the shard's fingerprinted addresses by fingerprint.
func (s *shard) lazyGroups() *fpGroups {
	gs := newFPGroups(s.ips.n)
	for i := int32(0); i < s.ips.n; i++ {
		gs.add(i, s.ips.at(i))
	}
	return gs
}

// groupX returns a member's fingerprint: its user agent and pages are
// the group's.
func (s *shard) groupX(g *fpGroup) *ipX {
	return &s.ips.at(g.head).x
}

// pageKeys returns the keys of the pages of groups, by page hash (see
// pre.pageH). A lazy shard has evicted no page (evictPage), so every one
// is in the page table.
func (s *shard) pageKeys(groups []*fpGroup) map[uint32]string {
	keys := map[uint32]string{}
	for _, g := range groups {
		x := s.groupX(g)
		for _, h := range x.pages[:x.np] {
			keys[h] = ""
		}
	}
	left := len(keys)
	for i := int32(0); i < s.pages.n && left > 0; i++ {
		e := s.pages.at(i)
		h := uint32(s.pages.hash(e.key))
		if k, ok := keys[h]; ok && k == "" {
			keys[h] = e.key
			left--
		}
	}
	return keys
}

// pageNames returns the sorted keys of x's pages, or false when one is
// unknown.
func pageNames(x *ipX, keys map[uint32]string) ([]string, bool) {
	out := make([]string, 0, x.np)
	for _, h := range x.pages[:x.np] {
		k := keys[h]
		if k == "" {
			return nil, false
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out, true
}

// lazyClusters returns the clusters of a lazy shard that the snapshot
// reads (those that may reach the minimum size across shards and whose
// members came back), as clusterStep would have kept them, from the
// shard's fingerprint groups gs.
func (s *shard) lazyClusters(a *Analyzer, gs *fpGroups) []clusterView {
	var read []*fpGroup
	for j := range gs.groups {
		g := &gs.groups[j]
		if int(g.size)*len(a.shards) >= a.cfg.Clusters.MinSize && g.events >= 2*int64(g.size) {
			read = append(read, g)
		}
	}
	if len(read) == 0 {
		return nil
	}
	keys := s.pageKeys(read)
	var out []clusterView
	for _, g := range read {
		var cl cluster
		if s.fill(&cl, gs, g, keys, nil) {
			out = append(out, cl.view(g.fp))
		}
	}
	return out
}

// fill sets cl to group g of gs, whose page keys are in keys, as
// clusterStep would have left it: its user agent, pages, size, events and
// present members' ASes, and for clusters of repeat visitors its busiest
// members. Each member is passed to join, if set, with whether it is
// listed. It reports false, leaving cl, when a page has no key.
func (s *shard) fill(cl *cluster, gs *fpGroups, g *fpGroup, keys map[uint32]string, join func(e *entry[netip.Addr, ipX], listed bool)) bool {
	x := s.groupX(g)
	pages, ok := pageNames(x, keys)
	if !ok {
		return false
	}
	cl.fp, cl.last = g.fp, g.last
	cl.ua = s.uas[x.ua]
	cl.pages = cl.pageArr[:copy(cl.pageArr[:], pages)]
	cl.size, cl.events = int(g.size), g.events
	repeat := len(cl.pages) >= 2 || cl.events >= 2*int64(cl.size)
	for _, i := range gs.members(s, g) {
		e := s.ips.at(i)
		cl.addAS(e.x.asn)
		listed := repeat && len(cl.members) < maxClusterMembers
		if listed {
			cl.members = append(cl.members, e.key)
		}
		if join != nil {
			join(e, listed)
		}
	}
	return true
}

// buildClusters makes the clusters of a shard that stops being lazy from
// its addresses' fingerprints; when they are more than the shard has room
// for, the biggest get one.
func (s *shard) buildClusters() {
	gs := s.lazyGroups()
	groups := make([]*fpGroup, len(gs.groups))
	for j := range gs.groups {
		groups[j] = &gs.groups[j]
	}
	if room := maxClusters - s.clusters.n; len(groups) > room {
		slices.SortFunc(groups, func(x, y *fpGroup) int {
			if c := cmp.Compare(y.size, x.size); c != 0 {
				return c
			}
			return cmp.Compare(y.events, x.events)
		})
		groups = groups[:max(room, 0)]
	}
	keys := s.pageKeys(groups)
	for _, g := range groups {
		if _, ok := s.clusters.get(g.fp); ok {
			continue
		}
		cl := s.newCluster()
		if !s.fill(cl, gs, g, keys, func(e *entry[netip.Addr, ipX], listed bool) {
			e.x.cl, e.x.member = cl, listed
		}) {
			if len(s.freeCl) < maxFreeClusters {
				s.freeCl = append(s.freeCl, cl)
			}
			continue
		}
		s.clusters.put(g.fp, cl)
	}
}
