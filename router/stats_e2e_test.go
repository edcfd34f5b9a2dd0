package router

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// statsdSink is a statsd server stand-in: a real UDP socket on loopback
// read by one goroutine until close. It counts every line by name and kind.
type statsdSink struct {
	conn net.PacketConn
	done chan struct{}

	mu      sync.Mutex
	counts  map[string]float64 // "name|c" → sum, "name|ms" → number of values
	bad     []string
	changed chan struct{} // closed and replaced on every packet
}

func listenStatsd(t *testing.T) *statsdSink {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &statsdSink{conn: c, done: make(chan struct{}), counts: map[string]float64{}, changed: make(chan struct{})}
	go s.read()
	t.Cleanup(s.close)
	return s
}

func (s *statsdSink) addr() string { return s.conn.LocalAddr().String() }

func (s *statsdSink) close() {
	s.conn.Close()
	<-s.done
}

func (s *statsdSink) read() {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		for line := range strings.SplitSeq(string(buf[:n]), "\n") {
			name, rest, ok1 := strings.Cut(line, ":")
			value, kind, ok2 := strings.Cut(rest, "|")
			v, err := strconv.ParseFloat(value, 64)
			if !ok1 || !ok2 || err != nil || v < 0 || (kind != "c" && kind != "ms") {
				s.bad = append(s.bad, line)
				continue
			}
			if kind == "ms" {
				v = 1 // timers: count the values
			}
			s.counts[name+"|"+kind] += v
		}
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

// snapshot returns the counts so far and the bad lines.
func (s *statsdSink) snapshot() (map[string]float64, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts), slices.Clone(s.bad)
}

// waitFor waits, up to limit, until key has reached at least want, and
// returns the counts then.
func (s *statsdSink) waitFor(t *testing.T, key string, want float64, limit time.Duration) map[string]float64 {
	t.Helper()
	timeout := time.After(limit)
	for {
		s.mu.Lock()
		got, ch := s.counts[key], s.changed
		s.mu.Unlock()
		if got >= want {
			c, _ := s.snapshot()
			return c
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("statsd: %s = %v after %v, want %v", key, got, limit, want)
		}
	}
}

// startStatsRouter serves yaml (listen/admin forced to loopback) with a
// real stats.Stats sending to statsdAddr under prefix browserid.router,
// flushing every 10ms, and recording into a fresh registry.
func startStatsRouter(t *testing.T, yaml, statsdAddr string) (*stats.Stats, *prometheus.Registry, string) {
	t.Helper()
	yaml = "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{
		Statsd: stats.StatsdOptions{Address: statsdAddr, Prefix: "browserid.router",
			FlushInterval: 10 * time.Millisecond},
		Prometheus: true,
	}, reg, stats.BuildInfo{}, log)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{Logger: log, Recorder: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopRouter(t, srv)
		st.Close()
	})
	return st, reg, "http://" + srv.Addr().String()
}

// statsConfig is a Persona-like table: per_api /wsapi/, a plain route, a
// route with a tiny per-client limit, a dead backend (its breaker off, so
// every request is a 502) and no catch-all (anything else is a 404).
const statsConfig = `
log: {access: true}
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [%[1]s]}
  static: {targets: [%[1]s]}
  dead: {targets: [%[2]s], breaker: {disabled: true}}
routes:
  - {match: {path_prefix: /wsapi/}, backend: app, stats: {name: wsapi, per_api: true}}
  - {match: {path_prefix: /static/}, backend: static, stats: {name: static}}
  - {match: {path_prefix: /limited/}, backend: static, limit: tiny, stats: {name: limited}}
  - {match: {path_prefix: /dead/}, backend: dead, stats: {name: dead}}
limits:
  tiny: {rate: 1/h, burst: 2}
`

// mixStep is one kind of request of the known mix.
type mixStep struct {
	method, path string
	n            int
	code         int // of every request, or 0 for the limited route
}

