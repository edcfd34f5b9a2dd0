// Package breaker is bulwark's circuit breaker, applied per target and per
// backend. A Breaker separates "may this request go?" (Allow) from "how did it
// end?" (Done), like sony/gobreaker's TwoStepCircuitBreaker.
//
// bulwark does not use github.com/sony/gobreaker/v2 (v2.4.0) because it cannot
// express the policy and costs an allocation per request:
//
//   - TwoStepCircuitBreaker.Allow returns a closure: 1 alloc (48 B) per
//     request on the forward path; a Token here is a plain 8-byte value;
//   - it reads time.Now itself, so its state machine cannot be stepped at
//     fixed instants in tests;
//   - its OnStateChange runs under the breaker's mutex;
//   - its open timeout is fixed: it cannot grow on repeated trips;
//   - it has no side-effect-free "would a request pass now?" for balancers.
//
// The policy: closed → open when ConsecutiveFailures failures follow each
// other, or when the failures over the rolling Window reach FailureRatio of at
// least MinRequests finished requests. Open lasts OpenFor, doubling on every
// trip that follows a failed half-open probe, up to MaxOpenFor (default
// 8×OpenFor). Then half-open admits exactly HalfOpenRequests probes: when all
// of them succeed the breaker closes (and the open time resets), when one
// fails it opens again. A probe reported as Ignore frees its slot for another.
package breaker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Result is how a request admitted by Allow ended.
type Result uint8

const (
	// Success: the target answered below 500.
	Success Result = iota
	// Failure: connect error, timeout or a 5xx answer.
	Failure
	// Ignore: neither, e.g. the client went away. It does not count.
	Ignore
)

// ErrOpen is matched (errors.Is) by every *OpenError.
var ErrOpen = errors.New("breaker: circuit open")

// OpenError is Allow's refusal. RetryAfter is the time until the breaker
// turns half-open; while half-open with every probe slot taken it is the base
// OpenFor, a hint only.
type OpenError struct {
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return "breaker: circuit open, retry after " + e.RetryAfter.String()
}

// Is makes errors.Is(err, ErrOpen) true.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// Token ties a Done to its Allow. The zero Token (from a refused Allow or an
// always-allowing breaker) is accepted by Done and does nothing.
type Token struct {
	word uint64 // generation<<2 | state at admission
}

// Breaker is one circuit breaker. It is safe for concurrent use; Allow in the
// closed state and while open is lock-free. Build it with New.
type Breaker struct {
	// Set by New, read-only afterwards.
	off         bool
	consecutive int
	ratio       float64
	minRequests int
	openFor     int64 // ns
	maxOpenFor  int64 // ns
	halfMax     int32
	now         func() time.Time
	origin      time.Time
	onChange    func(from, to State)

	// Lock-free mirrors, written only under mu.
	word      atomic.Uint64 // generation<<2 | state
	openUntil atomic.Int64  // ns since origin, while open
	probes    atomic.Int32  // half-open slots taken

	mu        sync.Mutex
	fails     int // consecutive failures while closed
	win       window
	trips     int // trips since the last close
	probesOK  int32
	pending   []transition
	spare     []transition
	notifying bool
}

type transition struct{ from, to State }

// New returns a closed breaker for cfg. cfg.Disabled, or ConsecutiveFailures
// and FailureRatio both 0, give a breaker that always allows. Missing
// OpenFor, Window, MinRequests or HalfOpenRequests take Config's defaults.
func New(cfg Config, opts ...Option) *Breaker {
	b := &Breaker{
		off:         cfg.Disabled || (cfg.ConsecutiveFailures <= 0 && cfg.FailureRatio <= 0),
		consecutive: cfg.ConsecutiveFailures,
		ratio:       cfg.FailureRatio,
		minRequests: max(cfg.MinRequests, 1),
		openFor:     int64(cfg.OpenFor),
		halfMax:     int32(max(cfg.HalfOpenRequests, 1)),
		now:         time.Now,
	}
	if b.openFor <= 0 {
		b.openFor = int64(5 * time.Second)
	}
	window := int64(cfg.Window)
	if window <= 0 {
		window = int64(10 * time.Second)
	}
	b.win.width = max(window/numBuckets, 1)
	b.maxOpenFor = 8 * b.openFor
	for _, o := range opts {
		o(b)
	}
	b.maxOpenFor = max(b.maxOpenFor, b.openFor)
	b.origin = b.now()
	b.word.Store(1<<2 | uint64(StateClosed))
	return b
}

func stateOf(word uint64) State { return State(word & 3) }

// since is the injected clock in ns since New; it never goes below 0.
func (b *Breaker) since() int64 { return max(int64(b.now().Sub(b.origin)), 0) }

