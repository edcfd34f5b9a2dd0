package ratelimit

import (
	"math"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"golang.org/x/time/rate"
)

// maxTolerance bounds a bucket's depth in time so that tat arithmetic can
// never overflow (about 36 years).
const maxTolerance = int64(1) << 60

// bucket holds the arithmetic of one token bucket. The state of a bucket is a
// single int64, its theoretical arrival time (tat, the generic cell rate
// algorithm's form of a token bucket): the instant at which the bucket would
// be full again. A bucket with tat <= now is full; tokens(now) =
// burst - (tat-now)/interval. This is the same bucket as rate.Limiter with
// rate.Limit(1/interval) and the same burst, in 8 bytes instead of 80 and
// without its mutex (the client table's shard lock already serialises it);
// bucket_test.go checks the two agree step for step.
//
// The zero value refuses everything; build one with newBucket. A bucket is a
// plain value, safe to share once built.
type bucket struct {
	interval  int64 // ns per token, at least 1
	tolerance int64 // burst*interval: how far tat may run ahead of now
	burst     int
	limit     rate.Limit
}

func newBucket(r config.Rate, burst int) bucket {
	burst = max(burst, 1)
	iv := int64(math.MaxInt64)
	if ps := r.PerSecond(); ps > 0 {
		iv = max(int64(math.Round(float64(time.Second)/ps)), 1)
	}
	tol := maxTolerance
	if iv <= maxTolerance/int64(burst) {
		tol = iv * int64(burst)
	}
	return bucket{interval: iv, tolerance: tol, burst: burst, limit: rate.Limit(r.PerSecond())}
}

// take takes one token at now. It returns the new tat and true, or the
// unchanged tat, false and the wait until a token is available.
func (b *bucket) take(tat, now int64) (next int64, ok bool, wait int64) {
	base := max(tat, now)
	next = base + b.interval
	if over := next - now - b.tolerance; over > 0 {
		return tat, false, over
	}
	return next, true, 0
}

// remaining is the number of whole tokens left at now.
func (b *bucket) remaining(tat, now int64) int {
	debt := tat - now
	if debt <= 0 {
		return b.burst
	}
	return int((b.tolerance - debt) / b.interval)
}

// untilFull is the time until the bucket is full again.
func (b *bucket) untilFull(tat, now int64) int64 { return max(tat-now, 0) }

// clamp limits a tat taken from elsewhere (the sketch, another policy) to an
// empty bucket: nothing may start out deeper in debt than its own burst.
func (b *bucket) clamp(tat, now int64) int64 { return min(tat, now+b.tolerance) }

// convert re-expresses tat, a bucket of b at instant at, as a bucket of to
// holding the same number of tokens (capped at to's burst). This is what
// rate.Limiter does on SetLimitAt and SetBurstAt.
func (b *bucket) convert(tat, at int64, to *bucket) int64 {
	debt := tat - at
	if debt <= 0 {
		return tat
	}
	tokens := float64(b.tolerance-debt) / float64(b.interval)
	tokens = min(max(tokens, 0), float64(to.burst))
	newDebt := (float64(to.burst) - tokens) * float64(to.interval)
	if newDebt >= float64(to.tolerance) {
		return at + to.tolerance
	}
	return at + int64(newDebt)
}

// window is the time the bucket takes to refill from empty, in whole seconds
// (at least 1): the w parameter of RateLimit-Policy.
func (b *bucket) window() int64 {
	return max(nsToCeilSeconds(b.tolerance), 1)
}

// nsToCeilSeconds rounds a nanosecond count up to whole seconds.
func nsToCeilSeconds(ns int64) int64 {
	if ns <= 0 {
		return 0
	}
	return (ns-1)/int64(time.Second) + 1
}
