package ratelimit

import (
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// leaseMinRate is the slowest policy lease mode slices: below it a slice
// would be one token (a login's 3/m), so those decide exactly.
const leaseMinRate = 10 // per second

// sliceOf is the slice a router takes of lp's buckets in lease mode: 100ms
// of the policy's rate, at most half its burst (and half the network
// bucket's), so N routers holding a slice each leave the others tokens;
// 1 (a policy under 10/s, or a burst under 4) means exact.
func sliceOf(lp *limitParams) int {
	c := lp.client
	if c.interval <= 0 || int64(time.Second)/c.interval < leaseMinRate {
		return 1
	}
	n := int(int64(100*time.Millisecond) / c.interval)
	n = min(n, int(c.tolerance/c.interval)/2)
	if lp.net != nil && lp.net.interval > 0 {
		n = min(n, int(lp.net.tolerance/lp.net.interval)/2)
	}
	return max(n, 1)
}

// leaseTable holds this router's leases, one per client and policy, in
// shards picked by the client's hash. A shard holding leaseShardMax drops
// its idle leases before it adds one (an idle lease's tokens come back as
// the bucket refills).
type leaseTable struct{ shards [64]leaseShard }

const leaseShardMax = 1024

type leaseKey struct {
	k      key
	policy string
}

type leaseShard struct {
	mu sync.Mutex
	m  map[leaseKey]*redisstore.Lease
	_  [48]byte // neighbouring shards share no cache line
}

func (t *leaseTable) get(k key, policy string, h uint64, now int64) *redisstore.Lease {
	s := &t.shards[h&63]
	lk := leaseKey{k, policy}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.m[lk]; l != nil {
		return l
	}
	if s.m == nil {
		s.m = map[leaseKey]*redisstore.Lease{}
	}
	if len(s.m) >= leaseShardMax {
		for x, l := range s.m {
			if l.Idle(now) {
				delete(s.m, x)
			}
		}
	}
	l := &redisstore.Lease{}
	s.m[lk] = l
	return l
}
