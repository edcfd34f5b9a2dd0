package router

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/bulwark-router/bulwark/health"
	"github.com/bulwark-router/bulwark/router/clientip"
)

// probe sends a backend's own health path through the same forwarding path
// real traffic takes (balancer, breakers, transport), for the composite
// heartbeat.
func (rt *Router) probe(ctx context.Context, backend string) health.ProbeResult {
	t := rt.table.Load()
	b := t.backends[backend]
	if b == nil {
		return health.ProbeResult{Err: "unknown backend"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://bulwark"+b.cfg.Health.Path, nil)
	if err != nil {
		return health.ProbeResult{Err: err.Error()}
	}
	req.RemoteAddr = "127.0.0.1:0"
	req.Header.Set("User-Agent", "bulwark-heartbeat")
	st := &requestState{backend: b, requestID: clientip.NewRequestID()}
	cw := &captureWriter{h: http.Header{}}
	st.w.reset(cw)
	start := time.Now()
	rt.relay(&st.w, req, st)
	res := health.ProbeResult{Status: st.w.status, Body: cw.body.String(), Latency: time.Since(start),
		Targets: make([]health.TargetState, len(b.targets))}
	for i, tg := range b.targets {
		res.Targets[i] = health.TargetState{URL: tg.raw, Up: !tg.down.Load(), Breaker: tg.breaker.State().String()}
	}
	if st.err != nil && !st.retried() {
		res.Err = st.err.Error()
	} else if res.Status == 0 {
		res.Status = http.StatusOK
	}
	return res
}

// captureWriter keeps the status and the first bytes of a probe's answer.
type captureWriter struct {
	h    http.Header
	body bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.h }
func (c *captureWriter) WriteHeader(int)     {}
func (c *captureWriter) Write(p []byte) (int, error) {
	if room := 512 - c.body.Len(); room > 0 {
		c.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
