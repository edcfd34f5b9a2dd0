package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// pathRecorder is a backend that records the request target of every
// request it receives, as it came on the wire.
type pathRecorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newPathRecorder(t *testing.T) *pathRecorder {
	t.Helper()
	pr := &pathRecorder{}
	pr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr.mu.Lock()
		pr.seen = append(pr.seen, r.RequestURI)
		pr.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(pr.Close)
	return pr
}

func (pr *pathRecorder) paths() []string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]string(nil), pr.seen...)
}

// Every spelling of a limited path shares the route and its limit: once
// /limited/a is refused, so is each other way of writing it, by the front
// and by the full path alike, and none reaches the backend.
func TestPathSpellingsShareTheRouteLimit(t *testing.T) {
	spellings := []string{
		"/./limited/a",
		"//limited/a",
		"/x/../limited/a",
		"/%2e/limited/a",
		"/%2E%2E/limited/a",
		"/limited%2Fa",
		"/%6Cimited/a",
		"/limited/./a",
		"/limited//a",
		"/../limited/a",
		"/x%2F..%2Flimited/a",
		"/limited%2F%2Fa",
		"/LIMITED/../limited/a",
	}
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("early_refusal=%v", early), func(t *testing.T) {
			be := newPathRecorder(t)
			srv, base := startRouter(t, frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v}", early)))
			spendToken(t, base)
			c := dialRaw(t, base)
			plain := 0 // spellings the front decides: escaped ones go to net/http
			for _, p := range spellings {
				c.send(get1(p))
				resp, body := c.next()
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Errorf("%s: %d %q, want 429", p, resp.StatusCode, body)
				}
				if early && !strings.Contains(p, "%") {
					plain++
				}
			}
			if got := srv.Router().EarlyRefusals(); got != uint64(plain) {
				t.Errorf("the front refused %d requests, want %d", got, plain)
			}
			if got := be.paths(); len(got) != 1 || got[0] != "/limited/a" {
				t.Errorf("the backend received %q, want only the first /limited/a", got)
			}
		})
	}
}

// The backend receives the normalised path, escaped slashes as
// server.path.escaped_slashes says, and the query as sent.
func TestBackendReceivesTheNormalisedPath(t *testing.T) {
	const query = "?q=%2e//&x=/../%2F"
	targets := []string{
		"/./a//b/%2e%2e/c%2fd%5c%7e%41" + query,
		"/p/http%3a%2F%2Fh/x",
		"/a\\b",
		"/plain/path(1)" + query,
		"//x/../y/.",
		"/caf%c3%a9/%25/\"caf\u00e9\"",
	}
	modes := []struct {
		path string
		want []string // what the backend receives, per target; "400": refused
	}{
		{"{}", []string{
			"/a/c%2Fd%5C~A" + query, "/p/http%3A%2F%2Fh/x", "/a%5Cb", "/plain/path(1)" + query, "/y/",
			"/caf%C3%A9/%25/%22caf%C3%A9%22"}},
		{"{escaped_slashes: unescape}", []string{
			"/a/c/d%5C~A" + query, "/p/http%3A/h/x", "/a%5Cb", "/plain/path(1)" + query, "/y/",
			"/caf%C3%A9/%25/%22caf%C3%A9%22"}},
		{"{escaped_slashes: reject}", []string{
			"400", "400", "400", "/plain/path(1)" + query, "/y/", "/caf%C3%A9/%25/%22caf%C3%A9%22"}},
		{"{merge_slashes: false}", []string{
			"/a//c%2Fd%5C~A" + query, "/p/http%3A%2F%2Fh/x", "/a%5Cb", "/plain/path(1)" + query, "//y/",
			"/caf%C3%A9/%25/%22caf%C3%A9%22"}},
		{"{normalize: false}", []string{
			targets[0], targets[1], "/a%5Cb", targets[3], targets[4],
			"/caf%C3%A9/%25/%22caf%C3%A9%22"}}, // net/url escapes what a path cannot hold raw

	}
	for _, m := range modes {
		t.Run(m.path, func(t *testing.T) {
			be := newPathRecorder(t)
			_, base := startRouter(t, fmt.Sprintf(`
server: {path: %s}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
log: {access: false}
`, m.path, be.URL))
			c := dialRaw(t, base)
			for i, target := range targets {
				c.send(get1(target))
				resp, _ := c.next()
				got := fmt.Sprint(resp.StatusCode)
				if resp.StatusCode == 200 {
					seen := be.paths()
					got = seen[len(seen)-1]
				}
				if got != m.want[i] {
					t.Errorf("%s: the backend received %q, want %q", target, got, m.want[i])
				}
			}
		})
	}
}

