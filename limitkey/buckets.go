// Package limitkey finds what a rate-limit bucket belongs to (limits.POLICY.key:
// a client, its network, or a value of the request hashed with HMAC) and
// holds token buckets keyed by it.
package limitkey

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Buckets are token buckets keyed by a 64-bit hash (of a client address or
// of an HMAC of a key's value), bounded in number: past maxPerShard a shard
// forgets its full buckets, then any one. Safe for concurrent use.
type Buckets struct {
	perSec float64
	burst  float64
	shards [bucketShards]bucketShard
}

const (
	bucketShards = 32
	maxPerShard  = 8192 // 256Ki keys in all
)

type bucketShard struct {
	mu sync.Mutex
	m  map[uint64]tokenBucket
	_  [40]byte // keeps neighbouring locks off one cache line
}

// tokenBucket holds no pointer, so the maps are not scanned by the GC.
type tokenBucket struct {
	tokens float64
	last   int64 // unix ns of the last refill
}

// NewBuckets returns buckets of perSec tokens a second, burst at most.
func NewBuckets(perSec float64, burst int) *Buckets {
	b := &Buckets{perSec: perSec, burst: float64(max(burst, 1))}
	for i := range b.shards {
		b.shards[i].m = map[uint64]tokenBucket{}
	}
	return b
}

// Take spends one token of key k at now (unix ns); when none is left it
// returns false and the wait until one is.
func (b *Buckets) Take(k uint64, now int64) (bool, time.Duration) {
	s := &b.shards[k%bucketShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[k]
	if !ok {
		if len(s.m) >= maxPerShard {
			b.evict(s, now)
		}
		t = tokenBucket{tokens: b.burst, last: now}
	}
	if el := now - t.last; el > 0 {
		t.tokens = math.Min(b.burst, t.tokens+float64(el)/1e9*b.perSec)
		t.last = now
	}
	if t.tokens >= 1 {
		t.tokens--
		s.m[k] = t
		return true, 0
	}
	s.m[k] = t
	if b.perSec <= 0 {
		return false, time.Hour
	}
	return false, time.Duration((1 - t.tokens) / b.perSec * 1e9)
}

// Empty reports whether key k's bucket has no whole token at now (unix
// ns), without spending one. A key never seen is full.
func (b *Buckets) Empty(k uint64, now int64) bool {
	s := &b.shards[k%bucketShards]
	s.mu.Lock()
	t, ok := s.m[k]
	s.mu.Unlock()
	if !ok {
		return false
	}
	return math.Min(b.burst, t.tokens+float64(max(now-t.last, 0))/1e9*b.perSec) < 1
}

// evict makes room in s: buckets that have refilled go first; when none
// has, one arbitrary bucket goes.
func (b *Buckets) evict(s *bucketShard, now int64) {
	full := int64(b.burst / math.Max(b.perSec, 1e-9) * 1e9)
	for k, t := range s.m {
		if now-t.last >= full {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxPerShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
}

// Len is how many buckets are held.
func (b *Buckets) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

var addrSeed = maphash.MakeSeed()

// AddrKey hashes a client address for the buckets.
func AddrKey(a netip.Addr) uint64 {
	b := a.As16()
	return maphash.Bytes(addrSeed, b[:])
}
