package stats

import (
	"github.com/bulwark-router/bulwark/router/breaker"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Declared routes and backends have their series at zero before any
// request; a forgotten backend's breaker series goes.
func TestDeclareSeries(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	s.DeclareRoute("api", "app")
	s.DeclareBackend("app")
	s.BreakerState("app", "", breaker.StateClosed)
	for _, tt := range []struct {
		name string
		want int
	}{
		{"bulwark_requests_total", 1},
		{"bulwark_request_duration_seconds", 1},
		{"bulwark_queue_wait_seconds", 1},
		{"bulwark_circuit_state", 1},
		{"bulwark_rejections_total", len(contractReasons) + 1}, // too_many_in_flight is this build's own
	} {
		if n := testutil.CollectAndCount(s.Registry(), tt.name); n != tt.want {
			t.Errorf("%s: %d series, want %d", tt.name, n, tt.want)
		}
	}
	if err := testutil.GatherAndCompare(s.Registry(), strings.NewReader(`# HELP bulwark_requests_total Requests answered, by route, backend and status code.
# TYPE bulwark_requests_total counter
bulwark_requests_total{backend="app",code="200",route="api"} 0
`), "bulwark_requests_total"); err != nil {
		t.Error(err)
	}
	s.Forget("app", "")
	if n := testutil.CollectAndCount(s.Registry(), "bulwark_circuit_state"); n != 0 {
		t.Errorf("circuit state after Forget: %d series", n)
	}
}
