package ratelimit

import (
	"net/netip"
	"time"
)

// Strike counts one request the router refused on its own account because
// the client broke the protocol (a malformed request body) against client
// (IPv6 already grouped by prefix) at now, as a rate-limit refusal counts:
// abuse.ban.after_rejections of them within abuse.ban.within ban the
// client. Allow-listed clients and clients already banned are not struck.
// A slow, oversized or abandoned body is not a strike: callers strike only
// for what no honest client sends.
func (a *Admission) Strike(now time.Time, client netip.Addr) {
	st := a.state.Load()
	ab := st.abuse
	k := keyOf(client)
	if ab.banAfter <= 0 || ab.lists.lookup(k) == allowed {
		return
	}
	t := a.ns(now)
	ev := a.banUnlessBanned(k, t, ab, func(e *entry) banEvent {
		e.refused()
		return strike(e, t, ab)
	})
	a.shareCount(k, ev, ab)
}
