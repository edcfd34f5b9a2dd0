// Package sketch holds the buckets ratelimit's client table let go of.
package sketch

import (
	"math/bits"
	"sync/atomic"
)

// Sketch remembers, in fixed memory, the buckets the client table had to let
// go of. It is a count-min sketch of tats: every key maps to two slots, a
// write raises both to at least its tat, a read returns the smaller of the
// two. Collisions can only make the answer later (a fuller debt), never
// earlier, so a client whose drained bucket was evicted cannot come back to a
// fresh burst; an innocent client that collides starts with at most an empty
// bucket of its own policy (see ratelimit's bucket.clamp), never a ban or a lower rate.
//
// Slots hold tats in the caller's time base; 0 means "full".
// It is safe for concurrent use without a lock.
type Sketch struct {
	slots []atomic.Int64
	mask  uint64
}

// New sizes a sketch for about n tracked keys: the power of two at
// or above 2n, at least 1024 slots (16 bytes or less per tracked client).
func New(n int) *Sketch {
	size := 1024
	for size < 2*n {
		size <<= 1
	}
	return &Sketch{slots: make([]atomic.Int64, size), mask: uint64(size - 1)}
}

func (s *Sketch) pos(h uint64) (uint64, uint64) {
	return h & s.mask, bits.RotateLeft64(h, 32) & s.mask
}

// Get returns the remembered tat for a key hash, 0 when none.
func (s *Sketch) Get(h uint64) int64 {
	i, j := s.pos(h)
	return min(s.slots[i].Load(), s.slots[j].Load())
}

// Raise records that the key's bucket is full only at tat.
func (s *Sketch) Raise(h uint64, tat int64) {
	i, j := s.pos(h)
	raiseTo(&s.slots[i], tat)
	raiseTo(&s.slots[j], tat)
}

func raiseTo(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if old >= x || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// Resized returns a sketch for about n keys holding at least what s holds: a
// larger sketch repeats s, a smaller one folds it with max, so no remembered
// debt is lost (the answer can only get later).
func (s *Sketch) Resized(n int) *Sketch {
	out := New(n)
	if len(out.slots) == len(s.slots) {
		return s
	}
	for i := range s.slots {
		v := s.slots[i].Load()
		for j := uint64(i) & out.mask; j < uint64(len(out.slots)); j += uint64(len(s.slots)) {
			raiseTo(&out.slots[j], v)
		}
	}
	return out
}
