package e2e

import (
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"syscall"
	"testing"
	"time"
)

// TestBackendKilledUnderLoad runs bulwark in front of two testbackend
// processes while four clients send GETs without pause. One backend is
// SIGKILLed. Failed requests are bounded by
//
//	clients + consecutive_failures
//
// the requests that were in flight to the killed process (each client has at
// most one) plus, as slack, one breaker threshold of requests that could
// still meet a dead pooled connection; GETs that find the port refusing are
// retried on the other target and do not fail. Then failures stop. Started
// again on the same port, the backend gets traffic back within its grown open
// time (at most 8×open_for) plus a bounded wait, with no operator action.
//
// clients stays below consecutive_failures: the backend-level breaker
// currently counts with the target's threshold, so as many requests in
// flight to the dying target as consecutive_failures would open the whole
// backend (TestTargetDeathDoesNotOpenBackend in router/ shows it).
func TestBackendKilledUnderLoad(t *testing.T) {
	const (
		clients     = 4
		consecutive = 5
		openFor     = 250 * time.Millisecond
	)
	addr1, addr2, raddr := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	one := startBackend(t, "one", addr1, "")
	startBackend(t, "two", addr2, "")
	router := startBulwark(t, "router", raddr, fmt.Sprintf(`
listen: %s
admin: {listen: ""}
log: {access: false}
backends:
  app:
    targets: [http://%s, http://%s]
    retries: 1
    connect_timeout: 500ms
    response_timeout: 2s
    breaker: {consecutive_failures: %d, failure_ratio: 0, open_for: %v}
routes: [{backend: app}]
`, raddr, addr1, addr2, consecutive, openFor))

	l := startLoad(t, "http://"+raddr+"/", clients, time.Millisecond, 30*time.Second)
	eventually(t, 5*time.Second, 10*time.Millisecond, "both backends serve", func() bool {
		return l.count("one") > 50 && l.count("two") > 50
	})
	if f := l.failures(); len(f) > 0 {
		t.Fatalf("%d failures before the kill, first: %v", len(f), f[0])
	}

	one.kill(t)
	killed := time.Now()
	two := l.count("two")
	eventually(t, 10*time.Second, 10*time.Millisecond, "load stalled after the kill", func() bool {
		return l.count("two") > two+500
	})
	fails := l.failures()
	for _, f := range fails {
		t.Logf("failure %v after the kill: %s", f.at.Sub(killed), f.what)
	}
	if bound := clients + consecutive; len(fails) > bound {
		t.Fatalf("%d failed requests after the kill, want at most %d (clients + consecutive_failures)", len(fails), bound)
	}
	// Failures have stopped: another stretch of traffic adds none.
	two = l.count("two")
	eventually(t, 10*time.Second, 10*time.Millisecond, "load stalled", func() bool {
		return l.count("two") > two+300
	})
	if n := len(l.failures()); n != len(fails) {
		t.Fatalf("failures went on: %d, then %d", len(fails), n)
	}

	oneBefore := l.count("one")
	startBackend(t, "one", addr1, "")
	back := eventually(t, 8*openFor+3*time.Second, 10*time.Millisecond, "no traffic to the restarted backend", func() bool {
		return l.count("one") > oneBefore+20
	})
	l.Stop()
	t.Logf("%d requests; %d failed after SIGKILL; restarted backend had traffic again after %v (open_for %v)",
		l.total(), len(fails), back, openFor)
	if n := len(l.failures()); n != len(fails) {
		t.Fatalf("%d failures after the restart", n-len(fails))
	}

	router.signal(t, syscall.SIGTERM)
	if code := router.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("bulwark exited %d after SIGTERM, want 0", code)
	}
}
