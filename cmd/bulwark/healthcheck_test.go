package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// -healthcheck exits 0 only when its URL answers 200; without a URL it asks
// the config's own listener's /__lbheartbeat__.
func TestHealthcheck(t *testing.T) {
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/__lbheartbeat__" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "bulwark.yaml")
	listen := strings.TrimPrefix(srv.URL, "http://")
	os.WriteFile(cfg, []byte("listen: "+listen+"\nbackends: {app: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{backend: app}]\n"), 0o600)
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		ok     bool
	}{
		{"url 200", []string{"-healthcheck", srv.URL + "/__lbheartbeat__"}, 200, true},
		{"url 503", []string{"-healthcheck", srv.URL + "/__lbheartbeat__"}, 503, false},
		{"url 404", []string{"-healthcheck", srv.URL + "/nope"}, 200, false},
		{"config's own", []string{"-config", cfg, "-healthcheck"}, 200, true},
		{"config's own draining", []string{"-config", cfg, "-healthcheck"}, 503, false},
		{"nothing listening", []string{"-healthcheck", "http://127.0.0.1:1/__lbheartbeat__"}, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v; stderr: %s", err, tc.ok, stderr.String())
			}
		})
	}
}

func TestHeartbeatURL(t *testing.T) {
	for _, tc := range []struct {
		listen string
		tls    bool
		want   string
	}{
		{":8080", false, "http://127.0.0.1:8080/__lbheartbeat__"},
		{"0.0.0.0:443", true, "https://127.0.0.1:443/__lbheartbeat__"},
		{"[::]:8443", true, "https://[::1]:8443/__lbheartbeat__"},
		{"10.0.0.5:80", false, "http://10.0.0.5:80/__lbheartbeat__"},
	} {
		if got := heartbeatURL(tc.listen, tc.tls); got != tc.want {
			t.Errorf("heartbeatURL(%q, %v) = %q, want %q", tc.listen, tc.tls, got, tc.want)
		}
	}
}
