package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// countsConfig: /strict allows 1/m, /login counts auth failures. The test
// backend answers 200 to everything, so on /login 200 stands for a failed
// login.
func countsConfig(addr, backend, url string) string {
	return fmt.Sprintf(`
listen: %s
admin: {listen: ""}
log: {access: false}
backends:
  app: {targets: ["http://%s"]}
routes:
  - {match: {path: /strict}, backend: app, limit: strict}
  - {match: {path: /login}, backend: app, limit: none, abuse: auth}
  - {backend: app}
limits:
  default: {rate: 100/s, burst: 100}
  strict: {rate: 1/m, burst: 1}
abuse:
  ban: {after_rejections: 6, within: 1m, duration: 1m, max_duration: 4m}
  auth_failures: {statuses: [200], max: 3, within: 1m}
limit_store: {url: %q, on_error: local, timeout: 250ms}
`, addr, backend, url)
}

// clientFrom is an HTTP client whose requests come from the loopback
// address src, so one test can be several clients.
func clientFrom(t *testing.T, src string) func(addr, path string) int {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		return d.DialContext(ctx, n, a)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return func(addr, path string) int {
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// TestFleetSharedCounts: strikes and auth failures arriving at two
// routers, below each one's threshold alone, add up in the store: the
// client is banned on both, as by one router seeing them all.
func TestFleetSharedCounts(t *testing.T) {
	srv := redistest.Start(t)
	baddr, r1, r2 := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	startBulwark(t, "r1", r1, countsConfig(r1, baddr, srv.URL()))
	startBulwark(t, "r2", r2, countsConfig(r2, baddr, srv.URL()))
	routers := []string{r1, r2}

	// Six refusals, three at each router: the sixth strike bans.
	get := clientFrom(t, "127.0.0.2")
	if c := get(r1, "/strict"); c != 200 {
		t.Fatalf("first /strict: %d", c)
	}
	for i := range 6 {
		if c := get(routers[i%2], "/strict"); c != http.StatusTooManyRequests {
			t.Fatalf("refusal %d: %d", i, c)
		}
	}
	for _, r := range routers {
		took := eventually(t, time.Second, 10*time.Millisecond, r+" does not enforce the strikes' ban", func() bool {
			return get(r, "/other") == http.StatusForbidden
		})
		t.Logf("strikes at two routers: %s bans within %v", r, took)
	}

	// Four failed logins, two at each router (max 3): banned on both.
	login := clientFrom(t, "127.0.0.3")
	for i := range 4 {
		if c := login(routers[i%2], "/login"); c != 200 {
			t.Fatalf("login %d: %d", i, c)
		}
	}
	for _, r := range routers {
		took := eventually(t, time.Second, 10*time.Millisecond, r+" does not enforce the auth-failure ban", func() bool {
			return login(r, "/other") == http.StatusForbidden
		})
		t.Logf("auth failures at two routers: %s bans within %v", r, took)
	}
}
