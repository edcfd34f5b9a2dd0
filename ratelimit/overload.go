package ratelimit

import (
	"math"
	"sync/atomic"
	"time"
)

// overload detects a saturated router and picks whom to shed.
//
// Saturated means a standing queue, not a busy moment: the router's
// requests in flight have stayed at or above abuse.overload.max_in_flight,
// without once dropping below it, for abuse.overload.max_queue_wait (the
// idea of CoDel: a queue that does not drain within its target is a
// problem, one that does is just a burst). A busy router whose in-flight
// count touches the cap and comes back down never sheds. The count is the
// sum of the shards' counters (no counter that every core writes), taken
// at most every max_queue_wait/16 by whichever request comes first: a dip
// below the cap shorter than that may go unseen.
//
// While saturated, requests from clients whose recent rate (requests per
// second over the last second) is at least a threshold get 503. The
// threshold starts at half the heaviest client's rate and halves every
// max_queue_wait the saturation lasts, so the heaviest clients go first and
// light ones keep being served unless shedding the heavy ones is not enough;
// it doubles back every max_queue_wait once the saturation ends. Past twice
// max_in_flight everyone is shed (except allow-listed clients): the router
// never queues without bound.
//
// All fields are atomics: no lock is taken.
type overload struct {
	lastSample atomic.Int64  // when in flight was last summed
	lastN      atomic.Int64  // what it was
	overSince  atomic.Int64  // first sample at or above the cap; 0: below it
	threshold  atomic.Uint64 // float64 bits, requests/s; +Inf: not shedding
	lastStep   atomic.Int64
	peak       atomic.Uint64 // float64 bits: heaviest recent client rate
	shed       atomic.Uint64 // requests shed (dry run included)
}

var infBits = math.Float64bits(math.Inf(1))

func (o *overload) init() { o.threshold.Store(infBits) }

// sampleEvery is how often in flight is summed, for max_queue_wait wait.
func sampleEvery(wait int64) int64 { return max(wait/16, int64(50*time.Microsecond)) }

// saturated reports whether the router has had a standing queue for
// max_queue_wait at t, and whether it is past the hard bound.
func (a *Admission) saturated(t int64, ab *abuseSettings) (over, hard bool) {
	o := &a.ov
	last := o.lastSample.Load()
	if t-last >= sampleEvery(ab.ovWait) && o.lastSample.CompareAndSwap(last, t) {
		n := a.inFlight()
		since := o.overSince.Load()
		switch {
		case n < ab.ovMax:
			since = 0
		case since == 0:
			since = t
		}
		o.lastN.Store(n)
		o.overSince.Store(since)
	}
	since := o.overSince.Load()
	over = since != 0 && t-since >= ab.ovWait
	return over, over && o.lastN.Load() >= 2*ab.ovMax
}

// inFlight sums the shards' in-flight counters.
func (a *Admission) inFlight() int64 {
	var n int64
	for i := range a.shards {
		n += a.shards[i].inflight.Load()
	}
	return n
}

// step moves the threshold at most once per max_queue_wait (at once when a
// saturation begins) and returns it.
func (o *overload) step(t int64, over bool, wait int64) float64 {
	thBits := o.threshold.Load()
	th := math.Float64frombits(thBits)
	inf := thBits == infBits
	if !over && inf {
		return th
	}
	last := o.lastStep.Load()
	if !(over && inf) && t-last < wait {
		return th
	}
	if !o.lastStep.CompareAndSwap(last, t) {
		return math.Float64frombits(o.threshold.Load())
	}
	peak := math.Float64frombits(o.peak.Load())
	switch {
	case over && inf:
		th = peak / 2
	case over:
		th /= 2
	case th < 1:
		th = 1
	default:
		th *= 2
	}
	if over && th < 1 {
		th = 0 // below one request a second: shed everyone
	}
	if !over && th > peak {
		th = math.Inf(1)
	}
	o.threshold.CompareAndSwap(thBits, math.Float64bits(th))
	return th
}

// notePeak raises the heaviest-client rate. The sweeper lowers it.
func (o *overload) notePeak(r float64) {
	for {
		old := o.peak.Load()
		if r <= math.Float64frombits(old) || o.peak.CompareAndSwap(old, math.Float64bits(r)) {
			return
		}
	}
}

// shed decides whether a request from a client with recent rate r is shed.
func (a *Admission) shed(r float64, t int64, ab *abuseSettings) bool {
	o := &a.ov
	o.notePeak(r)
	over, hard := a.saturated(t, ab)
	if over {
		a.press.note(t)
	}
	th := o.step(t, over, ab.ovWait)
	if over && (hard || r >= th) {
		o.shed.Add(1)
		return true
	}
	return false
}
