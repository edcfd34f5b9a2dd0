package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/router"
)

// Flood scenario, all on loopback, the router in-process:
//
//   - the app: floodSlots workers, each request holding one for floodWork
//     (floodSlots/floodWork = 800 requests/s, the capacity measured for the
//     app behind nginx/HAProxy);
//   - legit users: floodLegit clients at floodLegitPace each, known after
//     the warm-up;
//   - the flood: floodWorkers connections sending as fast as answers come,
//     each request from the next of floodIdentities rotating addresses
//     (X-Forwarded-For from the trusted 127.0.0.1), every one far under
//     its per-client limit.
const (
	floodSlots     = 4
	floodWork      = 5 * time.Millisecond
	floodLegit     = 20
	floodLegitPace = 100 * time.Millisecond // 10 req/s each, 200 req/s in all
	floodWorkers   = 32
	// floodPace bounds each flood connection to one request per 12ms
	// (2700 requests/s offered in all, 3.3x the app's capacity, 2.7x the flood
	// measured against nginx/HAProxy): unbounded, the generator alone would
	// take the 2 cores the router runs on, and the test would measure the
	// machine, not the router.
	floodPace       = 12 * time.Millisecond
	floodIdentities = 5000
	floodWarm       = 2 * time.Second
	floodFor        = 4 * time.Second
	floodTracked    = 3000 // below floodIdentities: the table's cap is tested too
)

func floodConfig(share float64) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0}
log: {access: false}
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app:
    targets: [%%s]
    max_in_flight: %d
    queue: {max_len: 64, max_wait: 100ms}
routes:
  - match: {path_prefix: /}
    backend: app
limits:
  default: {rate: 20/s, burst: 20}
abuse:
  max_tracked_clients: %d
  new_client_share: %g
