package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// attackFloodConfig is one bulwark trusting X-Forwarded-For from 127.0.0.1 (the
// flood's "load balancer"), with a 20/s burst 40 default limit, bans after
// 50 refusals and a client table capped at its minimum size.
const attackFloodConfig = `listen: %s
admin: {listen: %s}
log: {level: error, access: false}
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
limits:
  default: {rate: 20/s, burst: 40}
abuse:
  max_tracked_clients: 2000
  ban: {after_rejections: 50, within: 1m}
`

const (
	floodRate       = 20   // limits.default.rate, per second
	floodBurst      = 40   // limits.default.burst
	floodMaxTracked = 2000 // abuse.max_tracked_clients
	floodRotating   = 20000
	floodHeavy      = 5
	attackWorkers   = 32
	floodDuration   = 5 * time.Second
	legitClients    = 5
	legitPace       = 200 * time.Millisecond // 5 req/s each
	// floodMaxRSS bounds the router's resident memory. The table holds at
	// most 2000 records of ~130 bytes, and the connections are the 32 flood
	// ones plus 5 legitimate ones: the router idles at ~15-25 MiB and
	// should stay there. 200 MiB leaves room for the Go heap's growth under
	// a CPU-saturated flood (GC pacing lags) while still catching anything
	// that grows with the number of requests or of distinct clients.
	floodMaxRSS = 200 << 20
)

// clientCounter is a backend that counts requests by the first entry of
// X-Forwarded-For: the client as the router saw it.
type clientCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *clientCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
	id = strings.TrimSpace(id)
	c.mu.Lock()
	c.n[id]++
	c.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok\n")
}

func (c *clientCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}

// tally counts answers by status; -1 is a transport error.
type tally map[int]int

func (t tally) add(o tally) {
	for k, v := range o {
		t[k] += v
	}
}

func (t tally) total() int {
	n := 0
	for _, v := range t {
		n += v
	}
	return n
}

