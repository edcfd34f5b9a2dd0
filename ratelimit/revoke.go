package ratelimit

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Revocations is the set of revoked reputation tokens. The router asks
// Revoked on every request that carries a token, so it must be cheap and
// never block on a network; Revoke may. A fleet store implements it to
// share revocations between routers (the local set is the default).
type Revocations interface {
	// Revoke makes the token id invalid until until (its expiry: after
	// that it is invalid anyway).
	Revoke(id uint64, until time.Time) error
	// Revoked reports whether id is revoked at now.
	Revoked(id uint64, now time.Time) bool
	// List returns the revocations in force at now, for the state file and
	// the admin API.
	List(now time.Time) map[uint64]time.Time
}

// LocalRevocations is one router's set: a copy-on-write map, so Revoked
// takes no lock. The zero value is an empty set, safe for concurrent use.
type LocalRevocations struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[uint64]int64]
}

// Revoke implements Revocations; expired entries are dropped as it copies.
func (r *LocalRevocations) Revoke(id uint64, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now().UnixNano()
	next := map[uint64]int64{id: until.UnixNano()}
	if old := r.m.Load(); old != nil {
		for k, v := range *old {
			if v > now && k != id {
				next[k] = v
			}
		}
	}
	r.m.Store(&next)
	return nil
}

// Revoked implements Revocations.
func (r *LocalRevocations) Revoked(id uint64, now time.Time) bool {
	m := r.m.Load()
	if m == nil {
		return false
	}
	until, ok := (*m)[id]
	return ok && until > now.UnixNano()
}

// List implements Revocations.
func (r *LocalRevocations) List(now time.Time) map[uint64]time.Time {
	out := map[uint64]time.Time{}
	if m := r.m.Load(); m != nil {
		for k, v := range *m {
			if v > now.UnixNano() {
				out[k] = time.Unix(0, v)
			}
		}
	}
	return out
}

// Revocations returns the admission's revocation set (WithRevocations, or
// a LocalRevocations).
func (a *Admission) Revocations() Revocations { return a.revs }

// WithRevocations shares token revocations through r (a fleet store)
// instead of keeping them in this router. nil is an error.
func WithRevocations(r Revocations) Option {
	return func(o *options) error {
		if r == nil {
			return errNilRevocations
		}
		o.revs = r
		return nil
	}
}

var errNilRevocations = errors.New("ratelimit: nil revocations")
