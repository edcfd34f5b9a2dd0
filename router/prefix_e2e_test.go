package router

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulwark-router/bulwark/stats"
)

// strip_prefix and rewrite_prefix change the path the backend gets, with
// the client's escapes and query kept; routing, limits and the access log
// go by the path the client sent.
func TestRoutePrefixRewrite(t *testing.T) {
	be := echoBackend(t)
	base, logs := startRouterLogs(t, `
backends:
  app: {targets: [`+be+`]}
routes:
  - {match: {path_prefix: /api/}, backend: app, strip_prefix: /api, limit: tight}
  - {match: {path_prefix: /old/}, backend: app, rewrite_prefix: /v2/}
  - {match: {path_prefix: /both/}, backend: app, strip_prefix: /both/in, rewrite_prefix: /out}
  - {match: {path_prefix: /plain/}, backend: app}
limits:
  tight: {rate: 1/h, burst: 3}
`)
	for _, tc := range []struct{ give, want string }{
		{"/api/a%20b%2Fc?q=1&r=%41", "/a%20b%2Fc?q=1&r=%41"},
		{"/api/", "/"},
		{"/old/users/%E2%82%AC", "/v2/users/%E2%82%AC"},
		{"/old/", "/v2/"},
		{"/both/in/x", "/out/x"},
		{"/both/inx", "/both/inx"},   // not at a segment boundary
		{"/plain/%7Ex", "/plain/~x"}, // normalised as before
	} {
		req, _ := http.NewRequest("GET", base+tc.give, nil)
		e, _, code := getEcho(t, req)
		if code != 200 || e.URI != tc.want {
			t.Errorf("%s: %d, backend got %q, want %q", tc.give, code, e.URI, tc.want)
		}
	}
	// The limit is the /api/ route's, spent by the two requests above.
	req, _ := http.NewRequest("GET", base+"/api/third", nil)
	if _, _, code := getEcho(t, req); code != 200 {
		t.Fatalf("third /api/ request: %d", code)
	}
	req, _ = http.NewRequest("GET", base+"/api/fourth", nil)
	if _, _, code := getEcho(t, req); code != 429 {
		t.Errorf("fourth /api/ request: %d, want 429", code)
	}
	if f := accessLine(t, logs, "/api/third"); f["status"] != int64(200) {
		t.Errorf("access line %v", f)
	}
	// A path the prefix does not cover goes nowhere new.
	code, _, _ := get(t, nil, "GET", base+"/apix", "", nil)
	if code != 404 {
		t.Errorf("/apix: %d, want 404", code)
	}
	accessLine(t, logs, "/old/")
	for _, l := range logs.FilterMessage(stats.AccessMessage).All() {
		if p, _ := l.ContextMap()["path"].(string); strings.HasPrefix(p, "/v2") || p == "/out/x" {
			t.Errorf("access line with the rewritten path %q", p)
		}
	}
}
