package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// fleetConfig is a router on addr in front of backend, sharing limits
// through the store at url.
func fleetConfig(addr, backend, url, extra string) string {
	return fleetConfigStore(addr, backend, fmt.Sprintf("{url: %q, on_error: local, timeout: 50ms}", url), extra)
}

// fleetConfigStore is fleetConfig with store as limit_store's value.
func fleetConfigStore(addr, backend, store, extra string) string {
	return fmt.Sprintf(`
listen: %s
admin: {listen: ""}
log: {access: false}
backends:
  app: {targets: ["http://%s"]}
routes: [{backend: app, limit: default}]
limits:
  default: {rate: 20/s, burst: 5}
limit_store: %s
%s`, addr, backend, store, extra)
}

// fleetLoad sends GETs from 127.0.0.1, one client per router, without
// pause, and counts the answers by status.
type fleetLoad struct {
	stop context.CancelFunc
	wg   sync.WaitGroup
	mu   sync.Mutex
	by   map[int]int // status (0: transport error) -> count
}

func startFleetLoad(t *testing.T, limit time.Duration, urls ...string) *fleetLoad {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), limit)
	l := &fleetLoad{stop: stop, by: map[int]int{}}
	for _, url := range urls {
		tr := &http.Transport{MaxIdleConnsPerHost: 2}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		l.wg.Go(func() {
			defer tr.CloseIdleConnections()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				resp, err := c.Do(req)
				code := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				} else if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				l.by[code]++
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(l.Stop)
	return l
}

func (l *fleetLoad) Stop() { l.stop(); l.wg.Wait() }

// counts returns a copy of the counts so far.
func (l *fleetLoad) counts() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[int]int, len(l.by))
	for k, v := range l.by {
		m[k] = v
	}
	return m
}

// window counts the answers during d.
func (l *fleetLoad) window(t *testing.T, d time.Duration) (map[int]int, time.Duration) {
	t.Helper()
	before, start := l.counts(), time.Now()
	<-time.After(d) // a measuring window, not a wait for an event
	after, el := l.counts(), time.Since(start)
	for k := range after {
		after[k] -= before[k]
	}
	return after, el
}

func failed(m map[int]int) int {
	n := 0
	for code, c := range m {
		if code == 0 || code >= 500 {
			n += c
		}
	}
	return n
}

// TestFleetSharedLimit runs two bulwark processes sharing one redis-server.
// One client hammering both meets one limit (20/s, burst 5): over a window
// the two routers together admit at most rate×window + burst + 2 (a token
// may refill on each edge of the window). redis-server is then SIGKILLed
// under load: no request fails and each router limits on its own; started
// again on the same port, the routers share the limit again by themselves.
func TestFleetSharedLimit(t *testing.T) {
	srv := redistest.Start(t)
	baddr, r1, r2 := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	startBulwark(t, "r1", r1, fleetConfig(r1, baddr, srv.URL(), ""))
	startBulwark(t, "r2", r2, fleetConfig(r2, baddr, srv.URL(), ""))

	l := startFleetLoad(t, 30*time.Second, "http://"+r1+"/", "http://"+r2+"/")
	bound := func(el time.Duration) int { return int(20*el.Seconds()) + 5 + 2 }

	m, el := l.window(t, time.Second)
	if m[200] > bound(el) || m[200] < int(20*el.Seconds())*8/10 || m[429] == 0 || failed(m) != 0 {
		t.Fatalf("shared: %v in %v, at most %d admitted", m, el, bound(el))
	}
	t.Logf("shared: %v in %v (bound %d)", m, el, bound(el))

	srv.Kill()
	m, el = l.window(t, time.Second)
	if failed(m) != 0 || m[200] == 0 || m[429] == 0 || m[200] > 2*bound(el) {
		t.Fatalf("store down: %v in %v", m, el)
	}
	t.Logf("store down (each router limits alone): %v in %v", m, el)

	srv.Restart()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	back := eventually(t, 5*time.Second, 20*time.Millisecond, "no shared bucket after the restart", func() bool {
		n, err := rdb.Exists(context.Background(), "bulwark:rl:{default:127.0.0.1}").Result()
		return err == nil && n == 1
	})
	t.Logf("shared again %v after the restart", back)
	m, el = l.window(t, time.Second)
	if m[200] > bound(el) || m[429] == 0 || failed(m) != 0 {
		t.Fatalf("after restart: %v in %v, at most %d admitted", m, el, bound(el))
	}
	t.Logf("after restart: %v in %v (bound %d)", m, el, bound(el))
	l.Stop()
	if m := l.counts(); failed(m) != 0 {
		t.Fatalf("failures: %v", m)
	}
}

// TestFleetBan: a client banned by one router is refused by the other
// within a second.
func TestFleetBan(t *testing.T) {
	srv := redistest.Start(t)
	baddr, r1, r2 := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	ban := "abuse:\n  ban: {after_rejections: 3, within: 10s, duration: 1m, max_duration: 4m}\n"
	startBulwark(t, "r1", r1, fleetConfig(r1, baddr, srv.URL(), ban))
	startBulwark(t, "r2", r2, fleetConfig(r2, baddr, srv.URL(), ban))

	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	get := func(addr string) int {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	var banned time.Time
	for i := 0; i < 100; i++ {
		if get(r1) == http.StatusForbidden {
			banned = time.Now()
			break
		}
	}
	if banned.IsZero() {
		t.Fatal("r1 never banned the client")
	}
	took := eventually(t, time.Second, 10*time.Millisecond, "r2 does not enforce r1's ban within 1s", func() bool {
		return get(r2) == http.StatusForbidden
	})
	t.Logf("r2 enforced the ban %v after r1 made it", took)
}
