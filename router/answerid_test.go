package router

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// startRouterLogs is startRouter with the access log on and kept for the
// test to read.
func startRouterLogs(t *testing.T, yaml string) (string, *observer.ObservedLogs) {
	t.Helper()
	cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	cfg.Log.Access = true
	core, logs := observer.New(zapcore.InfoLevel)
	rt, err := New(cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, zap.New(core))
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return "http://" + srv.Addr().String(), logs
}

// accessLine waits for the access line of the request to path and
// returns its request_id.
func accessLine(t *testing.T, logs *observer.ObservedLogs, path string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		for _, e := range logs.FilterMessage(stats.AccessMessage).All() {
			if f := e.ContextMap(); f["path"] == path {
				return f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access line for %s", path)
		}
	}
}

// Every answer carries X-Request-Id, the id of its access line: the
// backend's (which keeps the router's id over one the backend sent) and
// the router's own 404, 429 and 502.
func TestRequestIDOnEveryAnswer(t *testing.T) {
	be := namedBackend(t, "app")
	liar := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "backend-made")
		w.Header().Set("X-Got-Id", r.Header.Get("X-Request-Id"))
	})
	base, logs := startRouterLogs(t, `
server: {early_refusal: false}
backends:
  app: {targets: [`+be.URL+`]}
  liar: {targets: [`+liar.URL+`]}
  dead: {targets: [`+deadAddr(t)+`]}
routes:
  - {match: {path_prefix: /app/}, backend: app}
  - {match: {path_prefix: /liar/}, backend: liar}
  - {match: {path_prefix: /dead/}, backend: dead}
  - {match: {path_prefix: /limited/}, backend: app, limit: tight}
limits:
  tight: {rate: 1/m, burst: 1}
`)
	get(t, nil, "GET", base+"/limited/spend", "", nil)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/app/ok", 200},
		{"/liar/x", 200},
		{"/nowhere", 404},
		{"/limited/again", 429},
		{"/dead/x", 502},
	} {
		code, h, _ := get(t, nil, "GET", base+tc.path, "", nil)
		if code != tc.code {
			t.Fatalf("%s: %d, want %d", tc.path, code, tc.code)
		}
		ids := h.Values("X-Request-Id")
		if len(ids) != 1 || ids[0] == "" {
			t.Fatalf("%s: X-Request-Id %q, want one", tc.path, ids)
		}
		if f := accessLine(t, logs, tc.path); f["request_id"] != ids[0] {
			t.Errorf("%s: answer's id %q, access line's %q", tc.path, ids[0], f["request_id"])
		}
		if tc.path == "/liar/x" && h.Get("X-Got-Id") != ids[0] {
			t.Errorf("the backend was told %q, the client %q", h.Get("X-Got-Id"), ids[0])
		}
	}
}

// The connection front's refusals carry X-Request-Id too, the id of their
// access line: a 429 and a ban's 403, and a trusted peer's own id.
func TestRequestIDOnEveryEarlyRefusal(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base, logs := startObserved(t, `listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
server: {early_refusal: true}
log: {access: true}
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path_prefix: /limited/}, backend: app, limit: tight}
  - {backend: app}
limits:
  tight: {rate: 1/m, burst: 1}
`)
	banned := netip.MustParseAddr("198.51.100.7")
	if _, err := srv.Router().adm.Ban(banned, 10*time.Minute, "test", "test"); err != nil {
		t.Fatal(err)
	}
	// A connection each: the front answers a connection's first request
	// surely, a later one only once it has seen net/http go idle.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(path, client, id string) (int, []string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-Forwarded-For", client)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Values("X-Request-Id")
	}
	if code, _ := send("/limited/spend", "198.51.100.8", ""); code != 200 {
		t.Fatalf("spending the token: %d", code)
	}
	for _, tc := range []struct {
		path, client, id string
		code             int
	}{
		{"/limited/again", "198.51.100.8", "", 429},
		{"/banned", banned.String(), "", 403},
		{"/limited/kept", "198.51.100.8", "lb-77", 429},
	} {
		early := srv.Router().EarlyRefusals()
		code, ids := send(tc.path, tc.client, tc.id)
		if code != tc.code {
			t.Fatalf("%s: %d, want %d", tc.path, code, tc.code)
		}
		if got := srv.Router().EarlyRefusals(); got != early+1 {
			t.Fatalf("%s: the front answered %d requests, want 1", tc.path, got-early)
		}
		if len(ids) != 1 || ids[0] == "" || tc.id != "" && ids[0] != tc.id {
			t.Fatalf("%s: X-Request-Id %q, want one (%q)", tc.path, ids, tc.id)
		}
		if f := accessLine(t, logs, tc.path); f["request_id"] != ids[0] {
			t.Errorf("%s: answer's id %q, access line's %q", tc.path, ids[0], f["request_id"])
		}
	}
}

// A trusted peer's X-Request-Id is the answer's.
func TestRequestIDTrustedKept(t *testing.T) {
	be := namedBackend(t, "app")
	base, _ := startRouterLogs(t, `
client_ip: {trusted_proxies: [127.0.0.0/8]}
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path_prefix: /app/}, backend: app}
`)
	for _, path := range []string{"/app/x", "/nowhere"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-Request-Id", "lb-1234")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Values("X-Request-Id"); len(got) != 1 || got[0] != "lb-1234" {
			t.Errorf("%s: X-Request-Id %q, want the trusted peer's", path, got)
		}
	}
}

// httptestHandler serves h on a loopback test server.
func httptestHandler(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
