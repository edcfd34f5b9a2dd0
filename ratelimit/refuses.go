package ratelimit

import (
	"net/netip"
	"time"
)

// Refuses reports whether Admit would turn away a request of client (IPv6
// already grouped by prefix) under policy p at now, changing nothing. It is
// the router's connection front's first look, made before net/http has
// built a request: when it answers true the front calls Admit, which
// decides and does the bookkeeping of a refusal, and answers the client
// itself; when it answers false the request takes the full path.
//
// It looks only at what holds already and cheaply: the deny list, a ban,
// the per-client in-flight cap, and the client's own and its network's
// buckets as they stand. It answers false whenever anything else would
// have a say, so the full path keeps every other decision: a client
// without a record, a shared limit store, overload shedding, dry run,
// a generation not yet applied to the client's shard.
func (a *Admission) Refuses(now time.Time, client netip.Addr, p *Policy) bool {
	st := a.state.Load()
	ab := st.abuse
	if ab.dryRun {
		return false
	}
	k := keyOf(client)
	switch ab.lists.lookup(k) {
	case allowed:
		return false
	case denied:
		return true
	}
	t := a.ns(now)
	lp := st.limit(p)
	s, h := a.shard(k)
	s.mu.Lock()
	if s.gen != st.gen {
		s.mu.Unlock()
		return false
	}
	limited := lp != nil && !lp.dryRun && a.fleet == nil
	// Without a record, or a bucket of its own under lp, the client's
	// bucket can only be short through the sketch, which is Admit's to
	// consult; its network's bucket can be empty.
	refuse, netCheck := false, limited
	if e := s.find(h, k); e != nil {
		switch {
		case e.banUntil > t && e.flags&banDry == 0:
			refuse, netCheck = true, false
		case ab.maxInFlight > 0 && e.inflight >= ab.maxInFlight:
			refuse, netCheck = true, false
		case limited:
			for i, id := range e.pol {
				if id == lp.owner.id {
					_, ok, _ := lp.client.take(e.tat[i], t)
					refuse, netCheck = !ok, ok
					break
				}
			}
		}
	}
	s.mu.Unlock()
	if netCheck && lp.net != nil {
		refuse = a.netRefuses(k, lp, st, t)
	}
	return refuse
}

// netRefuses reports whether the network bucket of client k under lp has
// no token at t, changing nothing; false when the network has no bucket.
func (a *Admission) netRefuses(k key, lp *limitParams, st *state, t int64) bool {
	np := lp.net
	nk := netKey{k.prefix(np.v4, np.v6), lp.owner.id}
	s := a.netShard(nk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != st.gen {
		return false
	}
	tat, found := s.m[nk]
	if !found {
		return false
	}
	_, ok, _ := np.take(tat, t)
	return !ok
}
