package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"golang.org/x/time/rate"
)

func TestBucketSteps(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 20/s, burst: 3}
`)
	ms := time.Millisecond
	tests := []struct {
		at            time.Duration
		wantAllow     bool
		wantRemaining int
		wantRetry     time.Duration
		wantReset     time.Duration
	}{
		{0, true, 2, 0, 50 * ms},
		{0, true, 1, 0, 100 * ms},
		{0, true, 0, 0, 150 * ms},
		{0, false, 0, 50 * ms, 150 * ms},
		{49 * ms, false, 0, 1 * ms, 101 * ms},
		{50 * ms, true, 0, 0, 150 * ms},
		{60 * ms, false, 0, 40 * ms, 140 * ms},
		{200 * ms, true, 2, 0, 50 * ms},  // full again at 200ms
		{1000 * ms, true, 2, 0, 50 * ms}, // refilled, capped at burst
		{1000 * ms, true, 1, 0, 100 * ms},
	}
	for i, tt := range tests {
		d := h.req(tt.at, "192.0.2.1", "default")
		if d.Allow != tt.wantAllow || d.RetryAfter != tt.wantRetry || d.Reset != tt.wantReset {
			t.Fatalf("step %d at %v: got allow=%v retry=%v reset=%v, want %v %v %v",
				i, tt.at, d.Allow, d.RetryAfter, d.Reset, tt.wantAllow, tt.wantRetry, tt.wantReset)
		}
		if d.Allow && d.Remaining != tt.wantRemaining {
			t.Fatalf("step %d: remaining %d, want %d", i, d.Remaining, tt.wantRemaining)
		}
		if !d.Allow && (d.Status != 429 || d.Reason.String() != "rate_limit") {
			t.Fatalf("step %d: refusal %d %v", i, d.Status, d.Reason)
		}
	}
	// Clients are independent.
	if d := h.req(0, "192.0.2.2", "default"); !d.Allow {
		t.Fatal("another client was limited")
	}
	// "none" and unknown policies do not limit.
	for range 10 {
		if d := h.req(0, "192.0.2.1", "none"); !d.Allow || d.Remaining != -1 {
			t.Fatalf("policy none limited: %+v", d)
		}
	}
}

// TestBucketMatchesRate checks the 8-byte bucket against rate.Limiter, step
// for step, on random request times.
func TestBucketMatchesRate(t *testing.T) {
	rates := []struct {
		r     config.Rate
		burst int
	}{
		{config.Rate{Count: 20, Per: time.Second}, 40},
		{config.Rate{Count: 1, Per: time.Second}, 1},
		{config.Rate{Count: 100, Per: time.Minute}, 5},
		{config.Rate{Count: 1000, Per: time.Second}, 10},
		{config.Rate{Count: 0.5, Per: time.Second}, 3},
		{config.Rate{Count: 5, Per: time.Hour}, 2},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rc := range rates {
		b := newBucket(rc.r, rc.burst)
		lim := rate.NewLimiter(rate.Limit(rc.r.PerSecond()), rc.burst)
		now := t0
		var tat int64
		base := t0.UnixNano()
		maxGap := 3 * b.interval
		agree := 0
		for i := range 20000 {
			now = now.Add(time.Duration(rng.Int64N(maxGap)))
			if rng.IntN(4) == 0 {
				// Several requests at the same instant.
				now = now.Add(0)
			}
			want := lim.AllowN(now, 1)
			next, got, _ := b.take(tat, now.UnixNano()-base)
			if got {
				tat = next
			}
			if got != want {
				t.Fatalf("rate %v burst %d step %d: bucket %v, rate.Limiter %v", rc.r, rc.burst, i, got, want)
			}
			if got {
				agree++
			}
			// Token counts agree too (to rounding).
			tokens := lim.TokensAt(now)
			if rem := b.remaining(tat, now.UnixNano()-base); rem != int(tokens+1e-9) && tokens >= 0 {
				t.Fatalf("rate %v step %d: remaining %d, rate.Limiter tokens %.6f", rc.r, i, rem, tokens)
			}
		}
		if agree == 0 {
			t.Fatalf("rate %v: nothing allowed", rc.r)
		}
	}
}

func TestBucketConvert(t *testing.T) {
	from := newBucket(config.Rate{Count: 10, Per: time.Second}, 10)
	to := newBucket(config.Rate{Count: 1, Per: time.Second}, 5)
	const at = int64(1e12)
	tests := []struct {
		name       string
		debt       int64 // tat - at in from's bucket
		wantTokens int
	}{
		{"full stays full", 0, 5},
		{"8 tokens capped at new burst", 2 * from.interval, 5},
		{"3 tokens kept", 7 * from.interval, 3},
		{"empty stays empty", 10 * from.interval, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := from.convert(at+tt.debt, at, &to)
			if rem := to.remaining(got, at); rem != tt.wantTokens {
				t.Fatalf("remaining %d, want %d", rem, tt.wantTokens)
			}
			// Same result as rate.Limiter's SetLimitAt + SetBurstAt.
			lim := rate.NewLimiter(rate.Limit(10), 10)
			now := time.Unix(0, at)
			lim.AllowN(now, int(tt.debt/from.interval))
			lim.SetLimitAt(now, 1)
			lim.SetBurstAt(now, 5)
			if tok := min(lim.TokensAt(now), 5); int(tok+1e-9) != tt.wantTokens {
				t.Fatalf("rate.Limiter has %.3f tokens, want %d", tok, tt.wantTokens)
			}
		})
	}
}

// TestMorePoliciesThanSlots: a record holds two buckets; a client using a
// third policy hands one to the sketch and finds it drained on return.
func TestMorePoliciesThanSlots(t *testing.T) {
	h := newHarness(t, `
limits:
  a: {rate: 1/m, burst: 2}
  b: {rate: 1/m, burst: 2}
  c: {rate: 1/m, burst: 2}
`)
	const c = "192.0.2.1"
	for _, p := range []string{"a", "b", "c", "a", "b", "c"} {
		if d := h.req(0, c, p); !d.Allow {
			t.Fatalf("policy %s: first two requests refused", p)
		}
	}
	for _, p := range []string{"a", "b", "c"} {
		if d := h.req(time.Second, c, p); d.Allow || d.RetryAfter != 59*time.Second {
			t.Fatalf("policy %s: drained bucket gave %+v", p, d)
		}
	}
	if d := h.req(time.Minute, c, "a"); !d.Allow || d.Remaining != 0 {
		t.Fatalf("policy a after a minute: %+v", d)
	}
}
