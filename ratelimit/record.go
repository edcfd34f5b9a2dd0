package ratelimit

// lockRecord locks k's shard and returns it with k's record, made if new
// (nil when the table is saturated: every sampled record is pinned). The
// caller unlocks s.mu.
func (a *Admission) lockRecord(k key, t int64, ab *abuseSettings) (*shard, *entry) {
	s, h := a.shard(k)
	s.mu.Lock()
	e := s.find(h, k)
	if e == nil {
		e = s.insert(h, k, t, a, ab)
	}
	return s, e
}

// lockFound locks k's shard and returns it with k's record, nil when
// untracked. The caller unlocks s.mu.
func (a *Admission) lockFound(k key) (*shard, *entry) {
	s, h := a.shard(k)
	s.mu.Lock()
	return s, s.find(h, k)
}

// banUnlessBanned runs ban on k's record under its shard's lock unless the
// client is banned already or untracked, and logs the ban it returns.
func (a *Admission) banUnlessBanned(k key, t int64, ab *abuseSettings, ban func(e *entry) banEvent) banEvent {
	s, e := a.lockRecord(k, t, ab)
	var ev banEvent
	if e != nil && e.banUntil <= t {
		ev = ban(e)
	}
	s.mu.Unlock()
	if ev.until != 0 {
		a.logBan(k, ev, t)
	}
	return ev
}
