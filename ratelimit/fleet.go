package ratelimit

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
)

// limit_store.on_error: what a decision does when the store fails.
const (
	onErrorLocal uint8 = iota // the in-memory bucket decides
	onErrorAllow              // no rate limit
	onErrorDeny               // refuse (503, reason overload)
)

// fleet is the shared store of a router fleet (config limit_store). Built
// once by New; a reload does not change it.
type fleet struct {
	s       *redisstore.Store
	onError uint8
	lease   bool // limit_store.mode: lease
	leases  leaseTable
}

// openStore connects to the limit store and starts applying the bans other
// routers announce.
func (a *Admission) openStore(c *config.LimitStore) error {
	s, err := redisstore.New(c, a.log.Named("limit_store"))
	if err != nil {
		return err
	}
	f := &fleet{s: s}
	switch c.OnError {
	case "allow":
		f.onError = onErrorAllow
	case "deny":
		f.onError = onErrorDeny
	}
	f.lease = c.Mode == "lease"
	a.fleet = f
	s.OnDue(a.dueShared)
	s.Watch(a.applyShared)
	a.shareRevocations(s)
	a.openRep(s)
	return nil
}

// StoreErrors is the number of failed limit-store commands (0 without a
// store).
func (a *Admission) StoreErrors() uint64 {
	if a.fleet == nil {
		return 0
	}
	return a.fleet.s.Errors()
}

// StoreErrorsByKind calls f with each kind of redisstore.ErrorKinds and
// its count of failed limit-store commands (never without a store).
func (a *Admission) StoreErrorsByKind(f func(kind string, n uint64)) {
	if a.fleet != nil {
		a.fleet.s.ErrorsByKind(f)
	}
}

// StoreUp reports whether the limit store is up (see redisstore.Store.Up);
// ok is false without a store.
func (a *Admission) StoreUp() (up, ok bool) {
	if a.fleet == nil {
		return false, false
	}
	return a.fleet.s.Up(), true
}

// shared is the store's answer for one request's bucket, taken before the
// shard lock (it costs a round trip).
type shared struct {
	lp    *limitParams
	how   uint8 // 0: none (decide locally), sharedAnswer, sharedAllow, sharedDeny
	state redisstore.Result
}

const (
	sharedAnswer uint8 = iota + 1
	sharedAllow
	sharedDeny
)

// takeShared asks the store for lp's bucket of client k, unless k is
// banned here (the ban check comes first and would make the token wasted).
func (a *Admission) takeShared(k key, lp *limitParams, t int64) shared {
	if a.fleet == nil || lp == nil {
		return shared{}
	}
	s, h := a.shard(k)
	var l *redisstore.Lease
	slice := 1
	if a.fleet.lease {
		// A lease decides locally (the ban check in decide comes first;
		// a banned client's token is taken from this router's slice).
		if slice = sliceOf(lp); slice > 1 {
			l = a.fleet.leases.get(k, lp.owner.name, h, t)
			if res, ok, pre := a.fleet.s.Spend(l, t); ok {
				if pre {
					client, nb := a.buckets(k, lp)
					a.fleet.s.Prefetch(l, t, client, nb)
				}
				return shared{lp: lp, how: sharedAnswer, state: res}
			}
		}
	}
	s.mu.Lock()
	e := s.find(h, k)
	banned := e != nil && e.banUntil > t
	s.mu.Unlock()
	if banned {
		return shared{}
	}
	client, nb := a.buckets(k, lp)
	var res redisstore.Result
	var err error
	if l != nil {
		res, err = a.fleet.s.Renew(l, t, client, nb, slice)
	} else {
		res, err = a.fleet.s.Take(client, nb)
	}
	if err == nil {
		return shared{lp: lp, how: sharedAnswer, state: res}
	}
	switch a.fleet.onError {
	case onErrorAllow:
		return shared{lp: lp, how: sharedAllow}
	case onErrorDeny:
		return shared{lp: lp, how: sharedDeny}
	}
	return shared{}
}