// A path that cannot be normalised safely is the client's fault: 400,
// counted as bad_request, never forwarded; from the front's side too.
func TestUnnormalisablePathIs400(t *testing.T) {
	paths := []string{"/a%00b", "/a%0Ab", "/a%0d%0a", "/a%7F", "/limited/a%1f"}
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("early_refusal=%v", early), func(t *testing.T) {
			be := newPathRecorder(t)
			rec := &reasonCounter{}
			_, base := startRouterWith(t, fmt.Sprintf(`
server: {early_refusal: %v, path: {escaped_slashes: reject}}
backends:
  app: {targets: [%s]}
routes:
  - {match: {path_prefix: /limited/}, backend: app, limit: tight}
  - {backend: app}
limits:
  tight: {rate: 1/m, burst: 1}
`, early, be.URL), Options{Recorder: rec})
			c := dialRaw(t, base)
			all := append(paths, "/a%2Fb", "/a%5cb", "/a\\b")
			for _, p := range all {
				c.send(get1(p))
				if resp, body := c.next(); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: %d %q, want 400", p, resp.StatusCode, body)
				}
			}
			if n := rec.count(stats.BadRequest); n != len(all) {
				t.Errorf("%d bad_request refusals counted, want %d", n, len(all))
			}
			// An escape net/http cannot read is its own 400, before the router.
			for _, p := range []string{"/a%zz", "/a%2"} {
				c := dialRaw(t, base)
				c.send(get1(p))
				if resp, _ := c.next(); resp.StatusCode != http.StatusBadRequest {
					t.Errorf("%s: %d, want 400", p, resp.StatusCode)
				}
			}
			if got := be.paths(); len(got) != 0 {
				t.Errorf("the backend received %q", got)
			}
			// A path that can be normalised is served, not refused.
			c.send(get1("/limited/./a"))
			if resp, _ := c.next(); resp.StatusCode != 200 {
				t.Errorf("/limited/./a: %d, want 200", resp.StatusCode)
			}
		})
	}
}

// The router's own endpoints answer every spelling of their path, so none
// reaches a backend; with normalisation off, only their exact path.
func TestOwnEndpointsMatchTheNormalisedPath(t *testing.T) {
	spellings := []string{"//__lbheartbeat__", "/./__lbheartbeat__", "/x/../__lbheartbeat__", "/%5F%5Flbheartbeat__"}
	for _, normalize := range []bool{true, false} {
		t.Run(fmt.Sprintf("normalize=%v", normalize), func(t *testing.T) {
			be := newPathRecorder(t)
			_, base := startRouter(t, fmt.Sprintf(`
server: {path: {normalize: %v}}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
log: {access: false}
`, normalize, be.URL))
			c := dialRaw(t, base)
			for _, p := range spellings {
				before := len(be.paths())
				c.send(get1(p))
				resp, body := c.next()
				fromRouter := resp.StatusCode == 200 && strings.TrimSpace(body) == "ok" && len(be.paths()) == before
				// Without normalisation net/http's decoding is all there is.
				want := normalize || p == "/%5F%5Flbheartbeat__"
				if fromRouter != want {
					t.Errorf("%s: %d %q (backend saw %q), want from the router: %v", p, resp.StatusCode, body, be.paths(), want)
				}
			}
		})
	}
}

// server.path follows a reload.
func TestPathRulesFollowReload(t *testing.T) {
	be := newPathRecorder(t)
	yaml := fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
log: {access: false}
`, be.URL)
	srv, base := startRouter(t, yaml)
	c := dialRaw(t, base)
	c.send(get1("/a//b"))
	c.next()
	cfg, err := config.Load([]byte("server: {path: {normalize: false}}\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	c.send(get1("/a//b"))
	c.next()
	if got := be.paths(); len(got) != 2 || got[0] != "/a/b" || got[1] != "/a//b" {
		t.Errorf("the backend received %q, want /a/b then /a//b", got)
	}
}
