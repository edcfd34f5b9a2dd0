package redisstore

import (
	"sync/atomic"
	"time"
)

// tripAfter is how many errors in a row open the circuit.
const tripAfter = 3

// circuit skips a failing store: after tripAfter consecutive errors no
// request goes to it for backoff; then one request probes it, the others
// still skip, and the probe's outcome closes or reopens the circuit. The
// zero value (with a backoff) is closed. Safe for concurrent use.
type circuit struct {
	backoff   time.Duration
	fails     atomic.Int32
	openUntil atomic.Int64 // unix ns, 0: closed
	probing   atomic.Bool
}

func (c *circuit) allow(now time.Time) bool {
	until := c.openUntil.Load()
	if until == 0 {
		return true
	}
	if now.UnixNano() < until {
		return false
	}
	return c.probing.CompareAndSwap(false, true)
}

func (c *circuit) success() {
	if c.fails.Load() != 0 {
		c.fails.Store(0)
	}
	if c.openUntil.Load() != 0 {
		c.openUntil.Store(0)
		c.probing.Store(false)
	}
}

func (c *circuit) failure(now time.Time) {
	if c.probing.Load() || c.fails.Add(1) >= tripAfter {
		c.openUntil.Store(now.Add(c.backoff).UnixNano())
		c.probing.Store(false)
	}
}

// up reports whether the last command succeeded (or none was sent).
func (c *circuit) up() bool { return c.fails.Load() == 0 && c.openUntil.Load() == 0 }

// open reports whether requests are being skipped at now.
func (c *circuit) open(now time.Time) bool {
	u := c.openUntil.Load()
	return u != 0 && now.UnixNano() < u
}
