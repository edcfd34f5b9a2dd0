package ratelimit

import (
	"net/netip"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// A fleet counts strikes and auth failures in the store as well as in each
// router's table: abuse.ban.after_rejections strikes, or more than
// abuse.auth_failures.max auth failures, within their windows ban a client
// wherever they arrived, as on one router. The local count still bans on
// its own (it is all there is while the store is down); a client banned
// by either is not banned again.

// shareCount adds what ev counted (and did not ban for) to the client's
// shared count. It never blocks.
func (a *Admission) shareCount(k key, ev banEvent, ab *abuseSettings) {
	if a.fleet == nil || ev.counted == 0 || ev.until != 0 {
		return
	}
	client := k.addr().String()
	switch ev.counted {
	case countStrike:
		a.fleet.s.Count(redisstore.Strikes, client, time.Duration(ab.banWithin), ab.banAfter)
	case countAuth:
		a.fleet.s.Count(redisstore.AuthFailures, client, time.Duration(ab.authWithin), ab.authMax+1)
	}
}

// dueShared bans client, whose shared count reached its threshold, unless
// it is banned already (or allow-listed). The ban is logged and shared as
// one made here. It runs on the store's writer goroutine.
func (a *Admission) dueShared(client string, auth bool) {
	addr, err := netip.ParseAddr(client)
	if err != nil {
		return
	}
	st := a.state.Load()
	ab := st.abuse
	k := a.clientKey(addr)
	if ab.lists.lookup(k) == allowed {
		return
	}
	t := a.ns(a.now())
	a.banUnlessBanned(k, t, ab, func(e *entry) banEvent { return ban(e, t, ab, auth) })
}
