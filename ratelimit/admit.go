package ratelimit

import (
	"net/netip"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
)

// Decision is Admit's answer for one request: a plain value, safe to copy.
// Only Admit makes meaningful ones.
type Decision struct {
	// Allow is true when the request may go to the backend (also when it
	// would have been refused but dry run let it through).
	Allow bool
	// DryRun is true when Reason and Status say what would have been done
	// had abuse.dry_run or the policy's dry_run been off.
	DryRun bool
	// Reason is why the request was (or would have been) refused;
	// meaningful only when Status is not 0.
	Reason stats.Reason
	// Status is the refusal's HTTP status (403, 429 or 503), 0 when the
	// request was admitted without objection.
	Status int
	// RetryAfter is how long the client should wait: until a token for
	// rate limits, until the ban ends for bans, 1s for too many in flight
	// and overload.
	RetryAfter time.Duration
	// Remaining is how many requests the client's bucket still holds, -1
	// when no limit policy applied.
	Remaining int
	// Reset is the time until the client's bucket is full again.
	Reset time.Duration
	// Class is the client's reputation after this request (see Class):
	// what the router's backend queues order by under pressure.
	Class Class
	// Score is the client's graded standing (see Score), higher first:
	// the order within and across classes under pressure. 0 for suspect
	// clients and when no record was used.
	Score Score

	lp  *limitParams
	net bool // the refusal came from the per-network bucket
}

// banEvent reports a ban made under a shard lock, to be logged after it.
type banEvent struct {
	until int64 // 0: no ban
	level uint8
	auth  bool
	dry   bool
	// counted is what was counted toward a ban (countStrike or
	// countAuth), so a fleet can count it in the store too.
	counted uint8
}

// banEvent.counted values.
const (
	countStrike uint8 = iota + 1
	countAuth
)

// Admit decides one request of client (IPv6 already grouped by prefix)
// under policy p (nil: no rate limit) at now. Every admitted request
// (Allow true) must be followed by exactly one Done. Refusals are counted
// through stats.Recorder.Rejected, dry-run ones in Snapshot, and logged at
// most once per client per second. A hot client costs one shard lock and
// no allocation.
func (a *Admission) Admit(now time.Time, client netip.Addr, p *Policy) Decision {
	t := a.ns(now)
	k := keyOf(client)
	st := a.state.Load()
	var d Decision
	switch st.abuse.lists.lookup(k) {
	case allowed:
		s, _ := a.shard(k)
		s.inflight.Add(1)
		return Decision{Allow: true, Remaining: -1, Class: ClassAllowlisted}
	case denied:
		d = Decision{Reason: stats.Denied, Status: 403, Remaining: -1, Class: ClassSuspect}
		if !st.abuse.dryRun {
			a.report(&d, k, t)
			return d
		}
		d.Allow, d.DryRun = true, true
	}

	var sh shared
	if a.fleet != nil && d.Status == 0 {
		sh = a.takeShared(k, st.limit(p), t) // a round trip: before the lock
	}
	s, h := a.shard(k)
	s.mu.Lock()
	st = a.state.Load() // the generation this shard's buckets are in
	if s.gen != st.gen {
		s.convert(st)
	}
	ab := st.abuse
	lp := st.limit(p)
	e := s.find(h, k)
	if e == nil {
		if e = s.insert(h, k, t, a, ab); e == nil {
			s.mu.Unlock()
			return a.untrackedAdmit(s, d, k, lp, st, t)
		}
		a.attack.newClients.Add(1)
		if a.fleet != nil {
			d = a.admitTracked(s, e, k, lp, st, t, d, &sh)
			a.askRep(k) // its standing at other routers (fleetrep.go)
			return d
		}
	}
	return a.admitTracked(s, e, k, lp, st, t, d, &sh)
}

// admitTracked is Admit for client k once its record e is found in shard
// s, which is locked: it decides (unless d already holds a decision),
// counts, and unlocks s before it reports.
func (a *Admission) admitTracked(s *shard, e *entry, k key, lp *limitParams, st *state, t int64, d Decision, sh *shared) Decision {
	e.hit(t)
	var ev banEvent
	if d.Status == 0 {
		d, ev = a.decide(e, k, lp, st, t, sh)
	}
	if d.Allow {
		e.inflight++
		s.inflight.Add(1)
	}
	if d.Status != 0 && !d.DryRun {
		e.refused()
	}
	if d.Class == ClassNew {
		d.Score = e.score(t, st.abuse, a.view())
		d.Class = classOf(d.Score)
	}
	s.mu.Unlock()

	if d.Status != 0 {
		a.report(&d, k, t)
	}
	if ev.until != 0 {
		a.logBan(k, ev, t)
	}
	a.shareCount(k, ev, st.abuse)
	return d
}

