package ratelimit

import (
	"sync/atomic"
	"time"
)

// Score is a client's graded standing, 0 to 255: what the router's backend
// queues order by under pressure, higher first. It is worked out from the
// record when asked (nothing more is stored per client):
//
//	0        suspect (see Class)
//	1..127   new: good answers (up to 64), age (up to 32 over the
//	         reputation's age), less the share of client errors (up to 32)
//	         and 8 per refusal inside abuse.ban.within; +32 for a client
//	         that proved it keeps cookies (Verify)
//	128..191 known (WithReputation's rule; during attack mode, clients first
//	         seen after it began need ten times the age)
//	192..255 regular: earned its standing while nothing was under pressure
//	         (at least regularGood good answers then, over at least
//	         regularLead) and was first seen at least regularLead before
//	         the current pressure began. Every
//	         client first seen during the pressure ranks below.
//
// Within a band, the new-band arithmetic orders clients.
type Score uint8

// Score bands (see Score).
const (
	ScoreKnown   Score = 128
	ScoreRegular Score = 192
	scoreNewMax        = 127
	scoreBonus         = 32 // a verified client (Verify)
)

const (
	// regularGood is how many good answers, earned while calm, make a
	// client a regular once pressure begins.
	regularGood = 3
	// regularLead is how long before the pressure began a regular must
	// have been first seen: a botnet that says hello just before it floods
	// is not a regular.
	regularLead = int64(5 * time.Second)
	// pressureCalm is how long after the last sign of pressure the
	// pressure counts as over: the start of a flood that pauses is still
	// the start, so bots served between its waves do not become regulars.
	pressureCalm = int64(30 * time.Second)
)

// Entry flags for the reputation (see entry.flags).
const (
	calmGood uint8 = 1 << 4 // regularGood good answers while nothing was under pressure
	verified uint8 = 1 << 5 // proved to keep cookies (a solved challenge)
)

// pressure remembers when the current pressure (a backend queue waiting or
// refusing, the router overloaded, attack mode) began. All atomics.
type pressure struct {
	since atomic.Int64 // 0: calm
	last  atomic.Int64 // last sign of pressure
}

// note records a sign of pressure at t. Cheap when called often: the
// shared words are written at most once per millisecond.
func (p *pressure) note(t int64) {
	if p.since.Load() == 0 {
		p.since.CompareAndSwap(0, t)
	}
	if t-p.last.Load() >= int64(time.Millisecond) {
		p.last.Store(t)
	}
}

// settle ends the pressure after pressureCalm without a sign of it. Called
// by the sweeper.
func (p *pressure) settle(t int64) {
	if s := p.since.Load(); s != 0 && t-p.last.Load() >= pressureCalm {
		p.since.CompareAndSwap(s, 0)
	}
}

// NotePressureAt is NotePressure at an instant.
func (a *Admission) NotePressureAt(now time.Time) {
	a.attack.pressure.Add(1)
	a.press.note(a.ns(now))
}

// UnderPressure reports whether a backend queue, the router or attack mode
// has shown pressure within the last 30 s. Safe for concurrent use.
func (a *Admission) UnderPressure() bool {
	return a.press.since.Load() != 0 || a.attack.on.Load()
}

// view is what scoring needs of the router-wide state, read once per call.
type view struct {
	attackSince int64 // 0: no attack mode
	pressSince  int64 // 0: calm
}

func (a *Admission) view() view {
	return view{attackSince: a.attack.since.Load(), pressSince: a.press.since.Load()}
}

// score is the client's standing at t. Called with the shard locked.
func (e *entry) score(t int64, s *abuseSettings, v view) Score {
	if e.suspect(t, s) {
		return 0
	}
	base := e.newScore(t, s)
	switch {
	case e.regular(v):
		return ScoreRegular + Score(base/2)
	case e.known(t, s, v.attackSince):
		return ScoreKnown + Score(base/2)
	}
	return Score(base)
}

// newScore is the new-band arithmetic (see Score), 1..127.
func (e *entry) newScore(t int64, s *abuseSettings) int {
	good, bad := int(e.good), int(e.bad)
	v := min(good, 32) * 2
	age := t - int64(e.first)*1e9
	switch {
	case s.rep.age <= 0 || age >= s.rep.age:
		v += 32
	case age > 0:
		v += int(age * 32 / s.rep.age)
	}
	if n := good + bad; n > 0 {
		v -= 32 * bad / n
	}
	if e.strikes > 0 && t-e.strikeAt <= s.banWithin {
		v -= 8 * int(e.strikes)
	}
	if e.flags&verified != 0 {
		v += scoreBonus
	}
	return min(max(v, 1), scoreNewMax)
}

// regular reports whether the client earned its standing while calm and
// was first seen well before the current pressure began.
func (e *entry) regular(v view) bool {
	return v.pressSince != 0 && e.flags&calmGood != 0 &&
		int64(e.first)*1e9+regularLead <= v.pressSince
}

// noteCalm marks a client with regularGood good answers earned while
// nothing was under pressure, over at least regularLead (a burst in one
// moment earns nothing). Called by Done with the shard locked.
func (e *entry) noteCalm(pressSince int64) {
	if pressSince == 0 && e.good >= regularGood && e.seen-int64(e.first)*1e9 >= regularLead {
		e.flags |= calmGood
	}
}

// classOf is the class for a score.
func classOf(sc Score) Class {
	switch {
	case sc == 0:
		return ClassSuspect
	case sc >= ScoreKnown:
		return ClassKnown
	}
	return ClassNew
}
