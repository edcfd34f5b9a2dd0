package ratelimit

import (
	"errors"
	"time"
)

// Class is what the router knows of a client's past, for priority under
// pressure: allow-listed clients first, then known, new and suspect ones.
// The zero value is ClassNew (no record, or not yet established).
type Class uint8

const (
	// ClassNew is a client without an established record: first seen
	// recently, or with too few good responses yet.
	ClassNew Class = iota
	// ClassKnown is a client with an established clean record: at least
	// the reputation's good responses over at least its age, and nothing
	// that makes it suspect.
	ClassKnown
	// ClassSuspect is a client that is or was recently banned, is
	// collecting refusals toward a ban or auth failures, answers mostly
	// with client errors, or is in abuse.deny.
	ClassSuspect
	// ClassAllowlisted is a client in abuse.allow.
	ClassAllowlisted
)

var classNames = [...]string{ClassNew: "new", ClassKnown: "known", ClassSuspect: "suspect", ClassAllowlisted: "allowlisted"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Reputation defaults (WithReputation).
const (
	DefaultKnownAfterGood = 20
	DefaultKnownAfterAge  = time.Minute
	// repKeep is how long a known client's record outlives its last
	// request: longer than the idle TTL, so a user who reads a page for a
	// few minutes comes back known.
	repKeep = int64(15 * time.Minute)
	// repMinSample is how many recent responses it takes before the error
	// ratio can make a client suspect.
	repMinSample = 10
	// repSuspectStrikes is how many refusals inside abuse.ban.within make a
	// client suspect before it is banned.
	repSuspectStrikes = 2
)

// repParams is when a client becomes known. Immutable.
type repParams struct {
	good uint8 // good responses, at most 255
	age  int64 // ns since first seen
}

// WithReputation sets when a client counts as known: at least good 2xx or
// 3xx responses (1..255) and at least age since it was first seen. Defaults
// DefaultKnownAfterGood and DefaultKnownAfterAge.
func WithReputation(good int, age time.Duration) Option {
	return func(o *options) error {
		if good < 1 || good > 255 || age < 0 {
			return errors.New("ratelimit: reputation needs 1..255 good responses and a non-negative age")
		}
		o.rep = repParams{good: uint8(good), age: int64(age)}
		return nil
	}
}

// The reputation record lives in the client's entry, in 6 bytes that were
// padding (the record stays 96 bytes, so memory per client is unchanged):
//
//	first uint32  first seen, whole seconds of the time base
//	good  uint8   recent good responses (2xx, 3xx)
//	bad   uint8   recent client errors (4xx) on admitted requests
//
// together with what the entry already holds: refusals and strikes, bans and
// auth failures. good and bad are halved together when good would pass 255,
// so the error ratio follows the recent past. A record is kept for repKeep
// after its client's last request once it is known; it goes with the record
// otherwise (evicted or expired), and the client starts new again.

// note counts the status of one admitted request's answer. 5xx says nothing
// about the client, nor 499 (it went away: a closed tab is no abuse).
// Called with the shard locked.
func (e *entry) note(status int) {
	switch {
	case status == 499:
	case status >= 200 && status < 400:
		if e.good == 255 {
			e.good, e.bad = 128, e.bad/2
		}
		e.good++
	case status >= 400 && status < 500:
		if e.bad == 255 {
			e.good, e.bad = e.good/2, 128
		}
		e.bad++
	}
}

// suspect reports whether the record holds signs of abuse at t.
func (e *entry) suspect(t int64, s *abuseSettings) bool {
	switch {
	case e.banUntil > t,
		e.banLevel > 0 && t-e.banUntil < s.banMax,
		e.strikes >= repSuspectStrikes && t-e.strikeAt <= s.banWithin,
		e.authFail > 0 && t-e.authAt <= s.authWithin:
		return true
	}
	n := int(e.good) + int(e.bad)
	return n >= repMinSample && 2*int(e.bad) >= n
}

// attackAgeFactor: during attack mode, a client first seen after the
// attack began needs this many times the reputation's age to be known, so
// that a botnet cannot earn its way into the known class during its own
// flood (at the default, an address flooding at 0.1 requests/s would be
// known after 200s otherwise). Clients known before the attack stay known.
const attackAgeFactor = 10

// known reports whether the record is an established clean one at t
// (suspicion aside). attackSince is when attack mode began, 0 when off.
func (e *entry) known(t int64, s *abuseSettings, attackSince int64) bool {
	first := int64(e.first) * 1e9
	age := s.rep.age
	if attackSince != 0 && first >= attackSince-1e9 {
		age *= attackAgeFactor
	}
	return e.good >= max(s.rep.good, 1) && t-first >= age
}

// reputable reports whether the record is worth keeping for its reputation:
// a known client, or one that earned standing while calm, seen within
// repKeep.
func (e *entry) reputable(t int64, s *abuseSettings) bool {
	return t-e.seen < repKeep && (e.flags&calmGood != 0 || e.known(t, s, 0))
}

// shedRate is the rate overload shedding judges a client by: its recent
// rate, but 0 for a known client, so that known clients are shed last (only
// past the hard bound, or once the threshold has fallen to everyone).
func shedRate(e *entry, t int64, s *abuseSettings, v view) float64 {
	if e.score(t, s, v) >= ScoreKnown {
		return 0
	}
	return e.rate(t)
}
