package ratelimit

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// attackParams is when a flood counts as an attack. Immutable.
type attackParams struct {
	minNew float64 // new clients per second below which nothing is an attack
	factor float64 // ... and how far above the baseline it must be
	calm   int64   // ns of calm before attack mode ends
}

func defaultAttackParams() attackParams {
	return attackParams{minNew: 50, factor: 4, calm: int64(10 * time.Second)}
}

// WithAttackDetection sets when attack mode begins: a second in which more
// than minNewPerSecond new clients arrive, factor times the baseline or
// more, while a backend queue or the router is under pressure. It ends after
// calm without such a second. Defaults 50/s, 4 and 10s.
func WithAttackDetection(minNewPerSecond, factor float64, calm time.Duration) Option {
	return func(o *options) error {
		if minNewPerSecond <= 0 || factor < 1 || calm <= 0 {
			return errors.New("ratelimit: attack detection needs a positive rate, a factor of at least 1 and a positive calm")
		}
		o.attack = attackParams{minNew: minNewPerSecond, factor: factor, calm: int64(calm)}
		return nil
	}
}

// baselineWindow is the time constant of the new-client baseline.
const baselineWindow = float64(time.Minute)

// attack detects a flood: many more new clients than usual while the
// backends are under pressure. The request path only bumps two counters;
// the sweeper looks at them once a second (observe) and turns attack mode
// on and off, reporting through stats.Recorder.UnderAttack and one log line
// at each end.
type attack struct {
	p          attackParams
	newClients atomic.Uint64 // records created (new clients)
	pressure   atomic.Uint64 // backend queue waits and refusals (NotePressure)
	on         atomic.Bool
	since      atomic.Int64 // when attack mode began (time base), 0 when off

	mu       sync.Mutex // guards the fields below: the sweeper, tests
	lastT    int64      // 0: no sample yet
	lastNew  uint64
	lastPres uint64
	baseline float64 // new clients per second, learnt while not under attack
	hotAt    int64   // last hot second
	start    int64   // attack start
	peak     float64 // heaviest new-client rate of this attack
}

// attackChange is a transition for the caller to report after the lock.
type attackChange struct {
	changed, on     bool
	rate, baseline  float64
	since, duration int64
	peak            float64
}

// observe takes the counters at t. overloaded is the router's own overload
// state, which counts as pressure.
func (d *attack) observe(t int64, overloaded bool) attackChange {
	nw, pr := d.newClients.Load(), d.pressure.Load()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lastT == 0 || t <= d.lastT {
		d.lastT, d.lastNew, d.lastPres = t, nw, pr
		return attackChange{}
	}
	dt := float64(t - d.lastT)
	rate := float64(nw-d.lastNew) / dt * 1e9
	pressed := pr != d.lastPres || overloaded
	d.lastT, d.lastNew, d.lastPres = t, nw, pr

	on := d.on.Load()
	hot := pressed && rate >= d.p.minNew && rate >= d.p.factor*d.baseline
	if hot {
		d.hotAt = t
	}
	var ch attackChange
	switch {
	case hot && !on:
		d.on.Store(true)
		d.since.Store(t)
		d.start, d.peak = t, rate
		ch = attackChange{changed: true, on: true, rate: rate, baseline: d.baseline, since: t}
	case on && hot:
		d.peak = max(d.peak, rate)
	case on && t-d.hotAt >= d.p.calm:
		d.on.Store(false)
		d.since.Store(0)
		ch = attackChange{changed: true, rate: rate, baseline: d.baseline, since: d.start,
			duration: t - d.start, peak: d.peak}
	}
	if !on && !hot {
		// The baseline learns only from ordinary seconds: a flood must not
		// teach it that floods are normal.
		alpha := min(dt/baselineWindow, 1)
		d.baseline += alpha * (rate - d.baseline)
	}
	return ch
}

// NotePressure tells attack detection that a request had to wait in, or was
// refused by, a backend's admission queue. Safe for concurrent use; cheap.
func (a *Admission) NotePressure() { a.NotePressureAt(a.now()) }

// UnderAttack reports whether attack mode is on: a flood of new clients
// while the backends are under pressure. Safe for concurrent use.
func (a *Admission) UnderAttack() bool { return a.attack.on.Load() }

// checkAttack runs attack detection at t and reports a change: called by
// the sweeper once per interval, with no lock held.
func (a *Admission) checkAttack(t int64, ab *abuseSettings) {
	since := a.ov.overSince.Load()
	overloaded := ab.ovMax > 0 && since != 0 && t-since >= ab.ovWait
	ch := a.attack.observe(t, overloaded)
	if overloaded || a.attack.on.Load() {
		a.press.note(t)
	}
	a.press.settle(t)
	if !ch.changed {
		return
	}
	a.rec.UnderAttack(ch.on)
	if ch.on {
		a.log.Warn("attack mode on: flood of new clients under pressure",
			zap.Float64("new_clients_per_s", ch.rate), zap.Float64("baseline_per_s", ch.baseline))
		return
	}
	a.log.Info("attack mode off",
		zap.Float64("lasted_s", time.Duration(ch.duration).Seconds()), zap.Float64("peak_new_clients_per_s", ch.peak),
		zap.Float64("baseline_per_s", ch.baseline))
}