// buckets names client k's shared buckets under lp: its own and, with
// per_network, its network's.
func (a *Admission) buckets(k key, lp *limitParams) (client, nb redisstore.Bucket) {
	name := lp.owner.name
	client = redisstore.Bucket{Key: name + ":" + k.addr().String(),
		Interval: lp.client.interval, Tolerance: lp.client.tolerance}
	if n := lp.net; n != nil {
		bitsV4, bitsV6 := n.v4, n.v6
		p := k.prefix(bitsV4, bitsV6).addr()
		l := bitsV6
		if p.Is4() {
			l = bitsV4
		}
		nb = redisstore.Bucket{Key: name + "-network:" + p.String() + "/" + strconv.Itoa(l),
			Interval: n.interval, Tolerance: n.tolerance}
	}
	return client, nb
}

// decideShared is decide's rate-limit step from the store's answer. The
// local bucket follows along (it takes what it can), so that a fallback
// to it starts from this router's recent traffic. Called with the shard
// locked; ok false means decide goes on with the local bucket.
func (a *Admission) decideShared(e *entry, lp *limitParams, sh *shared, ab *abuseSettings, t int64) (d Decision, ev banEvent, ok bool) {
	if sh.how == 0 || sh.lp != lp {
		return d, ev, false
	}
	switch sh.how {
	case sharedAllow:
		return Decision{Allow: true, Remaining: -1}, ev, true
	case sharedDeny:
		d = Decision{Reason: stats.Overload, Status: 503, RetryAfter: time.Second, Remaining: -1}
		d.DryRun, d.Allow = ab.dryRun, ab.dryRun
		return d, ev, true
	}
	r := sh.state
	if !r.Allowed {
		d = Decision{Reason: stats.RateLimit, Status: 429, RetryAfter: r.Wait, Reset: r.Reset, lp: lp, net: r.Net}
		if r.Net {
			d.Reason = stats.NetworkLimit
		}
		d.DryRun = ab.dryRun || lp.dryRun
		d.Allow = d.DryRun
		if !lp.dryRun {
			ev = strike(e, t, ab)
		}
		return d, ev, true
	}
	i := a.bucketFor(e, lp, t)
	if next, ok, _ := lp.client.take(e.tat[i], t); ok {
		e.tat[i] = next
	}
	return Decision{Allow: true, Remaining: r.Remaining, Reset: r.Reset, lp: lp}, ev, true
}

// shareBan announces a ban made here to the fleet (not dry-run ones).
func (a *Admission) shareBan(k key, ev banEvent, t int64) {
	if a.fleet == nil || ev.dry || ev.until <= t {
		return
	}
	a.fleet.s.ShareBan(k.addr().String(), time.Duration(ev.until-t), int(ev.level), ev.auth)
}

// applyShared applies a ban (or lift) another router announced. It runs
// on the store's watcher goroutine.
func (a *Admission) applyShared(b redisstore.Ban) {
	addr, err := netip.ParseAddr(b.Client)
	if err != nil {
		return
	}
	k := a.clientKey(addr)
	t := a.ns(a.now())
	st := a.state.Load()
	s, h := a.shard(k)
	s.mu.Lock()
	e := s.find(h, k)
	if e == nil && b.For > 0 {
		e = s.insert(h, k, t, a, st.abuse)
	}
	applied := false
	if e != nil {
		if b.For <= 0 {
			applied = e.banUntil > t
			e.banUntil, e.banLevel, e.strikes, e.authFail = 0, 0, 0, 0
			e.flags &^= banAuth | banDry
		} else if until := t + int64(b.For); until > e.banUntil {
			e.banUntil, e.banLevel = until, uint8(min(max(b.Level, 1), 255))
			e.flags &^= banAuth | banDry
			if b.Auth {
				e.flags |= banAuth
			}
			applied = true
		}
	}
	s.mu.Unlock()
	switch {
	case applied && b.For > 0:
		a.log.Info("ban shared by another router", zap.Stringer("client", k.addr()),
			zap.Float64("ban_for_s", b.For.Seconds()), zap.Int("ban_level", b.Level))
	case applied:
		a.log.Info("ban lifted by another router", zap.Stringer("client", k.addr()))
	}
}
