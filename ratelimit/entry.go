package ratelimit

import "math"

// slots is how many policies' buckets one client record holds. A client
// that uses more policies at once hands the least useful bucket to the
// sketch (see bucketFor), so nothing is lost but exactness.
const slots = 2

// entry is everything the router remembers about one client: 96 bytes, of
// which the reputation record (see reputation.go) takes 6 that were padding. Times are in the Admission's time base (nanoseconds, 0 = never).
// The zero entry is a fresh client. Guarded by its shard's mutex.
type entry struct {
	k        key
	tat      [slots]int64 // token buckets, see bucket
	seen     int64        // last request
	banUntil int64
	strikeAt int64 // start of the rejection window (abuse.ban.within)
	authAt   int64 // start of the auth-failure window
	sec      uint32
	refusals uint32 // refusals while tracked (saturating)
	inflight int32
	first    uint32 // reputation: first seen, whole seconds of the time base
	cur      uint16 // requests in second sec
	prev     uint16 // requests in second sec-1
	strikes  uint16
	authFail uint16
	conns    uint16
	pol      [slots]uint8 // policy id per bucket, 0: empty
	banLevel uint8        // bans in a row, see abuseSettings.banFor
	flags    uint8
	good     uint8 // reputation: recent good responses (halved with bad at 255)
	bad      uint8 // reputation: recent client-error responses
}

const (
	used    uint8 = 1 << iota
	banAuth       // the current ban came from auth failures
	banDry        // the current ban was made in dry run and is not enforced
)

// hit counts one request for the recent-rate estimate.
func (e *entry) hit(t int64) {
	e.seen = t
	sec := uint32(t / 1e9)
	if sec != e.sec {
		if sec == e.sec+1 {
			e.prev = e.cur
		} else {
			e.prev = 0
		}
		e.cur, e.sec = 0, sec
	}
	if e.cur < math.MaxUint16 {
		e.cur++
	}
}

// rate estimates the client's requests per second over the last second (a
// sliding window over two one-second counters).
func (e *entry) rate(t int64) float64 {
	sec := uint32(t / 1e9)
	cur, prev := float64(e.cur), float64(e.prev)
	switch sec {
	case e.sec:
	case e.sec + 1:
		prev, cur = cur, 0
	default:
		return 0
	}
	frac := float64(t%1e9) / 1e9
	return prev*(1-frac) + cur
}

func (e *entry) refused() {
	if e.refusals < math.MaxUint32 {
		e.refusals++
	}
}

// Eviction classes, cheapest to lose first.
const (
	fresh  = iota // nothing to lose: equivalent to a new record
	stale         // bucket debt (goes to the sketch) or counters would be lost
	pinned        // banned, or requests or connections in flight: never evicted
)

func (e *entry) class(t int64, s *abuseSettings) int {
	if e.banUntil > t || e.inflight > 0 || e.conns > 0 {
		return pinned
	}
	for i := range e.tat {
		if e.pol[i] != 0 && e.tat[i] > t {
			return stale
		}
	}
	if e.banLevel > 0 && t-e.banUntil < s.banMax ||
		e.strikes > 0 && t-e.strikeAt <= s.banWithin ||
		e.authFail > 0 && t-e.authAt <= s.authWithin ||
		e.reputable(t, s) {
		return stale
	}
	return fresh
}
