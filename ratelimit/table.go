package ratelimit

import (
	"sync"
	"sync/atomic"
)

// sampleSize is how many records one eviction looks at.
const sampleSize = 8

// shard is one lock's worth of the client table. Records live in ents (a
// slice of plain structs, no pointers); idx maps a key to its position. The
// shard never holds more than limit records: memory is bounded by
// max_tracked_clients whatever the traffic.
type shard struct {
	mu    sync.Mutex
	gen   uint64 // state generation the buckets are expressed in
	limit int
	rng   uint64
	idx   index
	ents  []entry
	free  []uint32
	// inflight counts the admitted requests, not yet Done, of the clients
	// hashing here (tracked or not, allow-listed too): a router-wide count
	// without a counter every core writes. Written under mu when mu is
	// held anyway, read without it by the overload sampler.
	inflight atomic.Int64
	_        [56]byte // 192 bytes: neighbouring shards share no cache line
}

// find returns k's record (h is hash64(k, seed)), nil when untracked. The
// pointer is valid until the shard is unlocked.
func (s *shard) find(h uint64, k key) *entry {
	if i, ok := s.idx.find(h, k, s.ents); ok {
		return &s.ents[i]
	}
	return nil
}

// count is the number of records.
func (s *shard) count() int { return s.idx.n }

func (s *shard) next() uint64 {
	// xorshift64*: cheap, per shard, under the lock.
	x := s.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	s.rng = x
	return x * 2685821657736338717
}

// insert adds a fresh record for k, evicting one if the shard is full. It
// returns nil when every sampled record is pinned: the caller then decides
// without a record (see Admission.untracked).
func (s *shard) insert(h uint64, k key, t int64, a *Admission, ab *abuseSettings) *entry {
	var pos uint32
	switch {
	case s.count() >= s.limit:
		p, ok := s.evict(t, a, ab)
		if !ok {
			return nil
		}
		pos = p
	case len(s.free) > 0:
		pos = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	default:
		if len(s.ents) == cap(s.ents) {
			s.grow()
		}
		pos = uint32(len(s.ents))
		s.ents = s.ents[:pos+1]
	}
	s.ents[pos] = entry{k: k, flags: used, first: uint32(t / 1e9)}
	s.idx.insert(h, pos, s.ents)
	return &s.ents[pos]
}

// grow enlarges ents by doubling, never past the shard's limit, so a full
// shard wastes no capacity.
func (s *shard) grow() {
	n := min(max(2*cap(s.ents), 16), max(s.limit, cap(s.ents)+1))
	ents := make([]entry, len(s.ents), n)
	copy(ents, s.ents)
	s.ents = ents
}

// evict frees one record and returns its position. A fresh record (its
// buckets full again, no counters worth keeping) goes first: dropping it
// changes nothing. Failing that, the least recently seen stale record goes,
// and its bucket debt moves to the sketch so the client cannot come back to
// a fresh burst. Pinned records (banned, or with requests or connections in
// flight) never go.
func (s *shard) evict(t int64, a *Admission, ab *abuseSettings) (uint32, bool) {
	n := len(s.ents)
	best, bestSeen := -1, int64(0)
	for range 2 {
		for range min(sampleSize, n) {
			i := int(s.next() % uint64(n))
			e := &s.ents[i]
			if e.flags&used == 0 {
				continue
			}
			switch e.class(t, ab) {
			case fresh:
				s.drop(uint32(i))
				return uint32(i), true
			case stale:
				if best < 0 || e.seen < bestSeen {
					best, bestSeen = i, e.seen
				}
			}
		}
		if best >= 0 {
			break
		}
	}
	if best < 0 {
		return 0, false
	}
	a.spill(&s.ents[best], t)
	s.drop(uint32(best))
	return uint32(best), true
}

// drop unlinks the record at i; its slot is reused by the caller.
func (s *shard) drop(i uint32) {
	s.idx.remove(hash64(s.ents[i].k, s.idx.seed), i, s.ents)
	s.ents[i] = entry{}
}

// remove deletes the record at i and puts its slot on the free list.
func (s *shard) remove(i uint32) {
	s.drop(i)
	s.free = append(s.free, i)
}