// Allow asks whether a request may go. On nil error the caller must pass the
// Token to Done exactly once; otherwise err is an *OpenError.
func (b *Breaker) Allow() (Token, error) {
	if b.off {
		return Token{}, nil
	}
	w := b.word.Load()
	switch stateOf(w) {
	case StateClosed:
		return Token{w}, nil
	case StateOpen:
		t := b.since()
		if until := b.openUntil.Load(); t < until {
			return Token{}, &OpenError{RetryAfter: time.Duration(until - t)}
		}
	case StateHalfOpen:
		if b.probes.Load() >= b.halfMax {
			return Token{}, &OpenError{RetryAfter: time.Duration(b.openFor)}
		}
	}
	return b.allowSlow()
}

// allowSlow handles half-open admission and the open → half-open change.
func (b *Breaker) allowSlow() (Token, error) {
	b.mu.Lock()
	changed := b.advance(b.since())
	w := b.word.Load()
	var err error
	switch stateOf(w) {
	case StateOpen: // a probe failed since the fast path looked
		err = &OpenError{RetryAfter: time.Duration(max(b.openUntil.Load()-b.since(), 0))}
	case StateHalfOpen:
		if n := b.probes.Load(); n < b.halfMax {
			b.probes.Store(n + 1)
		} else {
			err = &OpenError{RetryAfter: time.Duration(b.openFor)}
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
	if err != nil {
		return Token{}, err
	}
	return Token{w}, nil
}

// advance turns an expired open state into half-open. Call with mu held.
func (b *Breaker) advance(t int64) bool {
	if stateOf(b.word.Load()) == StateOpen && t >= b.openUntil.Load() {
		b.probes.Store(0)
		b.probesOK = 0
		b.setState(StateHalfOpen)
		return true
	}
	return false
}

// Done reports how the request admitted with t ended. Tokens from an earlier
// state (the breaker changed since Allow) are ignored.
func (b *Breaker) Done(t Token, r Result) {
	if t.word == 0 || b.word.Load() != t.word {
		return
	}
	if r == Ignore && stateOf(t.word) == StateClosed {
		return
	}
	b.mu.Lock()
	if b.word.Load() != t.word {
		b.mu.Unlock()
		return
	}
	now := b.since()
	changed := false
	switch stateOf(t.word) {
	case StateClosed:
		if r == Success {
			b.fails = 0
			b.win.add(now, false)
			break
		}
		b.fails++
		b.win.add(now, true)
		if b.tripsClosed(now) {
			b.trip(now)
			changed = true
		}
	case StateHalfOpen:
		switch r {
		case Success:
			b.probesOK++
			if b.probesOK >= b.halfMax {
				b.close()
				changed = true
			}
		case Failure:
			b.trip(now)
			changed = true
		case Ignore:
			b.probes.Add(-1)
		}
	}
	b.mu.Unlock()
	if changed {
		b.notify()
	}
}

// tripsClosed says whether the closed-state counts call for opening.
func (b *Breaker) tripsClosed(now int64) bool {
	if b.consecutive > 0 && b.fails >= b.consecutive {
		return true
	}
	if b.ratio <= 0 {
		return false
	}
	ok, failed := b.win.counts(now)
	total := ok + failed
	return total >= b.minRequests && float64(failed) >= b.ratio*float64(total)
}

// trip opens the breaker for the grown open time. Call with mu held.
func (b *Breaker) trip(now int64) {
	d := b.openFor
	for i := 0; i < b.trips && d < b.maxOpenFor; i++ {
		d *= 2
	}
	d = min(d, b.maxOpenFor)
	b.trips++
	b.openUntil.Store(now + d)
	b.setState(StateOpen)
}

// close resets every count. Call with mu held.
func (b *Breaker) close() {
	b.trips, b.fails, b.probesOK = 0, 0, 0
	b.probes.Store(0)
	b.win.reset()
	b.setState(StateClosed)
}

// setState starts a new generation and queues the change. Call with mu held.
func (b *Breaker) setState(to State) {
	w := b.word.Load()
	b.word.Store((w>>2+1)<<2 | uint64(to))
	if b.onChange != nil {
		b.pending = append(b.pending, transition{stateOf(w), to})
	}
}

// State is the current state. An open breaker past its open time turns
// half-open here (and reports the change).
func (b *Breaker) State() State {
	s := stateOf(b.word.Load())
	if s != StateOpen || b.since() < b.openUntil.Load() {
		return s
	}
	b.mu.Lock()
	changed := b.advance(b.since())
	s = stateOf(b.word.Load())
	b.mu.Unlock()
	if changed {
		b.notify()
	}
	return s
}

// RetryAfter is the time until half-open; 0 when not open.
func (b *Breaker) RetryAfter() time.Duration {
	if stateOf(b.word.Load()) != StateOpen {
		return 0
	}
	return time.Duration(max(b.openUntil.Load()-b.since(), 0))
}

// Ready says, without changing anything, whether Allow would likely admit a
// request now: closed, half-open with a free probe slot, or open past its
// open time. Balancers use it to skip targets; it takes no lock.
func (b *Breaker) Ready() bool {
	switch stateOf(b.word.Load()) {
	case StateClosed:
		return true
	case StateHalfOpen:
		return b.probes.Load() < b.halfMax
	default:
		return b.since() >= b.openUntil.Load()
	}
}
