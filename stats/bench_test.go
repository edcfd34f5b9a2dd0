package stats

import (
	"testing"
	"time"

	"go.uber.org/zap"
)

// benchStats builds a recorder with Prometheus on and, when statsd is set,
// statsd pointed at a real UDP socket on loopback that nobody reads (the
// kernel drops what overflows its buffer, as with a slow statsd).
func benchStats(b *testing.B, statsd bool) *Stats {
	b.Helper()
	cfg := statsdConfig("", "browserid.router")
	if statsd {
		cfg.Statsd.Address = listenUDP(b).addr()
	}
	s, err := New(cfg, nil, BuildInfo{}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchRequest is a typical Persona request: a per_api route, a backend
// that answered.
func benchRequest(i int) Request {
	apis := []string{"session_context", "address_info", "list_emails", "have_email"}
	return Request{
		Route: "wsapi", Backend: "browserid", Code: 200,
		Duration: 1234 * time.Microsecond, API: apis[i%len(apis)], BackendLatency: 987 * time.Microsecond,
	}
}

func BenchmarkRecordRequest(b *testing.B) {
	s := benchStats(b, true)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		r := benchRequest(0)
		for pb.Next() {
			r.API = benchRequest(i).API
			i++
			s.Request(&r)
		}
	})
}

func BenchmarkRecordRequestPrometheusOnly(b *testing.B) {
	s := benchStats(b, false)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := benchRequest(0)
		for pb.Next() {
			s.Request(&r)
		}
	})
}

func BenchmarkRecordRejected(b *testing.B) {
	s := benchStats(b, true)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Rejected(RateLimit)
		}
	})
}

func BenchmarkRecordInFlight(b *testing.B) {
	s := benchStats(b, true)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.InFlight(1)
			s.InFlight(-1)
		}
	})
}

// TestRecordRequestAllocs pins the hot path's allocations: none.
func TestRecordRequestAllocs(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig(l.addr(), "browserid.router"))
	r := benchRequest(0)
	s.Request(&r) // resolve the caches
	if n := testing.AllocsPerRun(1000, func() { s.Request(&r) }); n != 0 {
		t.Errorf("Request allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { s.Rejected(Banned) }); n != 0 {
		t.Errorf("Rejected allocates %v times per call, want 0", n)
	}
}