func (t tally) String() string {
	keys := make([]int, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	for _, k := range keys {
		name := strconv.Itoa(k)
		if k < 0 {
			name = "error"
		}
		fmt.Fprintf(&b, "%s:%d ", name, t[k])
	}
	return strings.TrimSpace(b.String())
}

// get sends one GET and reads the body; it returns the status or -1.
func get(c *http.Client, req *http.Request) int {
	resp, err := c.Do(req)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func heavyAddr(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }

func rotatingAddr(i int) string {
	a := netip.AddrFrom4([4]byte{10, 1 + byte(i>>16), byte(i >> 8), byte(i)})
	return a.String()
}

// legitAddr is a legitimate client's own source address (a loopback
// address other than the trusted 127.0.0.1, so the router takes the socket
// peer as the client).
func legitAddr(i int) string { return fmt.Sprintf("127.0.0.%d", i+2) }

// peakSampler polls the router's tracked clients and RSS until stopped.
type peakSampler struct {
	stop    context.CancelFunc
	done    chan struct{}
	tracked atomic.Int64
	rss     atomic.Int64
	samples atomic.Int64
	errs    atomic.Int64
}

func startPeakSampler(pid int, metricsURL string, every time.Duration) *peakSampler {
	ctx, stop := context.WithCancel(context.Background())
	s := &peakSampler{stop: stop, done: make(chan struct{})}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	go func() {
		defer close(s.done)
		defer tr.CloseIdleConnections()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			if rss, err := vmRSS(pid); err == nil {
				maxInt64(&s.rss, rss)
			} else {
				s.errs.Add(1)
			}
			if n, err := metricValue(c, metricsURL, "bulwark_tracked_clients"); err == nil {
				maxInt64(&s.tracked, int64(n))
			} else {
				s.errs.Add(1)
			}
			s.samples.Add(1)
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
		}
	}()
	return s
}

// Close stops the sampler and waits for it.
func (s *peakSampler) Close() error {
	s.stop()
	<-s.done
	return nil
}

func maxInt64(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// vmRSS reads VmRSS of pid in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// metricValue returns the sum of every sample of the Prometheus metric name
// whose labels contain every one of labels (e.g. `reason="banned"`).
func metricValue(c *http.Client, url, name string, labels ...string) (float64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("no %s%v in %s", name, labels, url)
	}
	return sum, nil
}

// TestFloodKeepsLegitimateClientsServed floods one bulwark, from its trusted
// peer 127.0.0.1, with five heavy hitters and a walk through up to 20,000
// rotating X-Forwarded-For identities (how far it gets depends on the
// machine; it must pass the table's 2000), as fast as 32 keep-alive
// connections go, while five legitimate clients on their own addresses send
// 5 requests a second each. The legitimate clients are served, no identity
// gets more than its limit through to the backend, the table and the
// router's memory stay bounded, and the heavy hitters end up banned.
func TestFloodKeepsLegitimateClientsServed(t *testing.T) {
	counter := &clientCounter{n: map[string]int{}}
	backend := httptest.NewServer(counter)
	t.Cleanup(backend.Close)

	addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
	p := startBulwark(t, "flood", addr, fmt.Sprintf(attackFloodConfig, addr, admin, backend.URL))
	metricsURL := "http://" + admin + "/metrics"

	sampler := startPeakSampler(p.cmd.Process.Pid, metricsURL, 100*time.Millisecond)
	t.Cleanup(func() { sampler.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), floodDuration)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		flood   = tally{}
		legit   = make([]tally, legitClients)
		next    atomic.Int64 // the next rotating identity
		lateMax atomic.Int64 // the slowest legitimate answer, ns
	)
	url := "http://" + addr + "/flood"
	start := time.Now()
	for w := range attackWorkers {
		tr := &http.Transport{MaxIdleConnsPerHost: 1}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			mine := tally{}
			defer func() {
				mu.Lock()
				flood.add(mine)
				mu.Unlock()
			}()
			for n := 0; ctx.Err() == nil; n++ {
				// Half the flood is the heavy hitters, each well over its
				// rate even on a slow machine (so 50 refusals, and a ban,
				// come within the first second or two); the other half
				// walks through the rotating identities.
				var id string
				if n%2 == 0 {
					id = heavyAddr((w + n/2) % floodHeavy)
				} else {
					id = rotatingAddr(int(next.Add(1)-1) % floodRotating)
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("X-Forwarded-For", id)
				mine[get(c, req)]++
			}
		})
	}
	for i := range legitClients {
		local := &net.TCPAddr{IP: net.ParseIP(legitAddr(i))}
		tr := &http.Transport{
			MaxIdleConnsPerHost: 1,
			DialContext:         (&net.Dialer{LocalAddr: local, Timeout: time.Second}).DialContext,
		}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		mine := tally{}
		legit[i] = mine
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			tk := time.NewTicker(legitPace)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				t0 := time.Now()
				mine[get(c, req)]++
				maxInt64(&lateMax, int64(time.Since(t0)))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sampler.Close()

	// Every identity's admitted requests: at most a full bucket plus what
	// the rate refills while traffic runs (the router admits each request
	// between our send and its answer, so within elapsed). Evicted clients
	// come back to their debt (the sketch only overestimates it) and
	// untracked ones are decided by the sketch alone, so neither gets more.
	// One request of slack for the integer rounding of tokens.
	bound := floodBurst + int(float64(floodRate)*elapsed.Seconds()) + 1
	seen := counter.snapshot()
	maxID, maxN, backendTotal := "", 0, 0
	for id, n := range seen {
		backendTotal += n
		if n > maxN {
			maxID, maxN = id, n
		}
		if n > bound {
			t.Errorf("backend saw %d requests from %s; the limit allows at most %d in %v", n, id, bound, elapsed)
		}
	}

	legitAll := tally{}
	for i, l := range legit {
		legitAll.add(l)
		t.Logf("legitimate client %s: %v", legitAddr(i), l)
	}
	legitPct := 100 * float64(legitAll[http.StatusOK]) / float64(max(legitAll.total(), 1))

	bans := fetchBans(t, "http://"+admin+"/admin/api/bans")
	for i := range floodHeavy {
		if !bans[heavyAddr(i)] {
			t.Errorf("heavy hitter %s is not banned; bans: %d", heavyAddr(i), len(bans))
		}
	}
	mc := &http.Client{Timeout: 2 * time.Second}
	reasons := map[string]float64{}
	for _, r := range []string{"rate_limit", "banned"} {
		v, _ := metricValue(mc, metricsURL, "bulwark_rejections_total", `reason="`+r+`"`)
		reasons[r] = v
	}
	mc.CloseIdleConnections()

	peakTracked, peakRSS := sampler.tracked.Load(), sampler.rss.Load()
	t.Logf("flood: %d workers for %v: %d requests sent (%.0f req/s) as %d heavy hitters and %d rotating identities, answers %v",
		attackWorkers, elapsed.Round(time.Millisecond), flood.total(),
		float64(flood.total())/elapsed.Seconds(), floodHeavy, min(next.Load(), floodRotating), flood)
	t.Logf("legitimate: %d clients, %d requests, %.2f%% 200, slowest %v",
		legitClients, legitAll.total(), legitPct, time.Duration(lateMax.Load()).Round(time.Millisecond))
	t.Logf("backend: %d requests from %d identities; max per identity %d (%s), bound %d",
		backendTotal, len(seen), maxN, maxID, bound)
	t.Logf("router: peak tracked clients %d (cap %d), peak RSS %.1f MiB (bound %d MiB), %d samples, %d sample errors",
		peakTracked, floodMaxTracked, float64(peakRSS)/(1<<20), floodMaxRSS>>20, sampler.samples.Load(), sampler.errs.Load())
	t.Logf("router: rejections rate_limit %.0f, banned %.0f; active bans %d", reasons["rate_limit"], reasons["banned"], len(bans))

	if rotated := next.Load(); rotated <= floodMaxTracked {
		t.Errorf("the flood used only %d rotating identities, not more than the table's %d", rotated, floodMaxTracked)
	}
	if legitAll.total() < legitClients*int(floodDuration/legitPace)/2 {
		t.Errorf("legitimate clients sent only %d requests", legitAll.total())
	}
	if legitPct < 99 {
		t.Errorf("legitimate clients got %.2f%% 200s, want >= 99%%: %v", legitPct, legitAll)
	}
	if peakTracked > floodMaxTracked {
		t.Errorf("peak tracked clients %d > max_tracked_clients %d", peakTracked, floodMaxTracked)
	}
	if peakTracked == 0 {
		t.Errorf("bulwark_tracked_clients never seen above 0 (%d samples, %d errors)", sampler.samples.Load(), sampler.errs.Load())
	}
	if peakRSS == 0 || peakRSS > floodMaxRSS {
		t.Errorf("peak RSS %d bytes, want in (0, %d]", peakRSS, floodMaxRSS)
	}
	if flood[http.StatusTooManyRequests] == 0 || flood[http.StatusForbidden] == 0 {
		t.Errorf("flood answers %v: want both 429s and 403s", flood)
	}
}

// fetchBans returns the set of banned clients from the admin bans API.
func fetchBans(t *testing.T, url string) map[string]bool {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Bans []struct {
			Client string `json:"client"`
		} `json:"bans"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	m := make(map[string]bool, len(body.Bans))
	for _, b := range body.Bans {
		m[b.Client] = true
	}
	return m
}
