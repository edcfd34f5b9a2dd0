package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
)

// BenchmarkForward measures one GET through a proxy on loopback to a backend
// on loopback answering 64 bytes: bulwark's router, and a plain
// httputil.ReverseProxy as the baseline.
//
// Client, proxy and backend all run in this process, so ns/op and allocs/op
// include the client's and the backend's work as well as the proxy's. The
// numbers are only meaningful relative to each other: the difference between
// the two sub-benchmarks is what bulwark adds over a bare reverse proxy.
//
// RunParallel runs GOMAXPROCS client goroutines, which stays within the
// default Transport's two idle connections per host, so the plain proxy
// reuses its backend connections as bulwark does.
//
//	go test -run '^$' -bench BenchmarkForward -benchtime 3s ./router
func BenchmarkForward(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "64")
		w.Write(benchBody)
	}))
	defer backend.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	b.Run("bulwark", func(b *testing.B) {
		defer tr.CloseIdleConnections()
		benchGets(b, client, benchRouter(b, backend.URL)+"/api/x")
	})
	b.Run("plain_reverseproxy", func(b *testing.B) {
		defer tr.CloseIdleConnections()
		u, err := url.Parse(backend.URL)
		if err != nil {
			b.Fatal(err)
		}
		benchGets(b, client, benchServe(b, httputil.NewSingleHostReverseProxy(u))+"/api/x")
	})
	// A POST with a small body (a form, a JSON call), read whole by the
	// router before it is forwarded.
	b.Run("bulwark_post_small_body", func(b *testing.B) {
		defer tr.CloseIdleConnections()
		benchPosts(b, client, benchRouter(b, backend.URL)+"/api/x", benchForm)
	})
}

// benchForm is a small request body.
var benchForm = bytes.Repeat([]byte("f"), 300)

// benchPosts sends POSTs of body to url from parallel goroutines and checks
// each answer.
func benchPosts(b *testing.B, c *http.Client, url string, body []byte) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Post(url, "application/x-www-form-urlencoded", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != 64 {
				b.Errorf("POST %s: %d with %d bytes, want 200 with 64", url, resp.StatusCode, n)
				return
			}
		}
	})
}

var benchBody = bytes.Repeat([]byte("b"), 64)

// benchRouter serves a router with a small realistic table whose last route
// forwards to target.
func benchRouter(b *testing.B, target string) string {
	b.Helper()
	cfg, err := config.Load(fmt.Appendf(nil, `
listen: 127.0.0.1:0
admin: {listen: ""}
backends:
  static: {targets: [%[1]s]}
  app: {targets: [%[1]s]}
routes:
  - {match: {path: /verify, methods: [POST]}, backend: app}
  - {match: {path_prefix: /static/}, backend: static}
  - {match: {path_prefix: /api/}, backend: app, stats: {name: api, per_api: true}}
`, target))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(cfg, rt, nil)
	if err := srv.Start(nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + srv.Addr().String()
}

// benchServe serves h with a plain http.Server on loopback.
func benchServe(b *testing.B, h http.Handler) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	b.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			b.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

// benchGets sends GETs to url from parallel goroutines and checks each answer.
func benchGets(b *testing.B, c *http.Client, url string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != 64 {
				b.Errorf("GET %s: %d with %d bytes, want 200 with 64", url, resp.StatusCode, n)
				return
			}
		}
	})
}
