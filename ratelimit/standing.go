package ratelimit

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// A reputation token is a client identity of its own: its holder is
// admitted under TokenKey(id), an address of the discard-only prefix
// 100::/64 (RFC 6666) that no client can come from, so the token has its
// own record, buckets, bans and standing, whatever address it comes from,
// and a botnet sharing one token is one client.

// TokenKey is the admission key of the token with id.
func TokenKey(id uint64) netip.Addr {
	var b [16]byte
	b[0] = 0x01
	binary.BigEndian.PutUint64(b[8:], id)
	return netip.AddrFrom16(b)
}

// TokenID reports the token id a key of TokenKey stands for.
func TokenID(a netip.Addr) (uint64, bool) {
	if !a.Is6() || a.Is4In6() {
		return 0, false
	}
	b := a.As16()
	if binary.BigEndian.Uint64(b[:8]) != 0x0100_0000_0000_0000 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[8:]), true
}

// Standing is what a client has earned: its score and when it was first
// seen. A token carries it from router to router.
type Standing struct {
	Class Class
	Score Score
	Since time.Time // first seen; zero when untracked
}

// StandingOf is client's standing at now, without counting a request:
// what rules (client.class) and the explain API read. An untracked client
// is new with score 0.
func (a *Admission) StandingOf(now time.Time, client netip.Addr) Standing {
	k := keyOf(client)
	if sd, ok := a.listedStanding(k); ok {
		return sd
	}
	t := a.ns(now)
	s, e := a.lockFound(k)
	defer s.mu.Unlock()
	if e == nil {
		return Standing{}
	}
	sc := e.score(t, a.state.Load().abuse, a.view())
	return Standing{Class: classOf(sc), Score: sc, Since: a.wall(int64(e.first) * 1e9)}
}

// Vouch gives client (normally a TokenKey) at least the standing st that a
// valid token carries: first seen no later than st.Since, the reputation's
// good answers when st is known, earned while calm when st is a regular's,
// verified when st is above a plain stranger's. It never lowers what the
// record holds (a ban or suspicion stays). Safe for concurrent use.
func (a *Admission) Vouch(now time.Time, client netip.Addr, st Standing) {
	t := a.ns(now)
	k := keyOf(client)
	s, h := a.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	ab := a.state.Load().abuse
	e := s.find(h, k)
	if e == nil {
		if e = s.insert(h, k, t, a, ab); e == nil {
			return
		}
	}
	if !st.Since.IsZero() {
		if f := a.ns(st.Since) / 1e9; f >= 1 && f < int64(e.first) {
			e.first = uint32(f)
		}
	}
	if st.Score >= ScoreKnown && e.good < ab.rep.good {
		e.good = ab.rep.good
	}
	if st.Score >= ScoreRegular {
		e.flags |= calmGood
	}
	if st.Score > 0 {
		e.flags |= verified
	}
}

// Verify marks client as having proved it is a real client (it solved a
// challenge): its score rises by 32 within the new band (see Score). Safe
// for concurrent use.
func (a *Admission) Verify(now time.Time, client netip.Addr) {
	a.Vouch(now, client, Standing{Score: 1})
}

// listedStanding is the standing the lists give k: allow-listed clients
// are trusted, deny-listed ones suspect; ok is false for clients on no list.
func (a *Admission) listedStanding(k key) (sd Standing, ok bool) {
	switch a.state.Load().abuse.lists.lookup(k) {
	case allowed:
		return Standing{Class: ClassAllowlisted, Score: 255}, true
	case denied:
		return Standing{Class: ClassSuspect}, true
	}
	return Standing{}, false
}
