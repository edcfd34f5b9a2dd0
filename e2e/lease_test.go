package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// TestFleetModes: three bulwark processes share one limit (20/s, burst 5)
// with one client hammering all three: in exact mode the fleet admits
// within rate×window + burst + 2 (a token may refill at each edge); in
// lease mode (a slice is 2 tokens) within that plus one slice per router.
func TestFleetModes(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []string{"exact", "lease"} {
		t.Run(mode, func(t *testing.T) {
			baddr := testutil.FreeAddr(t)
			startBackend(t, "app", baddr, "")
			store := fmt.Sprintf("{url: %q, mode: %s, on_error: local, timeout: 50ms}", srv.URL(), mode)
			var urls []string
			for i := range 3 {
				r := testutil.FreeAddr(t)
				startBulwark(t, fmt.Sprintf("r%d", i+1), r, fleetConfigStore(r, baddr, store, ""))
				urls = append(urls, "http://"+r+"/")
			}
			l := startFleetLoad(t, 30*time.Second, urls...)
			extra := 0
			if mode == "lease" {
				extra = 3 * 2
			}
			for w := range 2 {
				m, el := l.window(t, time.Second)
				bound := int(20*el.Seconds()) + 5 + 2 + extra
				if m[200] > bound || m[200] < int(20*el.Seconds())*8/10 || m[429] == 0 || failed(m) != 0 {
					t.Fatalf("window %d: %v in %v, at most %d admitted", w, m, el, bound)
				}
				t.Logf("%s, 3 routers: %v in %v (bound %d)", mode, m, el, bound)
			}
		})
	}
}
