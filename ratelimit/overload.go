package ratelimit

import (
	"math"
	"sync/atomic"
)

// overload detects a saturated router and picks whom to shed.
//
// Saturated means a standing queue, not a busy moment: the router's
// requests in flight have stayed at or above abuse.overload.max_in_flight,
// without once dropping below it, for abuse.overload.max_queue_wait (the
// idea of CoDel: a queue that does not drain within its target is a
// problem, one that does is just a burst). A busy router whose in-flight
// count touches the cap and comes back down never sheds.
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
	inFlight  atomic.Int64  // admitted requests not yet Done
	overSince atomic.Int64  // when in flight reached the cap; 0: below it
	threshold atomic.Uint64 // float64 bits, requests/s; +Inf: not shedding
	lastStep  atomic.Int64
	peak      atomic.Uint64 // float64 bits: heaviest recent client rate
	shed      atomic.Uint64 // requests shed (dry run included)
}

var infBits = math.Float64bits(math.Inf(1))

func (o *overload) init() { o.threshold.Store(infBits) }

// below notes that in flight dropped below the cap.
func (o *overload) below() {
	if o.overSince.Load() != 0 {
		o.overSince.Store(0)
	}
}

// saturated reports whether the router has had a standing queue for
// max_queue_wait at t, and whether it is past the hard bound.
func (o *overload) saturated(t int64, ab *abuseSettings) (over, hard bool) {
	n := o.inFlight.Load()
	if n < ab.ovMax {
		o.below()
		return false, false
	}
	since := o.overSince.Load()
	if since == 0 {
		if o.overSince.CompareAndSwap(0, t) {
			since = t
		} else {
			since = o.overSince.Load()
		}
	}
	return since != 0 && t-since >= ab.ovWait, n >= 2*ab.ovMax
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
	over, hard := o.saturated(t, ab)
	th := o.step(t, over, ab.ovWait)
	if over && (hard || r >= th) {
		o.shed.Add(1)
		return true
	}
	return false
}
