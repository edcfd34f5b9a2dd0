package router

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// With every target down by the active checks, a client is told to come
// back when the next check may bring one back (interval 10s ±10%), not
// in a second.
func TestNoTargetRetryAfterIsTheNextCheck(t *testing.T) {
	dead := deadAddr(t)
	srv, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], health: {path: /h, interval: 10s, timeout: 1s, fall: 1}}
routes: [{backend: app}]
`, dead))
	b := srv.Router().table.Load().backends["app"]
	for deadline := time.Now().Add(5 * time.Second); !b.targets[0].down.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("target not marked down")
		}
	}
	code, h, _ := get(t, nil, "GET", base+"/", "", nil)
	ra, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != 503 || ra < 8 || ra > 11 {
		t.Fatalf("got %d, Retry-After %q; want 503 and the next check, 8-11s away", code, h.Get("Retry-After"))
	}
}
