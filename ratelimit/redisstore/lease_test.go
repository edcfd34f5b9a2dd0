package redisstore

import (
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
)

// TestLeasePrefetch: after the first renewal, a client spending its slice
// is never sent to Redis by Spend: each slice running low is topped up in
// the background. The lease never holds more than one slice.
func TestLeasePrefetch(t *testing.T) {
	srv := redistest.Start(t)
	// Default timeout, 250ms: a loaded machine's first dial.
	s := newStoreCfg(t, &config.LimitStore{URL: srv.URL()})
	b := Bucket{Key: "prefetch", Interval: int64(time.Millisecond), Tolerance: int64(time.Second)} // 1000/s, burst 1000
	l := &Lease{}
	now := int64(1e12)
	if r, err := s.Renew(l, now, b, Bucket{}, 50); err != nil || !r.Allowed || r.Remaining != 49 {
		t.Fatalf("renew: %+v, %v", r, err)
	}
	prefetches := 0
	for i := range 400 {
		now += int64(10 * time.Microsecond)
		r, ok, pre := s.Spend(l, now)
		if !ok || !r.Allowed {
			t.Fatalf("spend %d: ok %v, %+v: the slice ran out", i, ok, r)
		}
		if pre {
			prefetches++
			s.Prefetch(l, now, b, Bucket{})
			deadline := time.Now().Add(5 * time.Second)
			for {
				l.mu.Lock()
				fetching, left := l.fetching, l.left
				l.mu.Unlock()
				if left > 50 {
					t.Fatalf("lease holds %d, more than a slice", left)
				}
				if !fetching {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("prefetch not done within 5s")
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	if prefetches < 400/50 || s.Ops() != uint64(1+prefetches) || s.Errors() != 0 {
		t.Fatalf("%d prefetches, %d ops, %d errors", prefetches, s.Ops(), s.Errors())
	}
}
