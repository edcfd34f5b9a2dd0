package router

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// healthApp is an application whose /__heartbeat__ reports on its own
// "database": 200 while it is fine, 503 once broken. It counts the
// composite heartbeat's probes (User-Agent bulwark-heartbeat) apart from
// the active checks', and the most of them it served at once.
type healthApp struct {
	*httptest.Server
	broken    atomic.Bool
	delay     time.Duration // how long the health path takes
	probes    atomic.Int64
	inProbe   atomic.Int64
	peakProbe atomic.Int64
}

func newHealthApp(t *testing.T, delay time.Duration) *healthApp {
	t.Helper()
	a := &healthApp{delay: delay}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *healthApp) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/__heartbeat__" {
		io.WriteString(w, "app")
		return
	}
	if r.UserAgent() == "bulwark-heartbeat" {
		a.probes.Add(1)
		n := a.inProbe.Add(1)
		defer a.inProbe.Add(-1)
		for p := a.peakProbe.Load(); n > p && !a.peakProbe.CompareAndSwap(p, n); p = a.peakProbe.Load() {
		}
	}
	if a.delay > 0 {
		tm := time.NewTimer(a.delay)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if a.broken.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"error","database":"error"}`)
		return
	}
	io.WriteString(w, `{"status":"ok","database":"ok"}`)
}

// heartbeatReport is the /__heartbeat__ JSON.
type heartbeatReport struct {
	Status  string                     `json:"status"`
	Checks  map[string]string          `json:"checks"`
	Details map[string]json.RawMessage `json:"details"`
}

func getHeartbeat(t *testing.T, c *http.Client, url string) (int, heartbeatReport) {
	t.Helper()
	a := send(c, url)
	if a.err != nil {
		t.Fatalf("GET %s: %v", url, a.err)
	}
	var rep heartbeatReport
	if err := json.Unmarshal([]byte(a.body), &rep); err != nil {
		t.Fatalf("GET %s: %d %q: %v", url, a.code, a.body, err)
	}
	return a.code, rep
}

// TestHeartbeatThroughRouter asks a real router listener for
// /__heartbeat__ and /__heartbeat__?deep while the backends' own health
// paths change. The clock moves by cache_ttl between steps so each step
// sees fresh probes.
func TestHeartbeatThroughRouter(t *testing.T) {
	app, static := newHealthApp(t, 0), newHealthApp(t, 0)
	clock := newManualClock()
	srv, base := startRouterWith(t, fmt.Sprintf(`
health: {cache_ttl: 1s}
backends:
  app:
    targets: [%s]
    health: {path: /__heartbeat__, critical: true, interval: 1m}
  static:
    targets: [%s]
    retries: 0
    health: {path: /__heartbeat__, interval: 1m}
routes: [{backend: app}]
`, app.URL, static.URL), Options{Now: clock.Now})
	c := testClient(t)

	steps := []struct {
		name     string
		give     func()
		wantCode int
		want     string            // overall status
		checks   map[string]string // per check
		detail   string            // in details[name], when set
	}{
		{"healthy", func() {}, 200, "ok",
			map[string]string{"app": "ok", "static": "ok", "router": "ok"}, ""},
		{"critical backend's database fails", func() { app.broken.Store(true) }, 503, "error",
			map[string]string{"app": "error", "static": "ok", "router": "ok"}, `"database":"error"`},
		{"critical repaired", func() { app.broken.Store(false) }, 200, "ok",
			map[string]string{"app": "ok", "static": "ok", "router": "ok"}, ""},
		{"non-critical backend down", func() { static.Close() }, 200, "warning",
			map[string]string{"app": "ok", "static": "warning", "router": "ok"}, ""},
		{"draining", func() { srv.Router().SetDraining(true) }, 503, "error",
			map[string]string{"app": "ok", "static": "warning", "router": "error"}, ""},
	}
	for _, st := range steps {
		st.give()
		clock.Advance(time.Second)
		for _, path := range []string{"/__heartbeat__", "/__heartbeat__?deep"} {
			code, rep := getHeartbeat(t, c, base+path)
			if code != st.wantCode || rep.Status != st.want {
				t.Fatalf("%s: %s: %d %q, want %d %q (%v)", st.name, path, code, rep.Status, st.wantCode, st.want, rep.Checks)
			}
			for name, want := range st.checks {
				if rep.Checks[name] != want {
					t.Fatalf("%s: %s: checks[%s] = %q, want %q (%v)", st.name, path, name, rep.Checks[name], want, rep.Checks)
				}
			}
			if st.detail != "" {
				var d struct {
					Status int    `json:"status"`
					Body   string `json:"body"`
				}
				json.Unmarshal(rep.Details["app"], &d)
				if d.Status != http.StatusServiceUnavailable || !strings.Contains(d.Body, st.detail) {
					t.Fatalf("%s: details.app = %s, want status 503 and a body showing %s", st.name, rep.Details["app"], st.detail)
				}
			}
		}
	}
	if a := send(c, base+"/__lbheartbeat__"); a.code != http.StatusServiceUnavailable {
		t.Fatalf("/__lbheartbeat__ while draining: %v", a)
	}
	// Both forms within one cache_ttl shared one probe per step; the clock
	// moved once per step.
	if got := app.probes.Load(); got != int64(len(steps)) {
		t.Fatalf("app's health path probed %d times over %d steps", got, len(steps))
	}
}

// TestHeartbeatFloodProbesOncePerTTL sends 1,000 concurrent heartbeat
// requests through a real listener, real clock: the critical backend's
// health path is reached at most once per cache_ttl, one probe at a time.
func TestHeartbeatFloodProbesOncePerTTL(t *testing.T) {
	const n, ttl = 1000, time.Second
	app := newHealthApp(t, 20*time.Millisecond)
	_, base := startRouterWith(t, fmt.Sprintf(`
health: {cache_ttl: %v}
backends:
  app:
    targets: [%s]
    health: {path: /__heartbeat__, critical: true, interval: 1m}
routes: [{backend: app}]
`, ttl, app.URL), Options{})
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	var wg sync.WaitGroup
	var failed atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if a := send(c, base+"/__heartbeat__"); a.code != http.StatusOK || a.err != nil {
				failed.Add(1)
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	probes := app.probes.Load()
	limit := int64(elapsed/ttl) + 1
	t.Logf("%d heartbeats in %v: %d probes of the health path (limit %d), at most %d at once",
		n, elapsed, probes, limit, app.peakProbe.Load())
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d heartbeat requests failed", f, n)
	}
	if probes < 1 || probes > limit {
		t.Fatalf("%d probes in %v with cache_ttl %v, want 1..%d", probes, elapsed, ttl, limit)
	}
	if p := app.peakProbe.Load(); p != 1 {
		t.Fatalf("%d probes at once, want 1 (coalesced)", p)
	}
}
