package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/router"
)

// startServer runs a real router and server for yaml on loopback ports,
// with rec as its recorder.
func startServer(t *testing.T, yaml string, rec *Recorder) *router.Server {
	t.Helper()
	if !strings.Contains(yaml, "admin:") {
		yaml = "admin: {listen: 127.0.0.1:0}\n" + yaml
	}
	yaml = "listen: 127.0.0.1:0\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := zaptest.NewLogger(t)
	rt, err := router.New(cfg, router.Options{Logger: log, Recorder: rec,
		Info: router.BuildInfo{Version: "1.2.3", Commit: "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := router.NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv
}

// get sends n GETs to url as client (X-Forwarded-For from a trusted peer)
// and returns the status codes seen.
func get(t *testing.T, url, client string, n int) map[int]int {
	t.Helper()
	return testutil.GetAs(t, http.DefaultClient, url, client, n)
}

// TestStatusKnownTraffic sends a known mix through a real router and
// checks every field of the status document at fixed sampling instants.
func TestStatusKnownTraffic(t *testing.T) {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fast") }))
	defer fast.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // the backend's work: its latency is what is measured
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	dead := testutil.FreeAddr(t)

	clk := &testutil.Clock{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk.Set(t0)
	rec := NewRecorder(nil, clk.Now)
	srv := startServer(t, fmt.Sprintf(`
client_ip: {trusted_proxies: [127.0.0.1/32]}
limits:
  strict: {rate: 1/m, burst: 2}
abuse:
  ban: {after_rejections: 3, within: 1m, duration: 10m}
backends:
  fast: {targets: [%s]}
  slow: {targets: [%s]}
  dead:
    targets: [http://%s]
    retries: 0
    breaker: {consecutive_failures: 3, failure_ratio: 0, open_for: 1m}
routes:
  - {match: {path_prefix: /slow}, backend: slow}
  - {match: {path_prefix: /dead}, backend: dead}
  - {match: {path_prefix: /limited}, backend: fast, limit: strict}
  - {backend: fast}
`, fast.URL, slow.URL, dead), rec)
	s := newSampler(srv, rec, WithClock(clk.Now), WithStarted(t0.Add(-5*time.Second)))
	base := "http://" + srv.Addr().String()

	// One second of traffic.
	clk.Advance(500 * time.Millisecond)
	get(t, base+"/", "10.0.0.1", 10)
	get(t, base+"/slow", "10.0.0.1", 4)
	if c := get(t, base+"/dead", "10.0.0.1", 5); c[502] != 3 || c[503] != 2 {
		t.Fatalf("dead backend answered %v, want 3×502 then 2×503", c)
	}
	if c := get(t, base+"/limited", "10.0.0.9", 6); c[200] != 2 || c[429] != 3 || c[403] != 1 {
		t.Fatalf("limited client got %v, want 2×200, 3×429, then 403 (banned)", c)
	}
	clk.Set(t0.Add(time.Second))
	s.sample(clk.Now())
	st := s.Status()

	// Build, config, uptime, listeners.
	if st.Build.Version != "1.2.3" || st.Build.Commit != "abc" || st.Build.Go == "" {
		t.Errorf("build = %+v", st.Build)
	}
	if st.Config.Version != 1 || st.Config.LoadedAt.IsZero() {
		t.Errorf("config = %+v", st.Config)
	}
	if st.UptimeS != 6 || !st.Now.Equal(t0.Add(time.Second)) || !st.SampledAt.Equal(t0.Add(time.Second)) {
		t.Errorf("uptime %v, now %v, sampled %v", st.UptimeS, st.Now, st.SampledAt)
	}
	if st.Listeners.Public != srv.Addr().String() || st.Listeners.Admin != srv.AdminAddr().String() {
		t.Errorf("listeners = %+v", st.Listeners)
	}
	if st.Draining || st.InFlight != 0 {
		t.Errorf("draining %v, in flight %d", st.Draining, st.InFlight)
	}

	// Backends, sorted by name, with their targets.
	if len(st.Backends) != 3 {
		t.Fatalf("%d backends", len(st.Backends))
	}
	byName := map[string]Backend{}
	for _, b := range st.Backends {
		byName[b.Name] = b
	}
	if st.Backends[0].Name != "dead" || st.Backends[1].Name != "fast" || st.Backends[2].Name != "slow" {
		t.Errorf("order: %s %s %s", st.Backends[0].Name, st.Backends[1].Name, st.Backends[2].Name)
	}
	tests := []struct {
		backend            string
		up                 bool
		breaker            string
		requests, failures uint64
		reqPerSec, errRate float64
		// p50Min allows for the histogram's resolution: four buckets per
		// power of two, so an estimate may sit up to ~16% under the truth.
		p50Min, p50Max float64 // ms
	}{
		{"fast", true, "closed", 12, 0, 12, 0, 0, 100},
		{"slow", true, "closed", 4, 0, 4, 0, 16, 500},
		{"dead", false, "open", 3, 3, 3, 1, 0, 1000},
	}
	for _, tt := range tests {
		b := byName[tt.backend]
		if len(b.Targets) != 1 {
			t.Fatalf("%s: %d targets", tt.backend, len(b.Targets))
		}
		for _, x := range []struct {
			what string
			up   bool
			brk  Breaker
			tr   Traffic
		}{{"backend " + tt.backend, b.Up, b.Breaker, b.Traffic}, {"target " + b.Targets[0].URL, b.Targets[0].Up, b.Targets[0].Breaker, b.Targets[0].Traffic}} {
			// Health checks are off: every target is up; the dead
			// backend is down because its breakers are open.
			wantUp := tt.up || x.what != "backend "+tt.backend
			if x.up != wantUp || x.brk.State != tt.breaker {
				t.Errorf("%s: up %v breaker %s, want %v %s", x.what, x.up, x.brk.State, wantUp, tt.breaker)
			}
			if x.tr.Requests != tt.requests || x.tr.Failures != tt.failures ||
				x.tr.ReqPerSec != tt.reqPerSec || x.tr.ErrorsPerSec != float64(tt.failures) || x.tr.ErrorRate != tt.errRate {
				t.Errorf("%s: traffic %+v, want %d requests, %d failures, %v/s, error rate %v",
					x.what, x.tr, tt.requests, tt.failures, tt.reqPerSec, tt.errRate)
			}
			if x.tr.P50Ms == nil || x.tr.P99Ms == nil || *x.tr.P50Ms < tt.p50Min || *x.tr.P50Ms > tt.p50Max || *x.tr.P99Ms < *x.tr.P50Ms {
				t.Errorf("%s: p50 %v p99 %v, want p50 in [%v, %v]", x.what, deref(x.tr.P50Ms), deref(x.tr.P99Ms), tt.p50Min, tt.p50Max)
			}
		}
		if len(b.Series.ReqPerSec) != 1 || b.Series.ReqPerSec[0] != tt.reqPerSec || b.Series.ErrorsPerSec[0] != float64(tt.failures) {
			t.Errorf("%s: series %+v", tt.backend, b.Series)
		}
	}
	// The dead target's breaker opened at the recorder's instant; the
	// backend's breaker opened with it (one target: same threshold).
	for _, brk := range []Breaker{byName["dead"].Breaker, byName["dead"].Targets[0].Breaker} {
		if !brk.Since.Equal(t0.Add(500*time.Millisecond)) || brk.ForS != 0.5 || brk.RetryAfterS <= 50 || brk.RetryAfterS > 60 {
			t.Errorf("dead breaker = %+v, want open since t0+500ms for 0.5 s, retry in about a minute", brk)
		}
	}
	if brk := byName["fast"].Breaker; !brk.Since.Equal(t0) || brk.ForS != 1 || brk.RetryAfterS != 0 {
		t.Errorf("fast breaker = %+v, want closed since the first sample", brk)
	}

	// Admission: two clients, one banned, refusals by reason.
	a := st.Admission
	if a.TrackedClients != 2 || a.Capacity != 100000 || a.ActiveBans != 1 {
		t.Errorf("admission: tracked %d capacity %d bans %d", a.TrackedClients, a.Capacity, a.ActiveBans)
	}
	wantRef := map[string]uint64{"rate_limit": 3, "banned": 1, "circuit_open": 2}
	for reason, n := range a.RefusalsTotal {
		if n != wantRef[reason] || a.RefusalsPerSec[reason] != float64(wantRef[reason]) {
			t.Errorf("refusals %s: total %d, per s %v; want %d", reason, n, a.RefusalsPerSec[reason], wantRef[reason])
		}
	}
	if len(a.RefusalsTotal) != len(a.RefusalsPerSec) || len(a.RefusalsTotal) < 10 {
		t.Errorf("reasons: %d totals, %d rates", len(a.RefusalsTotal), len(a.RefusalsPerSec))
	}
	if len(a.RefusalsSeries) != 1 || a.RefusalsSeries[0] != 6 {
		t.Errorf("refusals series %v, want [6]", a.RefusalsSeries)
	}
	if len(a.Top) != 2 || a.Top[0].Client.String() != "10.0.0.1" || a.Top[1].Client.String() != "10.0.0.9" {
		t.Fatalf("top = %+v", a.Top)
	}
	if c := a.Top[1]; c.BannedUntil.IsZero() || c.Refusals != 4 || c.Rate <= 0 {
		t.Errorf("banned client = %+v", c)
	}
	// circuit_open is the router's refusal, not the client's.
	if c := a.Top[0]; !c.BannedUntil.IsZero() || c.Refusals != 0 {
		t.Errorf("busy client = %+v", c)
	}
	if a.UnderAttack || a.Overload.Enabled || a.Overload.Saturated {
		t.Errorf("attack %v, overload %+v", a.UnderAttack, a.Overload)
	}

	// Nine quiet seconds: rates are over the last ten.
	for i := 2; i <= 10; i++ {
		clk.Set(t0.Add(time.Duration(i) * time.Second))
		s.sample(clk.Now())
	}
	st = s.Status()
	for _, b := range st.Backends {
		if b.Name == "fast" && (b.ReqPerSec != 1.2 || len(b.Series.ReqPerSec) != 10) {
			t.Errorf("fast after 10 s: %v req/s, %d samples", b.ReqPerSec, len(b.Series.ReqPerSec))
		}
	}
	if got := st.Admission.RefusalsPerSec["rate_limit"]; got != 0.3 {
		t.Errorf("rate_limit refusals/s over 10 s = %v, want 0.3", got)
	}

	// A reload is a new config generation.
	cfg, _ := srv.Config()
	if err := srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Config.Version != 2 {
		t.Errorf("config version after reload = %d", st.Config.Version)
	}
}

// TestStatusJSONSchema checks the names of every field the page and
// scripts read.
func TestStatusJSONSchema(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	rec := NewRecorder(nil, nil)
	srv := startServer(t, fmt.Sprintf("backends: {app: {targets: [%s]}}\nroutes: [{backend: app}]\n", up.URL), rec)
	s := newSampler(srv, rec)
	get(t, "http://"+srv.Addr().String()+"/", "10.0.0.1", 1)
	s.sample(time.Now())
	h := httptest.NewServer(s.StatusHandler())
	defer h.Close()
	resp, err := http.Get(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	has := func(obj any, path string, keys ...string) {
		t.Helper()
		m, ok := obj.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T", path, obj)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s.%s missing", path, k)
			}
		}
	}
	has(doc, "", "build", "config", "now", "started_at", "uptime_s", "listeners", "draining",
		"in_flight", "sampled_at", "backends", "admission")
	has(doc["build"], "build", "version", "commit", "go")
	has(doc["config"], "config", "version", "loaded_at")
	has(doc["listeners"], "listeners", "public", "admin")
	traffic := []string{"requests", "failures", "req_per_sec", "errors_per_sec", "error_rate", "p50_ms", "p99_ms"}
	b := doc["backends"].([]any)[0]
	has(b, "backends[0]", append([]string{"name", "up", "breaker", "in_flight", "max_in_flight", "targets", "series"}, traffic...)...)
	has(b.(map[string]any)["breaker"], "backends[0].breaker", "state", "since", "for_s", "retry_after_s")
	has(b.(map[string]any)["series"], "backends[0].series", "req_per_sec", "errors_per_sec")
	tg := b.(map[string]any)["targets"].([]any)[0]
	has(tg, "targets[0]", append([]string{"url", "up", "breaker", "in_flight"}, traffic...)...)
	a := doc["admission"]
	has(a, "admission", "tracked_clients", "capacity", "active_bans", "refusals_per_sec", "refusals_total",
		"refusals_series", "under_attack", "top", "overload")
	has(a.(map[string]any)["top"].([]any)[0], "admission.top[0]", "client", "rate", "refusals", "in_flight", "conns")
	has(a.(map[string]any)["overload"], "admission.overload", "enabled", "max_in_flight", "in_flight", "saturated", "threshold", "shed")

	req, _ := http.NewRequest("POST", h.URL, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
