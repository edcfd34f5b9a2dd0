package router

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// The access log: one line per request, forwarded or refused by the front,
// sampled by Options.AccessSampler before a line is built.
func TestAccessLogSampling(t *testing.T) {
	be := namedBackend(t, "app")
	for _, tt := range []struct {
		name        string
		initial     int // 0: no sampler
		wantLines   int
		wantDropped int
	}{
		{"every line", 0, 6, 0},
		{"first 2 a second", 2, 2, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dropped atomic.Int64
			var sample *stats.LineSampler
			if tt.initial > 0 {
				sample = stats.NewLineSampler(config.LogSample{Initial: tt.initial}, func() { dropped.Add(1) })
			}
			core, logs := observer.New(zapcore.InfoLevel)
			cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + frontConfig(be.URL, "")))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Log.Access = true
			rt, err := New(cfg, Options{Logger: zap.New(core), AccessSampler: sample})
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(cfg, rt, zap.New(core))
			if err := srv.Start(nil); err != nil {
				t.Fatal(err)
			}
			defer stopRouter(t, srv)
			base := "http://" + srv.Addr().String()
			logged := func(n int) []observer.LoggedEntry { // waits for n requests logged or dropped
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
					lines := logs.FilterMessage(stats.AccessMessage).All()
					if len(lines)+int(dropped.Load()) >= n {
						return lines
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d requests logged and %d dropped, want %d in all", len(lines), dropped.Load(), n)
					}
				}
			}
			spendToken(t, base) // a forwarded request, logged after its answer is out
			logged(1)
			c := dialRaw(t, base)
			for range 3 { // refused by the front
				c.send(get1("/limited/x"))
				if resp, _ := c.next(); resp.StatusCode != 429 {
					t.Fatalf("%d", resp.StatusCode)
				}
			}
			for range 2 { // forwarded
				c.send(get1("/ok"))
				if resp, _ := c.next(); resp.StatusCode != 200 {
					t.Fatalf("%d", resp.StatusCode)
				}
			}
			lines := logged(6)
			if len(lines) != tt.wantLines || int(dropped.Load()) != tt.wantDropped {
				t.Fatalf("%d access lines, %d dropped; want %d, %d", len(lines), dropped.Load(), tt.wantLines, tt.wantDropped)
			}
			if f := lines[0].ContextMap(); f["path"] != "/limited/a" || f["status"] != int64(http.StatusOK) || f["backend"] != "app" {
				t.Errorf("first line %v", f)
			}
			if sample == nil {
				if f := lines[1].ContextMap(); f["status"] != int64(429) || f["refused"] != "rate_limit" {
					t.Errorf("a refusal's line %v", f)
				}
			}
		})
	}
}
