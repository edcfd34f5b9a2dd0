package admin

import "github.com/bulwark-router/bulwark/router"

const (
	// historyLen is how many one-second samples the charts keep.
	historyLen = 300
	// rateWindow is the span of the req/s, errors/s and refusals/s figures.
	rateWindow = 10
	// latWindow is the span of the error rate and latency quantiles.
	latWindow = 60
)

// series is a ring of per-second values, the oldest overwritten. Its zero
// value is empty. Not safe for concurrent use.
type series struct {
	v [historyLen]float64
	n int // values ever added
}

func (s *series) add(x float64) {
	s.v[s.n%historyLen] = x
	s.n++
}

// sum is the sum of the last w values and how many there were.
func (s *series) sum(w int) (total float64, k int) {
	k = min(w, s.n, historyLen)
	for i := 1; i <= k; i++ {
		total += s.v[(s.n-i)%historyLen]
	}
	return total, k
}

// mean is the average of the last w values, 0 when there are none.
func (s *series) mean(w int) float64 {
	t, k := s.sum(w)
	if k == 0 {
		return 0
	}
	return t / float64(k)
}

// values returns the ring oldest first.
func (s *series) values() []float64 {
	k := min(s.n, historyLen)
	out := make([]float64, k)
	for i := range k {
		out[i] = s.v[(s.n-k+i)%historyLen]
	}
	return out
}

// latRing keeps the cumulative latency histograms of the last latWindow+1
// samples, so the last minute's is the newest minus the oldest.
type latRing struct {
	v [latWindow + 1]router.LatencyCounts
	n int
}

func (r *latRing) add(c *router.LatencyCounts) {
	r.v[r.n%len(r.v)] = *c
	r.n++
}

// window adds the histogram of the last latWindow seconds into dst.
func (r *latRing) window(dst *router.LatencyCounts) {
	if r.n == 0 {
		return
	}
	newest := &r.v[(r.n-1)%len(r.v)]
	oldest := &r.v[max(r.n-len(r.v), 0)%len(r.v)]
	for i := range dst {
		if newest[i] >= oldest[i] {
			dst[i] += newest[i] - oldest[i]
		}
	}
}

// quantile estimates the q-quantile (0..1) of h in milliseconds,
// interpolating inside the bucket; ok is false for an empty histogram.
func quantile(h *router.LatencyCounts, q float64) (ms float64, ok bool) {
	var total uint64
	for _, c := range h {
		total += c
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := router.LatencyBucketLow(i), router.LatencyBucketLow(i+1)
			frac := (rank - seen) / float64(c)
			d := float64(lo) + frac*float64(hi-lo)
			return d / 1e6, true
		}
		seen += float64(c)
	}
	return float64(router.LatencyBucketLow(len(h))) / 1e6, true
}
