package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// WaitFor polls cond every millisecond until it holds, and fails t if it
// does not within d; what says what was awaited.
func WaitFor(t testing.TB, d time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, fmt.Sprintf(what, args...))
		}
	}
}

// Drain shuts a server down with shutdown and waits until inFlight reports
// no request left in it: net/http's Shutdown does not wait for hijacked
// connections (upgrades), and a request is logged after its answer is out.
func Drain(t testing.TB, shutdown func(context.Context) error, inFlight func() int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdown(ctx)
	for inFlight() > 0 {
		if ctx.Err() != nil {
			t.Errorf("%d requests still in flight after shutdown", inFlight())
			return
		}
		time.Sleep(time.Millisecond)
	}
}
