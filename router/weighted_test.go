package router

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/breaker"
)

// TestSmoothWeightedSequence is nginx's example: weights 5, 1, 1 spread as
// a a b a c a a, not a a a a a b c.
func TestSmoothWeightedSequence(t *testing.T) {
	cfg := &config.Backend{Targets: []config.Target{
		{URL: "http://a", Weight: 5}, {URL: "http://b", Weight: 1}, {URL: "http://c", Weight: 1}}}
	b, err := newBackend("app", cfg, func(string, string, breaker.State, breaker.State) {}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for range 14 {
		got.WriteString(strings.TrimPrefix(b.pick(0).raw, "http://"))
	}
	if want := "aabacaaaabacaa"; got.String() != want {
		t.Fatalf("sequence %s, want %s", got.String(), want)
	}
	// A tried target sits out; the others keep their shares.
	if tg := b.pick(1 << 0); tg == nil || tg.raw == "http://a" {
		t.Fatalf("picked %v with a tried", tg)
	}
}

// TestWeightedSpread sends 1,000 sequential requests to targets weighted
// 3:1 under each policy: the heavy one gets 75% ±10% of them.
func TestWeightedSpread(t *testing.T) {
	heavy, light := namedBackend(t, "heavy"), namedBackend(t, "light")
	for _, policy := range []string{"round_robin", "least_requests", "p2c"} {
		t.Run(policy, func(t *testing.T) {
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app:
    balance: %s
    targets:
      - {url: "%s", weight: 3}
      - %s
routes:
  - backend: app
`, policy, heavy.URL, light.URL))
			counts := map[string]int{}
			for range 1000 {
				code, h, _ := get(t, nil, "GET", base+"/", "", nil)
				if code != 200 {
					t.Fatalf("status %d", code)
				}
				counts[h.Get("X-Backend")]++
			}
			if n := counts["heavy"]; n < 675 || n > 825 || counts["light"] != 1000-n {
				t.Fatalf("spread %v, want heavy 750 ±75", counts)
			}
		})
	}
}

// TestWeightedLeastRequestsUnderLoad: with requests held in flight, the
// weight-3 target carries three times the light one's.
func TestWeightedLeastRequestsUnderLoad(t *testing.T) {
	release := make(chan struct{})
	var heavyIn, lightIn atomic.Int32
	hold := func(n *atomic.Int32) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			<-release
			io.WriteString(w, "ok")
		}))
		t.Cleanup(s.Close)
		return s
	}
	heavy, light := hold(&heavyIn), hold(&lightIn)
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app:
    balance: least_requests
    targets: [{url: "%s", weight: 3}, "%s"]
routes:
  - backend: app
`, heavy.URL, light.URL))
	const n = 8
	done := make(chan int, n)
	for i := range n {
		go func() {
			resp, err := http.Get(base + "/")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		// One at a time, so each pick sees the previous ones in flight.
		for deadline := time.Now().Add(5 * time.Second); int(heavyIn.Load()+lightIn.Load()) < i+1; {
			if time.Now().After(deadline) {
				t.Fatalf("request %d never reached a target", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	h, l := heavyIn.Load(), lightIn.Load()
	close(release)
	for range n {
		if code := <-done; code != 200 {
			t.Errorf("status %d", code)
		}
	}
	if h != 6 || l != 2 {
		t.Fatalf("in flight heavy %d, light %d; want 6 and 2", h, l)
	}
}

// TestBackupTargets: a backup serves only while the primary is down by its
// health checks, and stops when the primary comes back.
func TestBackupTargets(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Backend", "primary")
	}))
	t.Cleanup(primary.Close)
	backup := namedBackend(t, "backup")
	for _, policy := range []string{"round_robin", "least_requests", "p2c"} {
		t.Run(policy, func(t *testing.T) {
			healthy.Store(true)
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app:
    balance: %s
    targets: ["%s", {url: "%s", backup: true}]
    health: {path: /health, interval: 20ms, timeout: 1s, rise: 1, fall: 1}
routes:
  - backend: app
`, policy, primary.URL, backup.URL))
			served := func(n int) map[string]int {
				counts := map[string]int{}
				for range n {
					code, h, _ := get(t, nil, "GET", base+"/", "", nil)
					if code != 200 {
						t.Fatalf("status %d", code)
					}
					counts[h.Get("X-Backend")]++
				}
				return counts
			}
			waitFor := func(want string) {
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); ; {
					if _, h, _ := get(t, nil, "GET", base+"/", "", nil); h.Get("X-Backend") == want {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s never served", want)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if c := served(100); c["primary"] != 100 {
				t.Fatalf("primary up: %v", c)
			}
			healthy.Store(false)
			waitFor("backup")
			if c := served(50); c["backup"] != 50 {
				t.Fatalf("primary down: %v", c)
			}
			healthy.Store(true)
			waitFor("primary")
			if c := served(100); c["primary"] != 100 {
				t.Fatalf("primary back: %v", c)
			}
		})
	}
}

// TestBackupOnOpenBreaker: a primary that refuses connections opens its
// breaker; its requests are retried on, then sent to, the backup.
func TestBackupOnOpenBreaker(t *testing.T) {
	backup := namedBackend(t, "backup")
	srv, base := startRouter(t, fmt.Sprintf(`
backends:
  app:
    targets: ["%s", {url: "%s", backup: true}]
    breaker: {consecutive_failures: 1, open_for: 1m}
routes:
  - backend: app
`, deadAddr(t), backup.URL))
	for i := range 20 {
		if code, h, _ := get(t, nil, "GET", base+"/", "", nil); code != 200 || h.Get("X-Backend") != "backup" {
			t.Fatalf("request %d: %d from %q", i, code, h.Get("X-Backend"))
		}
	}
	st := srv.Router().Status(nil)
	if tg := st[0].Targets; tg[0].Requests != 1 || tg[1].Requests != 20 || !tg[1].Backup || tg[0].Weight != 1 {
		t.Fatalf("targets %+v", tg)
	}
}

// BenchmarkPick compares the plain pick with the weighted one, per policy.
func BenchmarkPick(b *testing.B) {
	for _, policy := range []string{"round_robin", "least_requests", "p2c"} {
		for _, weighted := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/weighted=%v", policy, weighted), func(b *testing.B) {
				ts := config.URLs("http://a", "http://b", "http://c")
				if weighted {
					ts[0].Weight = 3
				}
				bk, err := newBackend("app", &config.Backend{Targets: ts, Balance: policy},
					func(string, string, breaker.State, breaker.State) {}, time.Now)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if bk.pick(0) == nil {
							b.Fatal("no target")
						}
					}
				})
			})
		}
	}
}
