package breaker

import (
	"testing"
	"time"
)

// BenchmarkBreakerAllowDone is the forward path: a closed breaker admitting
// and recording successes from every core, on the real clock.
func BenchmarkBreakerAllowDone(b *testing.B) {
	br := New(Config{
		ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20,
		Window: 10 * time.Second, OpenFor: 5 * time.Second,
		HalfOpenRequests: 1,
	})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, err := br.Allow()
			if err != nil {
				b.Fatal(err)
			}
			br.Done(tok, Success)
		}
	})
}

// BenchmarkBreakerAllowOpen is the refusal path while open: a clock check
// and the *OpenError.
func BenchmarkBreakerAllowOpen(b *testing.B) {
	br := New(Config{ConsecutiveFailures: 1, MinRequests: 1, OpenFor: time.Hour, HalfOpenRequests: 1})
	tok, _ := br.Allow()
	br.Done(tok, Failure)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.Allow(); err == nil {
				b.Fatal("admitted while open")
			}
		}
	})
}

// BenchmarkBreakerReady is the balancer's check.
func BenchmarkBreakerReady(b *testing.B) {
	br := New(Config{ConsecutiveFailures: 5, MinRequests: 1, HalfOpenRequests: 1})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !br.Ready() {
				b.Fatal("not ready")
			}
		}
	})
}
