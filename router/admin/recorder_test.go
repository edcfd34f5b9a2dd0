package admin

import (
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/stats"
)

// countingRecorder is a stats.Recorder that counts what reaches it.
type countingRecorder struct {
	stats.Nop
	rejected map[stats.Reason]int
	breakers int
	attack   bool
}

func (c *countingRecorder) Rejected(r stats.Reason)                    { c.rejected[r]++ }
func (c *countingRecorder) BreakerState(string, string, breaker.State) { c.breakers++ }
func (c *countingRecorder) UnderAttack(on bool)                        { c.attack = on }

func TestRecorderCountsAndForwards(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	next := &countingRecorder{rejected: map[stats.Reason]int{}}
	r := NewRecorder(next, func() time.Time { return t0 })
	r.Rejected(stats.RateLimit)
	r.Rejected(stats.RateLimit)
	r.Rejected(stats.Banned)
	r.Rejected(stats.Reason(200)) // out of range: forwarded, not counted
	r.BreakerState("app", "http://a", breaker.StateOpen)
	r.UnderAttack(true)

	tests := []struct {
		give stats.Reason
		want uint64
	}{
		{stats.RateLimit, 2},
		{stats.Banned, 1},
		{stats.Denied, 0},
		{stats.Reason(200), 0},
	}
	for _, tt := range tests {
		if got := r.Rejections(tt.give); got != tt.want {
			t.Errorf("Rejections(%v) = %d, want %d", tt.give, got, tt.want)
		}
	}
	if next.rejected[stats.RateLimit] != 2 || next.rejected[stats.Banned] != 1 || next.rejected[stats.Reason(200)] != 1 {
		t.Errorf("forwarded %v", next.rejected)
	}
	if next.breakers != 1 || !next.attack || !r.Attacked() {
		t.Errorf("forwarded breakers=%d attack=%v; Attacked=%v", next.breakers, next.attack, r.Attacked())
	}
	if at, ok := r.lastChange("app", "http://a", breaker.StateOpen); !ok || !at.Equal(t0) {
		t.Errorf("lastChange(open) = %v, %v", at, ok)
	}
	if _, ok := r.lastChange("app", "http://a", breaker.StateClosed); ok {
		t.Error("lastChange(closed) found a change to open")
	}
	if _, ok := NewRecorder(nil, nil).lastChange("x", "", breaker.StateClosed); ok {
		t.Error("empty recorder has a change")
	}
}
