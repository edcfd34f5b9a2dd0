package health

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

const healthPath = "/__health__"

// backend is a real server answering healthPath with a fixed status and body,
// counting the hits.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T, status int, body string) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != healthPath {
			http.NotFound(w, r)
			return
		}
		b.hits.Add(1)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(b.Close)
	return b
}

// httpProbe stands in for the router's forward path: a real GET of the
// backend's health path.
func httpProbe(urls map[string]string) Probe {
	client := &http.Client{}
	return func(ctx context.Context, name string) ProbeResult {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, urls[name]+healthPath, nil)
		if err != nil {
			return ProbeResult{Err: err.Error()}
		}
		resp, err := client.Do(req)
		if err != nil {
			return ProbeResult{Err: err.Error(), Latency: time.Since(start)}
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return ProbeResult{Status: resp.StatusCode, Body: string(body), Latency: time.Since(start)}
	}
}

type hbBack struct {
	url      string
	critical bool
	noPath   bool
}

func hbConfigOf(ttl, timeout time.Duration, backs map[string]hbBack) *config.Config {
	cfg := &config.Config{
		Backends: map[string]*config.Backend{},
		Health:   config.Health{CacheTTL: config.Duration(ttl), Timeout: config.Duration(timeout)},
	}
	for name, b := range backs {
		be := &config.Backend{Targets: config.URLs(b.url)}
		if !b.noPath {
			be.Health = config.Check{Path: healthPath, Critical: b.critical}
		}
		cfg.Backends[name] = be
	}
	return cfg
}

func urlsOf(backs map[string]hbBack) map[string]string {
	m := map[string]string{}
	for n, b := range backs {
		m[n] = b.url
	}
	return m
}

type answer struct {
	Status  string                     `json:"status"`
	Checks  map[string]string          `json:"checks"`
	Details map[string]json.RawMessage `json:"details"`
	code    int
	raw     string
}

func get(t *testing.T, client *http.Client, url string) answer {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	a.code, a.raw = resp.StatusCode, string(raw)
	return a
}

// serve puts hb behind a real listener.
func serve(t *testing.T, hb http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(hb)
	t.Cleanup(srv.Close)
	return srv
}

