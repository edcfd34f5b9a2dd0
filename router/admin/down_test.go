package admin

import (
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"testing"
	"time"
)

// A backend whose targets all failed their health checks is down because
// of its targets, though its own breaker is closed; the status says which.
func TestStatusSaysWhyABackendIsDown(t *testing.T) {
	clk := &testutil.Clock{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk.Set(t0)
	rec := NewRecorder(nil, clk.Now)
	srv := startServer(t, fmt.Sprintf(`
backends:
  app:
    targets: [http://%s, http://%s]
    health: {path: /h, interval: 20ms, timeout: 1s, fall: 1}
routes: [{backend: app}]
`, testutil.FreeAddr(t), testutil.FreeAddr(t)), rec)
	s := newSampler(srv, rec, WithClock(clk.Now), WithStarted(t0))
	var b Backend
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		clk.Advance(time.Second)
		s.sample(clk.Now())
		if b = s.Status().Backends[0]; b.Down != "" || time.Now().After(deadline) {
			break
		}
	}
	if b.Up || b.Down != "targets down" || b.Breaker.State != "closed" {
		t.Fatalf("backend up %v, down %q, breaker %s; want down: targets down, breaker closed", b.Up, b.Down, b.Breaker.State)
	}
	for _, tg := range b.Targets {
		if tg.Up {
			t.Errorf("target %s up", tg.URL)
		}
	}
}