// decide runs the checks for a tracked client, cheapest refusal first.
// Called with the client's shard locked.
func (a *Admission) decide(e *entry, k key, lp *limitParams, st *state, t int64, sh *shared) (d Decision, ev banEvent) {
	ab := st.abuse
	d.Remaining = -1
	// A ban made in dry run is enforced never, and once dry run is off it
	// no longer stands in for the other checks.
	if e.banUntil > t && (ab.dryRun || e.flags&banDry == 0) {
		d = Decision{Reason: stats.Banned, Status: 403, RetryAfter: time.Duration(e.banUntil - t), Remaining: -1}
		d.DryRun, d.Allow = ab.dryRun, ab.dryRun
		return d, ev
	}
	if ab.maxInFlight > 0 && e.inflight >= ab.maxInFlight {
		d = Decision{Reason: stats.TooManyInFlight, Status: 429, RetryAfter: time.Second, Remaining: -1}
		d.DryRun, d.Allow = ab.dryRun, ab.dryRun
		return d, strike(e, t, ab)
	}
	if ab.ovMax > 0 && a.shed(shedRate(e, t, ab, a.view()), t, ab) {
		d = Decision{Reason: stats.Overload, Status: 503, RetryAfter: time.Second, Remaining: -1}
		d.DryRun, d.Allow = ab.dryRun, ab.dryRun
		return d, ev
	}
	if d, ev, ok := a.decideShared(e, lp, sh, ab, t); ok {
		return d, ev
	}
	if lp != nil {
		i := a.bucketFor(e, lp, t)
		next, ok, wait := lp.client.take(e.tat[i], t)
		if !ok {
			d = Decision{Reason: stats.RateLimit, Status: 429, RetryAfter: time.Duration(wait),
				Reset: time.Duration(lp.client.untilFull(e.tat[i], t)), lp: lp}
		} else if lp.net != nil {
			if nok, nwait, nfull := a.takeNet(k, lp.owner.id, lp.net, st, t); !nok {
				d = Decision{Reason: stats.NetworkLimit, Status: 429, RetryAfter: time.Duration(nwait),
					Reset: time.Duration(nfull), lp: lp, net: true}
				ok = false
			}
		}
		if !ok {
			d.DryRun = ab.dryRun || lp.dryRun
			d.Allow = d.DryRun
			if !lp.dryRun {
				ev = strike(e, t, ab)
			}
			return d, ev
		}
		e.tat[i] = next
		d.Remaining = lp.client.remaining(next, t)
		d.Reset = time.Duration(lp.client.untilFull(next, t))
		d.lp = lp
	}
	d.Allow = true
	return d, ev
}

// untrackedAdmit decides for a client that has no record because its shard
// is full of pinned records (banned clients, requests or connections in
// flight). Its rate limit is kept in the sketch, which can only be stricter
// than a record; bans and per-client caps cannot apply to it.
func (a *Admission) untrackedAdmit(s *shard, d Decision, k key, lp *limitParams, st *state, t int64) Decision {
	a.untracked.Add(1)
	if d.Status == 0 {
		d.Remaining = -1
	}
	if a.gate.pass(0, uint32(t/1e9)) {
		a.log.Warn("client table saturated: deciding without a record",
			zap.Int("max_tracked_clients", st.abuse.capacity))
	}
	ab := st.abuse
	if d.Status == 0 && ab.ovMax > 0 && a.shed(0, t, ab) {
		d = Decision{Reason: stats.Overload, Status: 503, RetryAfter: time.Second, Remaining: -1}
		d.DryRun, d.Allow = ab.dryRun, ab.dryRun
	}
	if d.Status == 0 && lp != nil {
		h := hash64(k, tagSeed(a.seed, uint16(lp.owner.id)))
		sk := a.sketch.Load()
		tat := lp.client.clamp(sk.get(h), t)
		next, ok, wait := lp.client.take(tat, t)
		if !ok {
			d = Decision{Reason: stats.RateLimit, Status: 429, RetryAfter: time.Duration(wait), lp: lp,
				Reset: time.Duration(lp.client.untilFull(tat, t))}
		} else if lp.net != nil {
			if nok, nwait, nfull := a.takeNet(k, lp.owner.id, lp.net, st, t); !nok {
				d = Decision{Reason: stats.NetworkLimit, Status: 429, RetryAfter: time.Duration(nwait),
					Reset: time.Duration(nfull), lp: lp, net: true}
				ok = false
			}
		}
		if ok {
			sk.raise(h, next)
			d.Remaining, d.lp = lp.client.remaining(next, t), lp
		} else {
			d.DryRun = ab.dryRun || lp.dryRun
			d.Allow = d.DryRun
		}
	}
	if d.Status == 0 {
		d.Allow = true
	}
	if d.Allow {
		s.inflight.Add(1)
	}
	if d.Status != 0 {
		a.report(&d, k, t)
	}
	return d
}

// Done reports the end of a request Admit allowed, with the status sent to
// the client. It releases the client's and the router's in-flight counts
// and, when auth is true (the route has abuse: auth), counts a status listed
// in abuse.auth_failures.statuses against the client. (A request admitted
// while its client could not be given a record, the table being full of
// records that cannot be evicted, may release a count taken by a later
// request of the same client; the count never goes below zero.)
func (a *Admission) Done(now time.Time, client netip.Addr, status int, auth bool) {
	st := a.state.Load()
	ab := st.abuse
	k := keyOf(client)
	s, h := a.shard(k)
	if ab.lists.lookup(k) == allowed {
		s.inflight.Add(-1)
		return
	}
	fail := auth && ab.authFailure(status)
	t := a.ns(now)
	var rep redisstore.Rep
	var share bool
	s.mu.Lock()
	s.inflight.Add(-1)
	e := s.find(h, k)
	if e != nil {
		if e.inflight > 0 {
			e.inflight--
		}
		e.note(status)
		e.noteCalm(a.press.since.Load())
		if a.fleet != nil {
			rep, share = a.repToShare(e, t, ab)
		}
	}
	var ev banEvent
	if fail && e == nil {
		e = s.insert(h, k, t, a, ab)
	}
	if fail && e != nil && e.banUntil <= t {
		ev = authFailure(e, t, ab)
	}
	s.mu.Unlock()
	if share {
		a.shareRep(k, rep)
	}
	if ev.until != 0 {
		a.logBan(k, ev, t)
	}
	a.shareCount(k, ev, ab)
}
