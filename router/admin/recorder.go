package admin

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/stats"
)

// maxReasons bounds the refusal counters; stats.Reason values at or past it
// are forwarded but not counted here.
const maxReasons = 32

// Recorder is a stats.Recorder decorator that keeps what the status page
// needs and the real recorder does not hand back: refusals by reason, when
// each breaker last changed state, and attack mode. Everything is forwarded
// to the wrapped recorder. Rejected is one atomic add; BreakerState (rare)
// takes a small lock. Safe for concurrent use; build it with NewRecorder.
type Recorder struct {
	stats.Recorder
	now      func() time.Time
	rejected [maxReasons]atomic.Uint64
	attack   atomic.Bool

	mu      sync.Mutex
	changes map[breakerKey]breakerChange
}

type breakerKey struct{ backend, target string }

type breakerChange struct {
	to breaker.State
	at time.Time
}

// NewRecorder wraps next (nil means stats.Nop{}). now is the clock; nil
// means time.Now.
func NewRecorder(next stats.Recorder, now func() time.Time) *Recorder {
	if next == nil {
		next = stats.Nop{}
	}
	if now == nil {
		now = time.Now
	}
	return &Recorder{Recorder: next, now: now, changes: map[breakerKey]breakerChange{}}
}

// Rejected counts the refusal and forwards it.
func (r *Recorder) Rejected(reason stats.Reason) {
	if int(reason) < maxReasons {
		r.rejected[reason].Add(1)
	}
	r.Recorder.Rejected(reason)
}

// BreakerState notes when the breaker changed and forwards it. target is ""
// for a backend-level breaker.
func (r *Recorder) BreakerState(backend, target string, s breaker.State) {
	at := r.now()
	r.mu.Lock()
	r.changes[breakerKey{backend, target}] = breakerChange{to: s, at: at}
	r.mu.Unlock()
	r.Recorder.BreakerState(backend, target, s)
}

// UnderAttack notes attack mode and forwards it.
func (r *Recorder) UnderAttack(on bool) {
	r.attack.Store(on)
	r.Recorder.UnderAttack(on)
}

var _ stats.Series = (*Recorder)(nil)

// DeclareRoute forwards to the wrapped recorder when it keeps such series.
func (r *Recorder) DeclareRoute(route, backend string) {
	if s, ok := r.Recorder.(stats.Series); ok {
		s.DeclareRoute(route, backend)
	}
}

// DeclareBackend forwards to the wrapped recorder when it keeps such series.
func (r *Recorder) DeclareBackend(backend string) {
	if s, ok := r.Recorder.(stats.Series); ok {
		s.DeclareBackend(backend)
	}
}

// Forget drops what is kept of the target's breaker and forwards.
func (r *Recorder) Forget(backend, target string) {
	r.mu.Lock()
	delete(r.changes, breakerKey{backend, target})
	r.mu.Unlock()
	if s, ok := r.Recorder.(stats.Series); ok {
		s.Forget(backend, target)
	}
}

// Rejections is the number of refusals counted for reason so far.
func (r *Recorder) Rejections(reason stats.Reason) uint64 {
	if int(reason) >= maxReasons {
		return 0
	}
	return r.rejected[reason].Load()
}

// Attacked reports whether the router last said it is under attack.
func (r *Recorder) Attacked() bool { return r.attack.Load() }

// lastChange returns when the breaker last changed to state s; ok is false
// when its last reported change was to another state, or none was seen.
func (r *Recorder) lastChange(backend, target string, s breaker.State) (at time.Time, ok bool) {
	r.mu.Lock()
	c, found := r.changes[breakerKey{backend, target}]
	r.mu.Unlock()
	if !found || c.to != s {
		return time.Time{}, false
	}
	return c.at, true
}
