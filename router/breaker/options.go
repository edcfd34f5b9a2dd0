package breaker

import "time"

// Option configures New.
type Option func(*Breaker)

// WithClock replaces time.Now. Nil is ignored.
func WithClock(now func() time.Time) Option {
	return func(b *Breaker) {
		if now != nil {
			b.now = now
		}
	}
}

// OnStateChange registers fn, called on every state change in the order the
// changes happened. It runs after the breaker's lock is released, so it may
// call the breaker's methods.
func OnStateChange(fn func(from, to State)) Option {
	return func(b *Breaker) { b.onChange = fn }
}

// WithMaxOpenFor caps the growing open time. Values below OpenFor are raised
// to OpenFor (no growth). Default 8×OpenFor.
func WithMaxOpenFor(d time.Duration) Option {
	return func(b *Breaker) { b.maxOpenFor = int64(d) }
}
