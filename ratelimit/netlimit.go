package ratelimit

import "sync"

// netKey names one per-network bucket: a masked prefix and its policy.
type netKey struct {
	k   key
	pol uint8
}

// netShard is one lock's worth of per-network buckets (limits.POLICY.
// per_network), bounded like the client table: at most limit buckets, full
// buckets evicted first, drained ones handed to the sketch.
type netShard struct {
	mu    sync.Mutex
	gen   uint64
	limit int
	m     map[netKey]int64 // tat
	_     [32]byte         // 64 bytes: neighbouring shards share no cache line
}

func (a *Admission) netShard(nk netKey) *netShard {
	return &a.nets[hash64(nk.k, a.seed^uint64(nk.pol))>>a.shift]
}

// takeNet takes one token from the network bucket of client k under policy
// id at t. When the network is over its rate it returns false, the wait
// until a token and the time until the bucket is full.
func (a *Admission) takeNet(k key, id uint8, np *netParams, st *state, t int64) (ok bool, wait, full int64) {
	nk := netKey{k.prefix(np.v4, np.v6), id}
	s := a.netShard(nk)
	s.mu.Lock()
	if s.gen != st.gen {
		s.convert(st)
	}
	tat, found := s.m[nk]
	if !found {
		tat = np.clamp(a.sketch.Load().Get(hash64(nk.k, tagSeed(a.seed, uint16(id)|0x100))), t)
		if len(s.m) >= s.limit {
			s.evict(a, t)
		}
	}
	next, ok, wait := np.take(tat, t)
	full = np.untilFull(tat, t)
	if ok {
		s.m[nk] = next
	} else if !found && tat > t {
		s.m[nk] = tat
	}
	s.mu.Unlock()
	return ok, wait, full
}

// evict drops one bucket: the first full one among a sample, else the one
// nearest to full, whose debt goes to the sketch. Map iteration starts at a
// random place, so the sample is random. Called with s.mu held.
func (s *netShard) evict(a *Admission, t int64) {
	var victim netKey
	var vt int64
	n := 0
	for nk, tat := range s.m {
		if tat <= t {
			delete(s.m, nk)
			return
		}
		if n == 0 || tat < vt {
			victim, vt = nk, tat
		}
		if n++; n == sampleSize {
			break
		}
	}
	if n > 0 {
		a.sketch.Load().Raise(hash64(victim.k, tagSeed(a.seed, uint16(victim.pol)|0x100)), vt)
		delete(s.m, victim)
	}
}

// convert applies a reload's changes to this shard's buckets. Called with
// s.mu held; s.gen is st.gen-1.
func (s *netShard) convert(st *state) {
	for _, c := range st.changes {
		for nk, tat := range s.m {
			if nk.pol != c.id {
				continue
			}
			if c.to == nil || c.to.net == nil || c.from.net == nil ||
				c.to.net.v4 != c.from.net.v4 || c.to.net.v6 != c.from.net.v6 {
				delete(s.m, nk)
				continue
			}
			s.m[nk] = c.from.net.convert(tat, st.at, &c.to.net.bucket)
		}
	}
	s.gen = st.gen
}

// sweep drops full buckets. Called with s.mu held.
func (s *netShard) sweep(st *state, t int64) {
	if s.gen != st.gen {
		s.convert(st)
	}
	for nk, tat := range s.m {
		if tat <= t {
			delete(s.m, nk)
		}
	}
}
