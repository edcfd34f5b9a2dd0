package ratelimit

import (
	"net/netip"
	"time"
)

// ClassOf is client's class at now (IPv6 grouped by prefix) without
// counting a request: what rules read as client.class.
func (a *Admission) ClassOf(now time.Time, client netip.Addr) Class {
	t := a.ns(now)
	k := keyOf(client)
	st := a.state.Load()
	switch st.abuse.lists.lookup(k) {
	case allowed:
		return ClassAllowlisted
	case denied:
		return ClassSuspect
	}
	s, h := a.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(h, k)
	if e == nil {
		return ClassNew
	}
	return e.classify(t, st.abuse, a.attack.since.Load())
}
