package hostile

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/router"
	"github.com/bulwark-router/bulwark/router/breaker"
)

// transports are the two upstream paths every case runs on.
var transports = []string{"standard", "fast"}

// breakerYAML is the breaker of the request-side cases: a single failure
// opens it, so one client fault wrongly blamed on the backend shows.
const breakerYAML = "{consecutive_failures: 1, failure_ratio: 0, open_for: 1m}"

// routerYAML is the config every case runs: one backend, a route with a
// tiny limit under /lim/ (its second request is refused with a 429), and
// everything else unlimited. The client table is kept small: a case
// starts hundreds of routers.
func routerYAML(backendURL, transport, breaker string) string {
	return fmt.Sprintf(`server: {max_body_bytes: 64KiB, max_header_bytes: 32KiB, read_header_timeout: 5s, read_timeout: 10s}
backends:
  app:
    targets: [%q]
    transport: %s
    response_timeout: 2s
    breaker: %s
routes:
  - match: {path_prefix: /lim/}
    backend: app
    limit: tiny
  - backend: app
    limit: none
limits:
  tiny: {rate: 1/h, burst: 1}
abuse: {max_tracked_clients: 1000}
`, backendURL, transport, breaker)
}

// startRouter serves yaml on loopback until the test ends.
func startRouter(t testing.TB, yaml string) (*router.Server, string) {
	t.Helper()
	yaml = "listen: " + loopbackHost() + ":0\nadmin: {listen: \"\"}\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	rt, err := router.New(cfg, router.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := router.NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv, srv.Addr().String()
}

// stopRouter drains srv and waits until no request is left in it.
func stopRouter(t testing.TB, srv *router.Server) {
	t.Helper()
	testutil.Drain(t, srv.Shutdown, srv.Router().InFlight)
}

// breakerMoved describes any breaker of srv that is not closed, and any
// target failure counted: after a client's fault there must be none.
func breakerMoved(srv *router.Server) string {
	var moved []string
	for _, b := range srv.Router().Status(nil) {
		if b.Breaker != breaker.StateClosed {
			moved = append(moved, fmt.Sprintf("backend %s breaker %v", b.Name, b.Breaker))
		}
		for _, tg := range b.Targets {
			if tg.Breaker != breaker.StateClosed {
				moved = append(moved, fmt.Sprintf("target %s breaker %v", tg.URL, tg.Breaker))
			}
			if tg.Failures > 0 {
				moved = append(moved, fmt.Sprintf("target %s counted %d failures", tg.URL, tg.Failures))
			}
		}
	}
	return strings.Join(moved, "; ")
}
