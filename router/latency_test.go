package router

import (
	"testing"
	"time"
)

func TestLatencyBucket(t *testing.T) {
	tests := []struct {
		give time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{3 * time.Microsecond, 3},
		{4 * time.Microsecond, 4},
		{7 * time.Microsecond, 7},
		{8 * time.Microsecond, 8},
		{10 * time.Microsecond, 9},
		{11 * time.Microsecond, 9},
		{time.Millisecond, 35}, // 1000µs: msb 9, (9-1)*4 + (1000>>7)&3
		{time.Hour, NumLatencyBuckets - 1},
	}
	for _, tt := range tests {
		if got := latencyBucket(tt.give); got != tt.want {
			t.Errorf("latencyBucket(%v) = %d, want %d", tt.give, got, tt.want)
		}
	}
}

// Every bucket's bounds hold exactly the latencies that map to it.
func TestLatencyBucketBounds(t *testing.T) {
	for i := 0; i < NumLatencyBuckets-1; i++ {
		lo, hi := LatencyBucketLow(i), LatencyBucketLow(i+1)
		if hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) empty", i, lo, hi)
		}
		if got := latencyBucket(lo); got != i {
			t.Errorf("latencyBucket(%v) = %d, want %d", lo, got, i)
		}
		if got := latencyBucket(hi - time.Microsecond); got != i {
			t.Errorf("latencyBucket(%v) = %d, want %d", hi-time.Microsecond, got, i)
		}
	}
}

func BenchmarkLatencyObserve(b *testing.B) {
	var h latencyHist
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 1500 * time.Microsecond
		for pb.Next() {
			h.observe(d)
		}
	})
}