`, floodSlots, floodTracked, share)
}

// floodApp is the app with limited capacity: it counts the concurrency it
// sees, the router's guard must keep it at floodSlots.
type floodApp struct {
	srv  *httptest.Server
	sem  chan struct{}
	cur  atomic.Int64
	peak atomic.Int64
}

func newFloodApp(t *testing.T) *floodApp {
	a := &floodApp{sem: make(chan struct{}, floodSlots)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.cur.Add(1)
		defer a.cur.Add(-1)
		for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
		}
		a.sem <- struct{}{}
		time.Sleep(floodWork) // the work itself
		<-a.sem
		io.WriteString(w, "ok")
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// sample is one legit request: when it started, how long it took, whether
// it got 200.
type sample struct {
	at   time.Duration // since the run began
	dur  time.Duration
	ok   bool
	code int
}

type floodResult struct {
	before, during      []sample
	flooded, floodOK    int64
	appPeak             int64
	tracked, capacity   int
	attackSeen          bool
	heartbeat           string // status and body of /__heartbeat__ in attack mode
	heapMiB             uint64
	successPct          float64
	p99Before, p99Flood time.Duration
}

func pct(s []sample, q int) time.Duration {
	d := make([]time.Duration, 0, len(s))
	for _, x := range s {
		if x.ok {
			d = append(d, x.dur)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*q/100)]
}

// heartbeat returns "STATUS BODY" of a GET.
func heartbeat(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func p99(s []sample) time.Duration { return pct(s, 99) }

// runFlood runs one scenario: legit users for warm, then the flood for
// floodFor with the users still going. A client is known after 5 good
// answers over knownAfter.
func runFlood(t *testing.T, share float64, warm, knownAfter time.Duration) floodResult {
	app := newFloodApp(t)
	cfg, err := config.Load(fmt.Appendf(nil, floodConfig(share), app.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	rt, err := router.New(cfg, router.Options{Logger: log, Admission: []ratelimit.Option{
		ratelimit.WithReputation(5, knownAfter),
		ratelimit.WithAttackDetection(100, 4, time.Second),
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := router.NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	url := "http://" + srv.Addr().String() + "/api"

	ctx, stop := context.WithTimeout(context.Background(), warm+floodFor)
	defer stop()
	begin := time.Now()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		samples []sample
	)
	send := func(c *http.Client, client string) (int, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for i := range floodLegit {
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		offset := floodLegitPace * time.Duration(i) / floodLegit // users do not click in step
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			select {
			case <-ctx.Done():
				return
			case <-time.After(offset):
			}
			tk := time.NewTicker(floodLegitPace)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				t0 := time.Now()
				code, err := send(c, ip)
				s := sample{at: t0.Sub(begin), dur: time.Since(t0), ok: err == nil && code == 200, code: code}
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
		})
	}

	var flooded, floodOK atomic.Int64
	var next atomic.Uint64
	floodCtx, floodStop := context.WithCancel(ctx)
	defer floodStop()
	attack := make(chan bool, 1)
	var hb string
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(warm):
		}
		var fw sync.WaitGroup
		for range floodWorkers {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
			fw.Go(func() {
				defer tr.CloseIdleConnections()
				tk := time.NewTicker(floodPace)
				defer tk.Stop()
				for {
					select {
					case <-floodCtx.Done():
						return
					case <-tk.C:
					}
					n := next.Add(1) % floodIdentities
					ip := fmt.Sprintf("10.%d.%d.%d", n>>16, n>>8&255, n&255)
					if code, err := send(c, ip); err == nil {
						flooded.Add(1)
						if code == 200 {
							floodOK.Add(1)
						}
					}
				}
			})
		}
		// Watch for attack mode while the flood runs.
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		seen := false
		for !seen {
			select {
			case <-floodCtx.Done():
				fw.Wait()
				attack <- false
				return
			case <-tk.C:
				seen = rt.Admission().UnderAttack()
			}
		}
		// The heartbeat shows it without turning red.
		hb = heartbeat(url[:len(url)-len("/api")] + "/__heartbeat__")
		fw.Wait()
		attack <- true
	})
	wg.Wait()
	res := floodResult{flooded: flooded.Load(), floodOK: floodOK.Load(), appPeak: app.peak.Load()}
	res.attackSeen = <-attack
	res.heartbeat = hb
	snap := rt.Admission().Snapshot(0)
	res.tracked, res.capacity = snap.TrackedClients, snap.Capacity
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.heapMiB = ms.HeapInuse >> 20

	ok := 0
	codes := map[int]int{}
	for _, s := range samples {
		codes[s.code]++
		switch {
		case s.at < warm/2:
			continue // reputations still forming
		case s.at < warm:
			res.before = append(res.before, s)
		default:
			res.during = append(res.during, s)
			if s.ok {
				ok++
			}
		}
	}
	if len(res.during) > 0 {
		res.successPct = 100 * float64(ok) / float64(len(res.during))
	}
	res.p99Before, res.p99Flood = p99(res.before), p99(res.during)
	t.Logf("share %.1f, warm-up %v: legit %d requests during the flood, %.2f%% ok (answers %v), p50 %v p99 %v before, p50 %v p99 %v during; flood %d requests (%.0f/s), %d ok; app peak concurrency %d; tracked %d of %d; attack mode seen %v; heap %d MiB",
		share, warm, len(res.during), res.successPct, codes, pct(res.before, 50), res.p99Before, pct(res.during, 50), res.p99Flood,
		res.flooded, float64(res.flooded)/floodFor.Seconds(), res.floodOK, res.appPeak, res.tracked, res.capacity, res.attackSeen, res.heapMiB)
	return res
}

func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	on := runFlood(t, 0.3, floodWarm, 500*time.Millisecond)
	off := runFlood(t, 1, floodWarm, 500*time.Millisecond)
	t.Logf("legit during the flood: with new_client_share 0.3 %.2f%% ok, p99 %v; with 1 (off) %.2f%% ok, p99 %v",
		on.successPct, on.p99Flood, off.successPct, off.p99Flood)

	for _, r := range []floodResult{on, off} {
		if r.appPeak > floodSlots {
			t.Errorf("app saw %d requests at once, max_in_flight is %d", r.appPeak, floodSlots)
		}
		if r.tracked > r.capacity {
			t.Errorf("%d clients tracked, cap %d", r.tracked, r.capacity)
		}
		if !r.attackSeen {
			t.Error("attack mode never came on during the flood")
		} else if !strings.HasPrefix(r.heartbeat, "200 ") || !strings.Contains(r.heartbeat, `"under_attack":true`) {
			t.Errorf("heartbeat in attack mode: %s", r.heartbeat)
		}
	}
	if raceEnabled {
		// The race detector slows the router, the app and the flood
		// alike on two shared cores: latency says nothing then.
		t.Log("race detector on: latency and success not asserted")
		return
	}
	// Known users are served, and far better than the flood (which has
	// most of the requests): this holds on a loaded machine too.
	floodPct := 100 * float64(on.floodOK) / float64(max(on.flooded, 1))
	if on.successPct < 95 || on.successPct <= floodPct {
		t.Errorf("legit success during the flood %.2f%% (the flood's %.2f%%), want at least 95%% and more than the flood's",
			on.successPct, floodPct)
	}
	if os.Getenv("BULWARK_FLOOD_FULL") != "1" {
		// The router runs in this process beside the flood: on a shared
		// machine the scheduler's tail (p99 of 100-800ms with the same
		// code from one run to the next, at a load of 10 on 2 cores) is
		// not the router's. The flood is closed-loop: refused at once
		// with the priority on, it sends about five times the requests it
		// sends without, so the router in this process has more to do.
		t.Log("latency bounds asserted with BULWARK_FLOOD_FULL=1 (a quiet machine)")
		return
	}
	if on.successPct < 99.5 {
		t.Errorf("legit success during the flood %.2f%%, want at least 99.5%%", on.successPct)
	}
	if on.p99Flood > 4*on.p99Before || on.p99Flood >= 50*time.Millisecond {
		t.Errorf("legit p99 %v during the flood, %v before: want at most 4x and under 50ms", on.p99Flood, on.p99Before)
	}
	if on.successPct < off.successPct || on.p99Flood >= off.p99Flood {
		t.Errorf("priority did not help: %.2f%% ok p99 %v with it, %.2f%% p99 %v without",
			on.successPct, on.p99Flood, off.successPct, off.p99Flood)
	}
}

// TestFloodColdStart starts the flood together with the users: nobody is
// known, so new_client_share does not apply (reserving slots for nobody
// would only idle the app) and everyone shares the bounded FIFO queue. The
// app is still never asked for more than max_in_flight at once, and a
// user's wait is bounded by queue.max_wait: no worse than the anchors
// (nginx, HAProxy: median 312ms, unbounded tail). While attack mode lasts,
// a client first seen during the attack needs ten times the reputation's
// age to become known (so the bots cannot earn it either): the users get
// priority only then, or once the attack is over.
func TestFloodColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	r := runFlood(t, 0.3, 0, time.Minute) // nobody becomes known in the test
	if r.appPeak > floodSlots {
		t.Errorf("app saw %d requests at once, max_in_flight is %d", r.appPeak, floodSlots)
	}
	if r.tracked > r.capacity {
		t.Errorf("%d clients tracked, cap %d", r.tracked, r.capacity)
	}
	if raceEnabled {
		return
	}
	// max_wait (100ms) + the app's 5ms, with room for a loaded machine.
	if p50 := pct(r.during, 50); p50 >= 312*time.Millisecond {
		t.Errorf("legit median %v during a cold-start flood, anchors 312ms", p50)
	}
	if r.p99Flood >= 312*time.Millisecond {
		t.Errorf("legit p99 %v during a cold-start flood, want under 312ms", r.p99Flood)
	}
}
