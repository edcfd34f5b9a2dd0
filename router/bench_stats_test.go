package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// BenchmarkForwardStats measures what reporting costs on the forward path:
// the same router, backend and client as BenchmarkForward's bulwark case,
// with reporting off (stats.Nop, no access log) and on (stats.Stats sending
// statsd to a local UDP socket every 100ms and recording Prometheus, and an
// unsampled JSON access log encoded for every request and written to
// io.Discard). The per_api route makes every request write the per-API
// statsd line too.
//
//	go test -run '^$' -bench BenchmarkForwardStats -benchtime 3s -count 3 ./router
func BenchmarkForwardStats(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "64")
		w.Write(benchBody)
	}))
	defer backend.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	b.Run("off", func(b *testing.B) {
		defer tr.CloseIdleConnections()
		benchGets(b, client, benchStatsRouter(b, backend.URL, false)+"/api/session_context")
	})
	b.Run("on", func(b *testing.B) {
		defer tr.CloseIdleConnections()
		benchGets(b, client, benchStatsRouter(b, backend.URL, true)+"/api/session_context")
	})
}

// benchStatsRouter serves benchRouter's table with reporting on or off.
func benchStatsRouter(b *testing.B, target string, on bool) string {
	b.Helper()
	cfg, err := config.Load(fmt.Appendf(nil, `
listen: 127.0.0.1:0
admin: {listen: ""}
log: {access: %[2]t}
backends:
  static: {targets: [%[1]s]}
  app: {targets: [%[1]s]}
routes:
  - {match: {path: /verify, methods: [POST]}, backend: app}
  - {match: {path_prefix: /static/}, backend: static}
  - {match: {path_prefix: /api/}, backend: app, stats: {name: api, per_api: true}}
`, target, on))
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Recorder: stats.Nop{}, Logger: zap.NewNop()}
	if on {
		opts.Logger = zap.New(zapcore.NewCore(
			zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
			zapcore.AddSync(io.Discard), zapcore.InfoLevel))
		opts.Recorder = benchReporting(b)
	}
	rt, err := New(cfg, opts)
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

// benchReporting is a stats.Stats with both sinks on: statsd to a local
// socket that drops what it reads, and Prometheus.
func benchReporting(b *testing.B) *stats.Stats {
	b.Helper()
	st, err := stats.New(stats.Options{
		Statsd:     stats.StatsdOptions{Address: discardUDP(b), Prefix: "browserid.router"},
		Prometheus: true,
	}, prometheus.NewRegistry(), stats.BuildInfo{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// discardUDP is a loopback UDP socket that reads and drops every packet
// until the benchmark ends; it returns its address.
func discardUDP(b *testing.B) string {
	b.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		c.Close()
		<-done
	})
	return c.LocalAddr().String()
}
