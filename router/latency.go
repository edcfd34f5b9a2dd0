package router

import (
	"math/bits"
	"slices"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
)

// NumLatencyBuckets is the size of a target's latency histogram: four
// buckets per power of two of microseconds, from 1µs to about 2 minutes
// (the last bucket holds everything slower).
const NumLatencyBuckets = 104

// LatencyCounts is a cumulative latency histogram: element i counts the
// attempts whose latency fell in [LatencyBucketLow(i), LatencyBucketLow(i+1)).
type LatencyCounts [NumLatencyBuckets]uint64

// latencyHist is a target's histogram of upstream latency. Observe is one
// atomic add, no allocation; safe for concurrent use. Its zero value is
// empty and ready.
type latencyHist [NumLatencyBuckets]atomic.Uint64

func (h *latencyHist) observe(d time.Duration) {
	h[latencyBucket(d)].Add(1)
}

func (h *latencyHist) load(dst *LatencyCounts) {
	for i := range h {
		dst[i] = h[i].Load()
	}
}

// latencyBucket maps d to its bucket: below 4µs one bucket per
// microsecond, then four per power of two.
func latencyBucket(d time.Duration) int {
	us := uint64(max(d/time.Microsecond, 0))
	if us < 4 {
		return int(us)
	}
	msb := bits.Len64(us) - 1
	i := (msb-1)*4 + int(us>>(msb-2)&3)
	return min(i, NumLatencyBuckets-1)
}

// LatencyBucketLow is the lowest latency counted in bucket i; i may be
// NumLatencyBuckets, the end of the last finite bucket.
func LatencyBucketLow(i int) time.Duration {
	if i < 4 {
		return time.Duration(i) * time.Microsecond
	}
	msb, sub := i/4+1, i%4
	return time.Duration((4+sub)<<(msb-2)) * time.Microsecond
}

// TargetStatus is a point-in-time view of one target, for the status page.
// Counters are cumulative since the target was built (a reload that
// changes its backend's config starts them again).
type TargetStatus struct {
	URL    string
	Weight int  // config weight, 1..1000
	Backup bool // serves only while no primary is ready
	// Up is the active health checks' verdict (true when checks are off).
	Up         bool
	Breaker    breaker.State
	RetryAfter time.Duration // until half-open; 0 unless open
	InFlight   int64
	Requests   uint64 // attempts sent
	Failures   uint64 // attempts that failed (connect, 5xx-less breakage)
	Latency    LatencyCounts
}

// BackendStatus is a point-in-time view of one backend and its targets.
type BackendStatus struct {
	Name string
	// Breaker is the backend-level breaker (all targets failing).
	Breaker     breaker.State
	RetryAfter  time.Duration
	MaxInFlight int // 0: unbounded
	Targets     []TargetStatus
}

// Status appends the state of every backend, sorted by name, to dst and
// returns it. It reads atomic counters only (an open breaker past its open
// time turns half-open on the way); safe for concurrent use, meant for a
// sampler once a second, not the request path.
func (rt *Router) Status(dst []BackendStatus) []BackendStatus {
	t := rt.table.Load()
	if t == nil {
		return dst
	}
	start := len(dst)
	for _, b := range t.backends {
		bs := BackendStatus{Name: b.name, Breaker: b.breaker.State(),
			RetryAfter: b.breaker.RetryAfter(), MaxInFlight: b.cfg.MaxInFlight,
			Targets: make([]TargetStatus, len(b.targets))}
		for i, tg := range b.targets {
			ts := &bs.Targets[i]
			ts.URL = tg.raw
			ts.Weight, ts.Backup = int(tg.weight), tg.backup
			ts.Up = !tg.down.Load()
			ts.Breaker = tg.breaker.State()
			ts.RetryAfter = tg.breaker.RetryAfter()
			ts.InFlight = tg.inFlight.Load()
			ts.Requests = tg.requests.Load()
			ts.Failures = tg.failures.Load()
			tg.lat.load(&ts.Latency)
		}
		dst = append(dst, bs)
	}
	slices.SortFunc(dst[start:], func(a, b BackendStatus) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return dst
}

// Info is the build the router reports at /__version__.
func (rt *Router) Info() BuildInfo { return rt.info }

// ConfigVersion is the generation of the table being served (1 for the
// first config, one more for each successful reload) and when it was
// loaded.
func (rt *Router) ConfigVersion() (version uint64, loadedAt time.Time) {
	t := rt.table.Load()
	if t == nil {
		return 0, time.Time{}
	}
	return t.version, t.loadedAt
}

// Listeners returns the addresses the public and admin listeners are bound
// to; "" for one that is not open (before Start, or admin off).
func (s *Server) Listeners() (public, admin string) {
	if s.pubLn != nil {
		public = s.pubLn.Addr().String()
	}
	if s.admLn != nil {
		admin = s.admLn.Addr().String()
	}
	return public, admin
}