func TestHeartbeat(t *testing.T) {
	ok1 := newBackend(t, 200, `{"db":"ok"}`)
	ok2 := newBackend(t, 200, "ok")
	sick := newBackend(t, 500, "database unreachable")
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	tests := []struct {
		name       string
		backs      map[string]hbBack
		state      RouterState
		wantCode   int
		wantStatus string
		wantChecks map[string]string
		wantInBody []string
	}{
		{
			name: "healthy",
			backs: map[string]hbBack{
				"browserid": {url: ok1.URL, critical: true},
				"verifier":  {url: ok2.URL, critical: true},
				"static":    {url: ok2.URL},
				"nocheck":   {url: ok2.URL, noPath: true}, // no health path: not probed
			},
			state:      RouterState{ConfigLoaded: true},
			wantCode:   200,
			wantStatus: "ok",
			wantChecks: map[string]string{"browserid": "ok", "verifier": "ok", "static": "ok", "router": "ok"},
			wantInBody: []string{`"body":"{\"db\":\"ok\"}"`, `"status":200`},
		},
		{
			name: "critical failing",
			backs: map[string]hbBack{
				"browserid": {url: ok1.URL, critical: true},
				"dbwriter":  {url: sick.URL, critical: true},
			},
			state:      RouterState{ConfigLoaded: true},
			wantCode:   503,
			wantStatus: "error",
			wantChecks: map[string]string{"browserid": "ok", "dbwriter": "error", "router": "ok"},
			wantInBody: []string{`"dbwriter":{"critical":true,"status":500`, "database unreachable"},
		},
		{
			name: "critical unreachable",
			backs: map[string]hbBack{
				"verifier": {url: goneURL, critical: true},
			},
			state:      RouterState{ConfigLoaded: true},
			wantCode:   503,
			wantStatus: "error",
			wantChecks: map[string]string{"verifier": "error", "router": "ok"},
			wantInBody: []string{"connection refused"},
		},
		{
			name: "non-critical down",
			backs: map[string]hbBack{
				"browserid": {url: ok1.URL, critical: true},
				"static":    {url: goneURL},
			},
			state:      RouterState{ConfigLoaded: true},
			wantCode:   200,
			wantStatus: "warning",
			wantChecks: map[string]string{"browserid": "ok", "static": "warning", "router": "ok"},
		},
		{
			name:       "draining",
			backs:      map[string]hbBack{"browserid": {url: ok1.URL, critical: true}},
			state:      RouterState{ConfigLoaded: true, Draining: true},
			wantCode:   503,
			wantStatus: "error",
			wantChecks: map[string]string{"browserid": "ok", "router": "error"},
			wantInBody: []string{`"draining":true`},
		},
		{
			name:       "no config",
			backs:      map[string]hbBack{},
			state:      RouterState{},
			wantCode:   503,
			wantStatus: "error",
			wantChecks: map[string]string{"router": "error"},
		},
		{
			name:       "under attack and overloaded stay green for the balancer",
			backs:      map[string]hbBack{"browserid": {url: ok1.URL, critical: true}},
			state:      RouterState{ConfigLoaded: true, Overloaded: true, UnderAttack: true},
			wantCode:   200,
			wantStatus: "warning",
			wantChecks: map[string]string{"browserid": "ok", "router": "warning"},
			wantInBody: []string{`"under_attack":true`, `"overloaded":true`},
		},
		{
			name:       "a backend named router",
			backs:      map[string]hbBack{"router": {url: sick.URL, critical: true}},
			state:      RouterState{ConfigLoaded: true},
			wantCode:   503,
			wantStatus: "error",
			wantChecks: map[string]string{"router": "error", ":router": "ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb := NewHeartbeat(httpProbe(urlsOf(tt.backs)), func() RouterState { return tt.state })
			hb.Update(hbConfigOf(time.Second, 2*time.Second, tt.backs))
			srv := serve(t, hb)
			for _, path := range []string{"/__heartbeat__", "/__heartbeat__?deep"} {
				a := get(t, srv.Client(), srv.URL+path)
				if a.code != tt.wantCode || a.Status != tt.wantStatus {
					t.Errorf("%s: %d %q, want %d %q; body %s", path, a.code, a.Status, tt.wantCode, tt.wantStatus, a.raw)
				}
				if len(a.Checks) != len(tt.wantChecks) {
					t.Errorf("%s: checks %v, want %v", path, a.Checks, tt.wantChecks)
				}
				for name, want := range tt.wantChecks {
					if a.Checks[name] != want {
						t.Errorf("%s: checks[%s] = %q, want %q", path, name, a.Checks[name], want)
					}
					if _, ok := a.Details[name]; !ok {
						t.Errorf("%s: no details for %s", path, name)
					}
				}
				for _, s := range tt.wantInBody {
					if !strings.Contains(a.raw, s) {
						t.Errorf("%s: body lacks %s: %s", path, s, a.raw)
					}
				}
			}
		})
	}
}

