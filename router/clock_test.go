package router

import (
	"testing"
	"time"
)

func TestClockFollowsTimeNow(t *testing.T) {
	var c clock
	prev := c.Now()
	const slack = 20 * time.Millisecond
	for range 1000 {
		before := time.Now()
		got := c.Now()
		after := time.Now()
		// The monotonic parts are exact; the wall parts agree to within
		// what the system clock's slewing and small steps do in a second
		// (a time daemon correcting a busy machine moved it 2 ms once).
		if got.Before(before) || got.After(after) {
			t.Fatalf("reading %v outside [%v, %v]", got, before, after)
		}
		if d := got.Round(0).Sub(before.Round(0)); d < -slack || d > after.Sub(before)+slack {
			t.Fatalf("wall reading %v, time.Now's %v", got.Round(0), before.Round(0))
		}
		if got.Before(prev) {
			t.Fatalf("reading %v before the previous one %v", got, prev)
		}
		prev = got
	}
}

func TestClockRebases(t *testing.T) {
	var c clock
	c.Now()
	first := c.base.Load()
	c.Now()
	if c.base.Load() != first {
		t.Fatal("a fresh base was taken again at once")
	}
	stale := time.Now().Add(-clockRebase)
	c.base.Store(&stale)
	got := c.Now()
	if b := c.base.Load(); b == &stale || !b.Equal(got) {
		t.Fatalf("a %v old base was kept", clockRebase)
	}
}
