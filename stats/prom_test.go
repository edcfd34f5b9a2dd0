package stats

import (
	"bytes"
	"github.com/bulwark-router/bulwark/router/breaker"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

// mixMetrics is what recordMix leaves in Prometheus.
const mixMetrics = `
# HELP bulwark_backend_up 1 when the target passes its health checks, else 0.
# TYPE bulwark_backend_up gauge
bulwark_backend_up{backend="browserid",target="http://10.0.0.3:8080"} 1
bulwark_backend_up{backend="verifier",target="http://10.0.0.1:8080"} 0
# HELP bulwark_bans_active Clients currently banned.
# TYPE bulwark_bans_active gauge
bulwark_bans_active 3
# HELP bulwark_build_info Always 1; the labels say which build is running.
# TYPE bulwark_build_info gauge
bulwark_build_info{commit="abc123",version="1.2.3"} 1
# HELP bulwark_circuit_state Circuit breaker state: 0 closed, 1 half-open, 2 open.
# TYPE bulwark_circuit_state gauge
bulwark_circuit_state{backend="verifier",target="http://10.0.0.1:8080"} 2
bulwark_circuit_state{backend="verifier",target="http://10.0.0.2:8080"} 0
# HELP bulwark_in_flight_requests Requests being served.
# TYPE bulwark_in_flight_requests gauge
bulwark_in_flight_requests 1
# HELP bulwark_log_dropped_total Log lines dropped by sampling.
# TYPE bulwark_log_dropped_total counter
bulwark_log_dropped_total 0
# HELP bulwark_queue_wait_seconds Time requests waited in a backend's admission queue.
# TYPE bulwark_queue_wait_seconds histogram
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.0001"} 0
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.00025"} 0
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.0005"} 0
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.001"} 0
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.0025"} 0
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.005"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.01"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.025"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.05"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.1"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.25"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="0.5"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="1"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="2.5"} 1
bulwark_queue_wait_seconds_bucket{backend="browserid",le="+Inf"} 1
bulwark_queue_wait_seconds_sum{backend="browserid"} 0.00390625
bulwark_queue_wait_seconds_count{backend="browserid"} 1
# HELP bulwark_rejections_total Requests the router refused itself, by reason.
# TYPE bulwark_rejections_total counter
bulwark_rejections_total{reason="bad_request"} 0
bulwark_rejections_total{reason="banned"} 1
bulwark_rejections_total{reason="body_too_large"} 0
bulwark_rejections_total{reason="challenge"} 0
bulwark_rejections_total{reason="circuit_open"} 0
bulwark_rejections_total{reason="denied"} 0
bulwark_rejections_total{reason="h2_abuse"} 0
bulwark_rejections_total{reason="network_limit"} 0
bulwark_rejections_total{reason="no_target"} 0
bulwark_rejections_total{reason="overload"} 0
bulwark_rejections_total{reason="queue_full"} 0
bulwark_rejections_total{reason="rate_limit"} 2
bulwark_rejections_total{reason="rule"} 0
bulwark_rejections_total{reason="slow_body"} 0
bulwark_rejections_total{reason="too_many_conns"} 0
bulwark_rejections_total{reason="too_many_in_flight"} 0
# HELP bulwark_request_duration_seconds Time from request to response as the client saw it.
# TYPE bulwark_request_duration_seconds histogram
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.0005"} 1
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.001"} 1
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.0025"} 1
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.005"} 1
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.01"} 1
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.025"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.05"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.1"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.25"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="0.5"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="1"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="2.5"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="5"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="10"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="30"} 2
bulwark_request_duration_seconds_bucket{backend="",route="",le="+Inf"} 2
bulwark_request_duration_seconds_sum{backend="",route=""} 0.015625
bulwark_request_duration_seconds_count{backend="",route=""} 2
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.0005"} 0
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.001"} 0
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.0025"} 1
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.005"} 1
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.01"} 2
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.025"} 2
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.05"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.1"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.25"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="0.5"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="1"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="2.5"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="5"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="10"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="30"} 3
bulwark_request_duration_seconds_bucket{backend="browserid",route="wsapi",le="+Inf"} 3
bulwark_request_duration_seconds_sum{backend="browserid",route="wsapi"} 0.041015625
bulwark_request_duration_seconds_count{backend="browserid",route="wsapi"} 3
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.0005"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.001"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.0025"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.005"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.01"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.025"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.05"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.1"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.25"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="0.5"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="1"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="2.5"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="5"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="10"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="30"} 1
bulwark_request_duration_seconds_bucket{backend="verifier",route="verify",le="+Inf"} 1
bulwark_request_duration_seconds_sum{backend="verifier",route="verify"} 0.0005
bulwark_request_duration_seconds_count{backend="verifier",route="verify"} 1
# HELP bulwark_requests_total Requests answered, by route, backend and status code.
# TYPE bulwark_requests_total counter
bulwark_requests_total{backend="",code="404",route=""} 1
bulwark_requests_total{backend="",code="other",route=""} 1
bulwark_requests_total{backend="browserid",code="200",route="wsapi"} 3
bulwark_requests_total{backend="verifier",code="503",route="verify"} 1
# HELP bulwark_tracked_clients Clients in the admission table.
# TYPE bulwark_tracked_clients gauge
bulwark_tracked_clients 42
# HELP bulwark_under_attack 1 while attack mode is on, else 0.
# TYPE bulwark_under_attack gauge
bulwark_under_attack 1
`

// bulwarkNames are every bulwark metric family.
var bulwarkNames = []string{
	"bulwark_backend_up", "bulwark_bans_active", "bulwark_build_info", "bulwark_circuit_state",
	"bulwark_in_flight_requests", "bulwark_log_dropped_total", "bulwark_queue_wait_seconds",
	"bulwark_rejections_total", "bulwark_request_duration_seconds", "bulwark_requests_total",
	"bulwark_statsd_dropped_total", "bulwark_tracked_clients", "bulwark_under_attack",
}

func TestPrometheusAfterMix(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(statsdConfig("", ""), reg, BuildInfo{Version: "1.2.3", Commit: "abc123"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recordMix(s)
	var names []string
	for _, n := range bulwarkNames {
		if n != "bulwark_statsd_dropped_total" {
			names = append(names, n)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(mixMetrics), names...); err != nil {
		t.Error(err)
	}
}

func TestPrometheusLabelsBounded(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	for _, tt := range []struct {
		give int
		want string
	}{
		{99, "other"}, {100, "100"}, {200, "200"}, {599, "599"}, {600, "other"}, {-1, "other"}, {0, "other"}, {1 << 40, "other"},
	} {
		s.Request(&Request{Route: "r", Backend: "b", Code: tt.give})
		if got := CodeLabel(tt.give); got != tt.want {
			t.Errorf("CodeLabel(%d) = %q, want %q", tt.give, got, tt.want)
		}
	}
	want := `
# HELP bulwark_requests_total Requests answered, by route, backend and status code.
# TYPE bulwark_requests_total counter
bulwark_requests_total{backend="b",code="100",route="r"} 1
bulwark_requests_total{backend="b",code="200",route="r"} 1
bulwark_requests_total{backend="b",code="599",route="r"} 1
bulwark_requests_total{backend="b",code="other",route="r"} 5
`
	if err := testutil.GatherAndCompare(s.Registry(), strings.NewReader(want), "bulwark_requests_total"); err != nil {
		t.Error(err)
	}
	s.Rejected(Reason(200))
	if got := testutil.ToFloat64(s.prom.rejections.WithLabelValues("unknown")); got != 1 {
		t.Errorf("out-of-range reason counted %v times under unknown", got)
	}
}

func TestForgetTarget(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	s.BackendUp("b", "t1", true)
	s.BackendUp("b", "t2", true)
	s.BreakerState("b", "t1", breaker.StateOpen)
	s.Forget("b", "t1")
	want := `
# HELP bulwark_backend_up 1 when the target passes its health checks, else 0.
# TYPE bulwark_backend_up gauge
bulwark_backend_up{backend="b",target="t2"} 1
`
	if err := testutil.GatherAndCompare(s.Registry(), strings.NewReader(want), "bulwark_backend_up", "bulwark_circuit_state"); err != nil {
		t.Error(err)
	}
}

func TestRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	// The caller may have registered the runtime collectors already.
	reg.MustRegister(collectors.NewGoCollector())
	s, err := New(statsdConfig("", ""), reg, BuildInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A second recorder on the same registry is refused, not a panic.
	if _, err := New(statsdConfig("", ""), reg, BuildInfo{}, nil); err == nil {
		t.Fatal("second New on one registry: no error")
	}
	want := `
# HELP bulwark_build_info Always 1; the labels say which build is running.
# TYPE bulwark_build_info gauge
bulwark_build_info{commit="unknown",version="unknown"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "bulwark_build_info"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var goMetrics, processMetrics bool
	for _, mf := range mfs {
		goMetrics = goMetrics || strings.HasPrefix(mf.GetName(), "go_")
		processMetrics = processMetrics || strings.HasPrefix(mf.GetName(), "process_")
	}
	if !goMetrics || !processMetrics {
		t.Errorf("go collector %v, process collector %v; want both", goMetrics, processMetrics)
	}
}

func scrape(t *testing.T, h http.Handler) (int, []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestHandler(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	recordMix(s)
	code, body := scrape(t, s.Handler())
	if code != 200 || !bytes.Contains(body, []byte(`bulwark_requests_total{backend="browserid",code="200",route="wsapi"} 3`)) {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	cfg := statsdConfig("", "")
	cfg.Prometheus = false
	if err := s.Update(cfg); err != nil {
		t.Fatal(err)
	}
	if code, _ := scrape(t, s.Handler()); code != 404 {
		t.Errorf("/metrics with prometheus disabled: %d, want 404", code)
	}
}

// promtool, Prometheus' own linter, accepts the exposition.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := promtoolPath(t)
	s := newStats(t, statsdConfig("", ""))
	recordMix(s)
	s.LogDropped()
	_, body := scrape(t, s.Handler())
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
