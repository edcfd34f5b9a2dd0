package stats

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Multi hands every event to each recorder.
func TestMulti(t *testing.T) {
	a, b := newStats(t, statsdConfig("", "")), newStats(t, statsdConfig("", ""))
	m := Multi{a, Nop{}, b}
	recordMix(m)
	for _, s := range []*Stats{a, b} {
		if err := testutil.GatherAndCompare(s.Registry(), strings.NewReader(mixMetrics),
			"bulwark_requests_total", "bulwark_rejections_total", "bulwark_circuit_state", "bulwark_backend_up",
			"bulwark_in_flight_requests", "bulwark_queue_wait_seconds", "bulwark_tracked_clients",
			"bulwark_bans_active", "bulwark_under_attack"); err != nil {
			t.Error(err)
		}
	}
}
