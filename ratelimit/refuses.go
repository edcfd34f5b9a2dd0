package ratelimit

import (
	"net/netip"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// wouldRefuse reports whether Admit would turn away a request of client (IPv6
// already grouped by prefix) under policy p at now, changing nothing. It is
// the look of the router's connection front, made before net/http has
// built a request: RefuseEarly makes it and, when it answers true, decides and
// does the bookkeeping of the refusal in the same step; when it answers
// false the request takes the full path.
//
// It looks only at what holds already and cheaply: the deny list, a ban,
// the per-client in-flight cap, and the client's own and its network's
// buckets as they stand. It answers false whenever anything else would
// have a say, so the full path keeps every other decision: a client
// without a record, a shared limit store, overload shedding, dry run,
// a generation not yet applied to the client's shard.
func (a *Admission) wouldRefuse(now time.Time, client netip.Addr, p *Policy) bool {
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
	refuse, netCheck := a.refusesEntry(s.find(h, k), ab, lp, t)
	s.mu.Unlock()
	if netCheck && lp.net != nil {
		refuse = a.netRefuses(k, lp, st, t)
	}
	return refuse
}

// refusesEntry is wouldRefuse' test of a client's record e (nil: none), with its shard
// locked: refuse when a ban, the in-flight cap or the client's own bucket
// under lp turns it away; netCheck when that is for its network's bucket
// to say.
func (a *Admission) refusesEntry(e *entry, ab *abuseSettings, lp *limitParams, t int64) (refuse, netCheck bool) {
	limited := lp != nil && !lp.dryRun && a.fleet == nil
	// Without a record, or a bucket of its own under lp, the client's
	// bucket can only be short through the sketch, which is Admit's to
	// consult; its network's bucket can be empty.
	netCheck = limited
	if e == nil {
		return false, netCheck
	}
	switch {
	case e.banUntil > t && e.flags&banDry == 0:
		return true, false
	case ab.maxInFlight > 0 && e.inflight >= ab.maxInFlight:
		return true, false
	case limited:
		for i, id := range e.pol {
			if id == lp.owner.id {
				_, ok, _ := lp.client.take(e.tat[i], t)
				return !ok, ok
			}
		}
	}
	return false, netCheck
}

// RefuseEarly is wouldRefuse and, when that would answer true, Admit, in one step
// under the client's shard lock: the router's connection front calls it
// before net/http has built a request. When the client is turned away it
// returns the refusal, its bookkeeping done, and true; when wouldRefuse would
// answer false it changes nothing and returns false, and the request takes
// the full path. (A decision that admits after all, which Admit's other
// checks make possible, comes back with true and Allow set: the caller owes
// it a Done.)
func (a *Admission) RefuseEarly(now time.Time, client netip.Addr, p *Policy) (Decision, bool) {
	st := a.state.Load()
	ab := st.abuse
	if ab.dryRun {
		return Decision{}, false
	}
	if a.fleet != nil {
		// Admit's shared-store round trip comes before its lock.
		if !a.wouldRefuse(now, client, p) {
			return Decision{}, false
		}
		return a.Admit(now, client, p), true
	}
	t := a.ns(now)
	k := keyOf(client)
	switch ab.lists.lookup(k) {
	case allowed:
		return Decision{}, false
	case denied:
		d := Decision{Reason: stats.Denied, Status: 403, Remaining: -1, Class: ClassSuspect}
		a.report(&d, k, t)
		return d, true
	}
	s, h := a.shard(k)
	s.mu.Lock()
	st = a.state.Load() // the generation Admit would decide in
	if s.gen != st.gen {
		s.mu.Unlock()
		return Decision{}, false
	}
	lp := st.limit(p)
	e := s.find(h, k)
	refuse, netCheck := a.refusesEntry(e, st.abuse, lp, t)
	if netCheck && lp.net != nil {
		refuse = a.netRefuses(k, lp, st, t) // the shard's lock, then the network's: Admit's order
	}
	if !refuse {
		s.mu.Unlock()
		return Decision{}, false
	}
	if e == nil {
		// Only the network's bucket is short, for a client without a
		// record: Admit makes it one.
		s.mu.Unlock()
		return a.Admit(now, client, p), true
	}
	return a.admitTracked(s, e, k, lp, st, t, Decision{}, &shared{}), true
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
