package router

import (
	"sync/atomic"
	"time"
)

// clockRebase is how old a full clock reading may be before clock takes
// another.
const clockRebase = time.Second

// clock is time.Now at one clock reading instead of two. time.Now reads
// the wall clock and the monotonic clock; a clock reading is its last full
// reading plus the monotonic time since, and it takes a full one again
// when that is clockRebase old. A step of the system clock shows in its
// readings within clockRebase; their monotonic parts, which every duration
// and deadline the router computes uses, are exact.
type clock struct {
	base atomic.Pointer[time.Time]
}

func (c *clock) Now() time.Time {
	if b := c.base.Load(); b != nil {
		if d := time.Since(*b); d >= 0 && d < clockRebase {
			return b.Add(d)
		}
	}
	t := time.Now()
	c.base.Store(&t)
	return t
}
