package ratelimit

import (
	"strconv"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// sharedRevocations shares token revocations through the limit store.
// Revoke writes this router's set and the store; every router's set is fed
// from the store's announcements (applied as they arrive, within
// milliseconds) and, after each (re)subscription, from every revocation
// key in the store. Revoked reads the set only: the request path never
// waits on Redis. Revocations from this router's state file stay in its
// set (a revocation only adds).
type sharedRevocations struct {
	Revocations // this router's set
	s           *redisstore.Store
	now         func() time.Time
}

// Revoke implements Revocations. The local set takes it even when the
// store fails (the error is returned).
func (r *sharedRevocations) Revoke(id uint64, until time.Time) error {
	r.Revocations.Revoke(id, until)
	d := until.Sub(r.now())
	if d <= 0 {
		return nil
	}
	return r.s.Revoke(tokenName(id), d)
}

// tokenName is a token id in the store (and the state file): 16 hex digits.
func tokenName(id uint64) string {
	s := strconv.FormatUint(id, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}

// shareRevocations makes the admission's revocation set the fleet's.
// Called by openStore.
func (a *Admission) shareRevocations(s *redisstore.Store) {
	local := a.revs
	a.revs = &sharedRevocations{Revocations: local, s: s, now: a.now}
	s.WatchRevocations(func(token string, d time.Duration) {
		if id, err := strconv.ParseUint(token, 16, 64); err == nil {
			local.Revoke(id, a.now().Add(d))
		}
	})
}