var statsMix = []mixStep{
	{"GET", "/wsapi/session_context", 3, 200},
	{"POST", "/wsapi/stage_user", 2, 200},
	{"GET", "/wsapi/list_emails", 1, 200},
	{"GET", "/static/app.js", 2, 200},
	{"GET", "/nothing/here", 1, 404},
	{"GET", "/limited/x", 5, 0}, // burst 2: 200, 200, then 429 ×3
	{"GET", "/dead/x", 2, 502},
}

// The "must show", at the router level: a known mix of requests
// through a real router yields exactly the statsd lines and the
// Prometheus series the README names.
func TestStatsKnownMix(t *testing.T) {
	sink := listenStatsd(t)
	app := namedBackend(t, "app")
	st, reg, base := startStatsRouter(t, fmt.Sprintf(statsConfig, app.URL, deadAddr(t)), sink.addr())

	total, limited := 0, 0
	for _, s := range statsMix {
		for range s.n {
			code, _, body := get(t, nil, s.method, base+s.path, "", nil)
			want := s.code
			if want == 0 {
				if limited++; limited <= 2 {
					want = 200
				} else {
					want = 429
				}
			}
			if code != want {
				t.Fatalf("%s %s: %d %q, want %d", s.method, s.path, code, body, want)
			}
			total++
		}
	}
	// Close flushes statsd; loopback delivery is immediate, but the reader
	// is a goroutine, so wait for the last request line.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.waitFor(t, "browserid.router.request|c", float64(total), 5*time.Second)
	if _, bad := sink.snapshot(); len(bad) > 0 {
		t.Errorf("bad statsd lines: %q", bad)
	}
	want := map[string]float64{
		"browserid.router.request|c":                 16,
		"browserid.router.response_time|ms":          16,
		"browserid.router.response.200|c":            10,
		"browserid.router.response.404|c":            1,
		"browserid.router.response.429|c":            3,
		"browserid.router.response.502|c":            2,
		"browserid.router.wsapi.session_context|c":   3,
		"browserid.router.wsapi.stage_user|c":        2,
		"browserid.router.wsapi.list_emails|c":       1,
		"browserid.router.backend.app.latency|ms":    6,
		"browserid.router.backend.static.latency|ms": 4,
		"browserid.router.backend.dead.latency|ms":   2,
		"browserid.router.backend.dead.error|c":      2,
		"browserid.router.rejected.rate_limit|c":     3,
	}
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(mergeKeys(got, want))) {
			if got[k] != want[k] {
				t.Errorf("statsd %s = %v, want %v", k, got[k], want[k])
			}
		}
	}

	const wantProm = `
# HELP bulwark_rejections_total Requests the router refused itself, by reason.
# TYPE bulwark_rejections_total counter
bulwark_rejections_total{reason="bad_request"} 0
bulwark_rejections_total{reason="banned"} 0
bulwark_rejections_total{reason="body_too_large"} 0
bulwark_rejections_total{reason="challenge"} 0
bulwark_rejections_total{reason="circuit_open"} 0
bulwark_rejections_total{reason="denied"} 0
bulwark_rejections_total{reason="h2_abuse"} 0
bulwark_rejections_total{reason="network_limit"} 0
bulwark_rejections_total{reason="no_target"} 0
bulwark_rejections_total{reason="overload"} 0
bulwark_rejections_total{reason="queue_full"} 0
bulwark_rejections_total{reason="rate_limit"} 3
bulwark_rejections_total{reason="rule"} 0
bulwark_rejections_total{reason="slow_body"} 0
bulwark_rejections_total{reason="too_many_conns"} 0
bulwark_rejections_total{reason="too_many_in_flight"} 0
# HELP bulwark_requests_total Requests answered, by route, backend and status code.
# TYPE bulwark_requests_total counter
bulwark_requests_total{backend="",code="404",route=""} 1
bulwark_requests_total{backend="app",code="200",route="wsapi"} 6
bulwark_requests_total{backend="dead",code="200",route="dead"} 0
bulwark_requests_total{backend="dead",code="502",route="dead"} 2
bulwark_requests_total{backend="static",code="200",route="limited"} 2
bulwark_requests_total{backend="static",code="200",route="static"} 2
bulwark_requests_total{backend="static",code="429",route="limited"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantProm),
		"bulwark_requests_total", "bulwark_rejections_total"); err != nil {
		t.Error(err)
	}
	// Every request is observed once in the duration histogram too; a
	// refusal under its route's backend, as its access line says.
	if n, err := testutil.GatherAndCount(reg, "bulwark_request_duration_seconds"); err != nil || n != 5 {
		t.Errorf("bulwark_request_duration_seconds: %d series (%v), want 5 (one per route, backend pair)", n, err)
	}
}

func mergeKeys(a, b map[string]float64) map[string]float64 {
	m := maps.Clone(a)
	for k := range b {
		m[k] = 0
	}
	return m
}

// seriesCount is the number of series in the registry.
func seriesCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	return n
}

// A flood of random paths, hosts, methods and client addresses, once the
// bounded sets are full, adds no Prometheus series and no statsd name.
func TestStatsCardinalityUnderFlood(t *testing.T) {
	sink := listenStatsd(t)
	app := namedBackend(t, "app")
	_, reg, base := startStatsRouter(t, fmt.Sprintf(statsConfig, app.URL, deadAddr(t)), sink.addr())
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	sent := 0

	// Warm-up: every route and every answer at least once, and more
	// distinct /wsapi/ operations than the per-route bound.
	for _, s := range statsMix {
		for range s.n {
			get(t, client, s.method, base+s.path, "", nil)
			sent++
		}
	}
	for i := range stats.MaxAPIsPerRoute + 10 {
		get(t, client, "GET", fmt.Sprintf("%s/wsapi/op_%d", base, i), "", nil)
		sent++
	}
	sent += flood(t, client, base, 1000, 1)
	counts := sink.waitFor(t, "browserid.router.request|c", float64(sent), 10*time.Second)
	names := slices.Sorted(maps.Keys(counts))
	series := seriesCount(t, reg)
	if counts["browserid.router.wsapi.other|c"] == 0 {
		t.Fatalf("warm-up did not fill the per_api set: %v", names)
	}

	// The flood: new paths, hosts, methods and clients only.
	sent += flood(t, client, base, 3000, 2)
	counts = sink.waitFor(t, "browserid.router.request|c", float64(sent), 10*time.Second)
	if after := seriesCount(t, reg); after != series {
		t.Errorf("Prometheus series: %d after warm-up, %d after the flood", series, after)
	}
	if after := slices.Sorted(maps.Keys(counts)); !slices.Equal(after, names) {
		t.Errorf("statsd names changed under the flood:\nbefore %v\nafter  %v", names, after)
	}
	if _, bad := sink.snapshot(); len(bad) > 0 {
		t.Errorf("bad statsd lines: %q", bad[:min(len(bad), 10)])
	}
	t.Logf("%d requests: %d series, %d statsd names", sent, series, len(names))
}

// flood sends n random requests from 8 goroutines and returns n. seed
// makes each flood's randomness different but repeatable.
func flood(t *testing.T, c *http.Client, base string, n int, seed uint64) int {
	t.Helper()
	const workers = 8
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE", "X-CUSTOM"}
	families := []string{"/wsapi/", "/static/", "/limited/", "/dead/", "/", "/wsapi/a/b/", "/random/"}
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			for range n / workers {
				path := families[rnd.IntN(len(families))] + randSegment(rnd)
				req, err := http.NewRequest(methods[rnd.IntN(len(methods))], base+path, nil)
				if err != nil {
					errs <- err
					return
				}
				req.Host = randSegment(rnd) + ".example"
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", rnd.IntN(256), rnd.IntN(256), rnd.IntN(256)))
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200, 404, 429, 502:
				default:
					errs <- fmt.Errorf("%s %s: %d", req.Method, path, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Fatal(err)
	}
	return n / workers * workers
}

// randSegment is a path segment of 1 to 80 random characters, some of them
// outside the API name alphabet (escaped where a URL needs it).
func randSegment(rnd *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~%20%C3%A9"
	var b strings.Builder
	for range 1 + rnd.IntN(80) {
		c := alphabet[rnd.IntN(len(alphabet))]
		if c == '%' {
			b.WriteString("%2F")
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
