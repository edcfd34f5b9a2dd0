package router

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// newRouter loads yaml and builds a router (no server) logging to t,
// closed when t ends.
func newRouter(t *testing.T, yaml string) (*config.Config, *Router, *zap.Logger) {
	t.Helper()
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := zaptest.NewLogger(t)
	rt, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return cfg, rt, log
}

// startRouter loads yaml (listen/admin are forced to loopback ports) and
// serves it on a real listener. It returns the base URL.
func startRouter(t *testing.T, yaml string) (*Server, string) {
	t.Helper()
	yaml = "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	if testTransport != "" {
		for _, b := range cfg.Backends {
			b.Transport = testTransport
		}
	}
	log := zaptest.NewLogger(t)
	rt, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, log)
	var wrap ListenerWrapper
	if testPlainConns {
		wrap = func(l net.Listener) net.Listener { return plainListener{l} }
	}
	if err := srv.Start(wrap); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv, "http://" + srv.Addr().String()
}

// stopRouter shuts srv down and waits until no request is in its router:
// net/http's Shutdown does not wait for hijacked connections (upgrades),
// and a request is logged (to the test's logger) after its answer is out.
func stopRouter(t *testing.T, srv *Server) {
	t.Helper()
	testutil.Drain(t, srv.Shutdown, srv.Router().InFlight)
}

// testTransport, when set, overrides every backend's transport in
// startRouter, so the forwarding tests run on both upstream paths.
var testTransport string

// testPlainConns, when set, makes startRouter hide the public connections'
// raw sockets from the front, as the PROXY protocol listener's do, so the
// front tests also run on its path for such connections.
var testPlainConns bool

type plainListener struct{ net.Listener }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return plainConn{c}, nil
}

// plainConn has the net.Conn methods only: no SyscallConn.
type plainConn struct{ net.Conn }

// namedBackend answers every request with its name in X-Backend and body.
func namedBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// deadAddr returns a loopback address that refuses connections.
func deadAddr(t *testing.T) string { return "http://" + testutil.FreeAddr(t) }

func get(t *testing.T, c *http.Client, method, url, host string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, strings.TrimSpace(string(b))
}

// sendFor sends method url with body and the header fields given as
// name, value pairs, and returns the answer's status.
func sendFor(t *testing.T, method, url, body string, header ...string) int {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// getFrom GETs url as client (X-Forwarded-For) with cookie, when not
// empty, and returns the answer, its body read and closed.
func getFrom(t *testing.T, url, client, cookie string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Forwarded-For", client)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// bodiesBackend is a backend that keeps the bodies it is sent, in order.
func bodiesBackend(t *testing.T) (url string, bodies func() []string) {
	var mu sync.Mutex
	var got []string
	be := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})
	return be.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}
