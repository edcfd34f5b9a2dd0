package admin

import (
	"slices"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/router"
)

func TestSeries(t *testing.T) {
	var s series
	if s.mean(10) != 0 || len(s.values()) != 0 {
		t.Fatal("empty series not empty")
	}
	for i := range historyLen + 5 {
		s.add(float64(i))
	}
	v := s.values()
	if len(v) != historyLen || v[0] != 5 || v[historyLen-1] != historyLen+4 {
		t.Fatalf("values: len %d, first %v, last %v", len(v), v[0], v[len(v)-1])
	}
	// The last 10 values are 295..304.
	if got := s.mean(10); got != 299.5 {
		t.Errorf("mean(10) = %v, want 299.5", got)
	}
}

func TestQuantile(t *testing.T) {
	bucket := func(d time.Duration) int {
		for i := range router.NumLatencyBuckets {
			if router.LatencyBucketLow(i+1) > d {
				return i
			}
		}
		return router.NumLatencyBuckets - 1
	}
	var h router.LatencyCounts
	h[bucket(time.Millisecond)] = 98 // 98 fast
	h[bucket(100*time.Millisecond)] = 2
	tests := []struct {
		q    float64
		want time.Duration // the answer lies in this latency's bucket
	}{
		{0.5, time.Millisecond},
		{0.98, time.Millisecond},
		{0.99, 100 * time.Millisecond},
		{1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		i := bucket(tt.want)
		lo, hi := ms(router.LatencyBucketLow(i)), ms(router.LatencyBucketLow(i+1))
		got, ok := quantile(&h, tt.q)
		if !ok || got < lo || got > hi {
			t.Errorf("quantile(%v) = %v, %v; want in [%v, %v]", tt.q, got, ok, lo, hi)
		}
	}
	var empty router.LatencyCounts
	if _, ok := quantile(&empty, 0.5); ok {
		t.Error("quantile of nothing")
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func TestLatRingWindow(t *testing.T) {
	var r latRing
	var c router.LatencyCounts
	for i := range latWindow + 10 {
		c[3] = uint64(i) // one more each second
		r.add(&c)
	}
	var w router.LatencyCounts
	r.window(&w)
	if w[3] != latWindow {
		t.Errorf("window = %d, want %d", w[3], latWindow)
	}
	if !slices.Equal(w[:3], []uint64{0, 0, 0}) {
		t.Error("other buckets filled")
	}
}
