package router

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestRoutingForms(t *testing.T) {
	a, b, c, d, e := namedBackend(t, "a"), namedBackend(t, "b"), namedBackend(t, "c"), namedBackend(t, "d"), namedBackend(t, "e")
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  a: {targets: [%s]}
  b: {targets: [%s]}
  c: {targets: [%s]}
  d: {targets: [%s]}
  e: {targets: [%s]}
routes:
  - match: {path: /verify}
    backend: a
  - match: {paths: [/wsapi/stage_user, /wsapi/complete_reset]}
    backend: b
  - match: {path_prefix: /wsapi/, methods: [POST]}
    backend: c
  - match: {path_prefix: /wsapi/}
    backend: d
  - match: {host: "*.example.com", path_prefix: /static/}
    backend: e
  - match: {host: api.test}
    backend: a
`, a.URL, b.URL, c.URL, d.URL, e.URL))

	tests := []struct {
		method, path, host string
		want               string // backend name, or "404"
	}{
		{"GET", "/verify", "", "a"},
		{"POST", "/verify", "", "a"},
		{"GET", "/verify/x", "", "404"},
		{"POST", "/wsapi/stage_user", "", "b"},
		{"GET", "/wsapi/complete_reset", "", "b"},
		{"POST", "/wsapi/session_context", "", "c"},
		{"GET", "/wsapi/session_context", "", "d"},
		{"GET", "/static/x.css", "cdn.example.com", "e"},
		{"GET", "/static/x.css", "CDN.Example.COM:8080", "e"},
		{"GET", "/static/x.css", "example.com", "404"},
		{"GET", "/anything", "api.test", "a"},
		{"GET", "/anything", "api.test:443", "a"},
		{"GET", "/anything", "other.test", "404"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.host+tt.path, func(t *testing.T) {
			code, h, _ := get(t, nil, tt.method, base+tt.path, tt.host, strings.NewReader(""))
			if tt.want == "404" {
				if code != http.StatusNotFound {
					t.Fatalf("got %d from %q, want 404", code, h.Get("X-Backend"))
				}
				return
			}
			if code != 200 || h.Get("X-Backend") != tt.want {
				t.Fatalf("got %d from %q, want 200 from %q", code, h.Get("X-Backend"), tt.want)
			}
		})
	}
}

func BenchmarkRouteMatch(b *testing.B) {
	var routes []*route
	cfgRoutes := personaLikeRoutes()
	for i := range cfgRoutes {
		routes = append(routes, compileRoute(i, &cfgRoutes[i], nil))
	}
	tbl := &table{routes: routes}
	req, _ := http.NewRequest("GET", "http://x/wsapi/session_context", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tbl.route(req.Method, req.Host, req.URL.Path) == nil {
				b.Fatal("no match")
			}
		}
	})
}

func TestRouteMatchAllocs(t *testing.T) {
	var routes []*route
	cfgRoutes := personaLikeRoutes()
	for i := range cfgRoutes {
		routes = append(routes, compileRoute(i, &cfgRoutes[i], nil))
	}
	tbl := &table{routes: routes}
	req, _ := http.NewRequest("POST", "http://Host.Example:80/wsapi/stage_user", nil)
	if n := testing.AllocsPerRun(100, func() { tbl.route(req.Method, req.Host, req.URL.Path) }); n != 0 {
		t.Fatalf("route matching allocates %v per request", n)
	}
}
