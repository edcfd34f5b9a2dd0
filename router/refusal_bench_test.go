package router

import (
	"net/http"
	"testing"

	"github.com/bulwark-router/bulwark/config"
)

// nullWriter is a reusable ResponseWriter, so the benchmark counts the
// router's own allocations on the refusal path.
type nullWriter struct{ h http.Header }

func (d *nullWriter) Header() http.Header         { return d.h }
func (d *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *nullWriter) WriteHeader(int)             {}

func newRefusalRouter(tb testing.TB, extra string) *Router {
	cfg, err := config.Load([]byte(`
log: {access: false}
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - {match: {path_prefix: /limited}, backend: app, limit: tight}
  - {backend: app}
limits:
  tight: {rate: 1/h, burst: 1}
` + extra))
	if err != nil {
		tb.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkRefusalPath measures answers the router makes itself: a denied
// client (403) and a rate-limited one (429), in process.
func BenchmarkRefusalPath(b *testing.B) {
	for _, tc := range []struct{ name, extra, path string }{
		{"denied", "abuse: {deny: [192.0.2.0/24]}\n", "/"},
		{"rate_limited", "", "/limited"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt := newRefusalRouter(b, tc.extra)
			req, _ := http.NewRequest("GET", "http://x"+tc.path, nil)
			req.RemoteAddr = "192.0.2.1:1234"
			w := &nullWriter{h: http.Header{}}
			rt.ServeHTTP(w, req) // spend the burst
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clear(w.h)
				rt.ServeHTTP(w, req)
			}
		})
	}
}
