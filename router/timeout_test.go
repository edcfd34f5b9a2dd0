package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRouteResponseTimeout: a route's timeouts.response replaces its
// backend's response_timeout, shorter or longer, on both transports; its
// 504 counts against the target as the backend's own timeout does.
func TestRouteResponseTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Backend", "slow")
	}))
	t.Cleanup(slow.Close)
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			srv, base := startRouter(t, fmt.Sprintf(`
backends:
  app:
    targets: ["%[1]s"]
    transport: %[2]s
    breaker: {disabled: true}
  tight:
    targets: ["%[1]s"]
    transport: %[2]s
    response_timeout: 100ms
    breaker: {disabled: true}
routes:
  - match: {path: /short}
    backend: app
    timeouts: {response: 100ms}
  - match: {path: /default}
    backend: app
  - match: {path: /long}
    backend: tight
    timeouts: {response: 2s}
  - match: {path: /tight}
    backend: tight
`, slow.URL, transport))
			failures := func(backend string) uint64 {
				for _, b := range srv.Router().Status(nil) {
					if b.Name == backend {
						return b.Targets[0].Failures
					}
				}
				t.Fatalf("no backend %s", backend)
				return 0
			}
			tests := []struct {
				path, backend string
				want          int
				wantFailures  uint64
			}{
				{"/short", "app", 504, 1},   // shorter than the backend's 30s
				{"/default", "app", 200, 1}, // same backend, no override
				{"/tight", "tight", 504, 1}, // the backend's own 100ms, as before
				{"/long", "tight", 200, 1},  // longer than the backend's 100ms
				{"/short", "app", 504, 2},
			}
			for _, tt := range tests {
				code, _, _ := get(t, nil, "GET", base+tt.path, "", nil)
				if code != tt.want {
					t.Errorf("%s: %d, want %d", tt.path, code, tt.want)
				}
				if got := failures(tt.backend); got != tt.wantFailures {
					t.Errorf("after %s: %s has %d failures, want %d", tt.path, tt.backend, got, tt.wantFailures)
				}
			}
		})
	}
}