func TestHeartbeatMethods(t *testing.T) {
	b := newBackend(t, 200, "ok")
	hb := NewHeartbeat(httpProbe(map[string]string{"app": b.URL}), nil)
	hb.Update(hbConfigOf(time.Minute, time.Second, map[string]hbBack{"app": {url: b.URL, critical: true}}))
	srv := serve(t, hb)

	resp, err := srv.Client().Head(srv.URL + "/__heartbeat__")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("HEAD: %d, %d body bytes, Cache-Control %q", resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
	}
	resp, err = srv.Client().Post(srv.URL+"/__heartbeat__", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestHeartbeatCoalesces sends 1,000 concurrent heartbeat requests through a
// real listener while the backend's health path is held: they must all share
// one probe, and later ones must be served from the cache until cache_ttl.
func TestHeartbeatCoalesces(t *testing.T) {
	const n = 1000
	const ttl = time.Second
	release := make(chan struct{})
	var hits atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "ok")
	}))
	defer be.Close()

	clk := testutil.NewClock(t0)
	backs := map[string]hbBack{"app": {url: be.URL, critical: true}}
	hb := NewHeartbeat(httpProbe(urlsOf(backs)), nil, WithHeartbeatClock(clk.Now))
	hb.Update(hbConfigOf(ttl, 30*time.Second, backs))

	var entered atomic.Int64
	allIn := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if entered.Add(1) == n {
			close(allIn)
		}
		hb.ServeHTTP(w, r)
	}))
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()

	burst := func() (ok int) {
		var wg sync.WaitGroup
		var good atomic.Int64
		for range n {
			wg.Go(func() {
				resp, err := client.Get(front.URL + "/__heartbeat__")
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(body), `"status":"ok"`) {
					good.Add(1)
				}
			})
		}
		wg.Wait()
		return int(good.Load())
	}

	start := time.Now()
	done := make(chan int)
	go func() { done <- burst() }()
	select {
	case <-allIn: // every request is inside the handler while the probe is held
	case <-time.After(30 * time.Second):
		close(release)
		<-done
		t.Fatalf("only %d of %d requests arrived", entered.Load(), n)
	}
	close(release)
	if got := <-done; got != n {
		t.Fatalf("%d of %d answers were 200 ok", got, n)
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("backend health path hit %d times by %d concurrent heartbeats, want 1", got, n)
	}
	t.Logf("%d concurrent heartbeats, 1 probe, %v", n, time.Since(start))

	clk.Advance(ttl - time.Nanosecond) // still fresh
	if got := burst(); got != n || hits.Load() != 1 {
		t.Fatalf("within cache_ttl: %d ok, %d hits; want %d, 1", got, hits.Load(), n)
	}
	clk.Advance(time.Nanosecond) // cache_ttl has passed
	if got := burst(); got != n || hits.Load() != 2 {
		t.Fatalf("after cache_ttl: %d ok, %d hits; want %d, 2", got, hits.Load(), n)
	}
}

func TestHeartbeatUpdateDropsCache(t *testing.T) {
	b := newBackend(t, 200, "ok")
	clk := testutil.NewClock(t0)
	backs := map[string]hbBack{"app": {url: b.URL, critical: true}}
	hb := NewHeartbeat(httpProbe(map[string]string{"app": b.URL, "new": b.URL}), nil, WithHeartbeatClock(clk.Now))
	hb.Update(hbConfigOf(time.Hour, time.Second, backs))
	srv := serve(t, hb)
	get(t, srv.Client(), srv.URL)
	get(t, srv.Client(), srv.URL)
	if b.hits.Load() != 1 {
		t.Fatalf("hits = %d, want 1", b.hits.Load())
	}
	backs["new"] = hbBack{url: b.URL}
	hb.Update(hbConfigOf(time.Hour, time.Second, backs))
	a := get(t, srv.Client(), srv.URL)
	if b.hits.Load() != 3 || a.Checks["new"] != "ok" {
		t.Fatalf("after Update: hits %d, checks %v", b.hits.Load(), a.Checks)
	}
}

// TestHeartbeatTimeout: a backend that never answers is cut at
// health.timeout and reported as an error, not waited for.
func TestHeartbeatTimeout(t *testing.T) {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stuck.Close()
	backs := map[string]hbBack{"app": {url: stuck.URL, critical: true}}
	hb := NewHeartbeat(httpProbe(urlsOf(backs)), nil)
	hb.Update(hbConfigOf(time.Second, 100*time.Millisecond, backs))
	srv := serve(t, hb)
	start := time.Now()
	a := get(t, srv.Client(), srv.URL)
	took := time.Since(start)
	if a.code != 503 || a.Checks["app"] != "error" || !strings.Contains(a.raw, "deadline exceeded") {
		t.Fatalf("%d %s", a.code, a.raw)
	}
	if took > 5*time.Second {
		t.Fatalf("heartbeat took %v with a 100ms timeout", took)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", maxExcerpt-1) + "é" + "tail" // é straddles the cut
	tests := []struct{ give, want string }{
		{"ok\n", "ok"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{long, strings.Repeat("a", maxExcerpt-1)},
		{strings.Repeat("b", 1000), strings.Repeat("b", maxExcerpt)},
	}
	for _, tt := range tests {
		if got := excerpt(tt.give); got != tt.want {
			t.Errorf("excerpt(%.20q…) = %.20q… (len %d), want len %d", tt.give, got, len(got), len(tt.want))
		}
	}
}
