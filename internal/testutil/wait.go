package testutil

import (
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
