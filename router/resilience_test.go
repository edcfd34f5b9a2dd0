package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/stats"
)

// fault is how a faultyBackend answers.
type fault int32

const (
	healthy   fault = iota
	refusing        // the listener is closed: connections are refused
	hanging         // never answers; returns when the caller gives up
	slow            // answers 200 after faultyBackend.delay
	status500       // answers 500
	truncated       // promises 100 bytes, sends 7, closes the connection
	holding         // reports on arrived, answers 200 once released
)

// faultyBackend is a real HTTP server on a fixed loopback address whose
// behaviour a test switches while the router runs. It counts every request
// that reaches it and the most it held at once.
type faultyBackend struct {
	addr, url string
	delay     time.Duration // for slow

	mode     atomic.Int32
	hits     atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64

	arrived     chan struct{} // one send per request held in holding mode
	release     chan struct{} // closed by releaseAll
	releaseOnce sync.Once
	stop        chan struct{} // closed at cleanup: every handler returns

	mu  sync.Mutex
	srv *http.Server
	wg  sync.WaitGroup
}

func newFaultyBackend(t *testing.T) *faultyBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fb := &faultyBackend{addr: ln.Addr().String(), delay: 100 * time.Millisecond,
		arrived: make(chan struct{}, 256), release: make(chan struct{}), stop: make(chan struct{})}
	fb.url = "http://" + fb.addr
	fb.serve(ln)
	t.Cleanup(func() {
		close(fb.stop)
		fb.setListening(t, false)
		fb.wg.Wait()
	})
	return fb
}

func (fb *faultyBackend) serve(ln net.Listener) {
	srv := &http.Server{Handler: fb}
	fb.srv = srv
	fb.wg.Go(func() { _ = srv.Serve(ln) })
}

// setListening closes the listener (and every connection) or opens it again
// on the same address.
func (fb *faultyBackend) setListening(t *testing.T, on bool) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	switch {
	case !on && fb.srv != nil:
		fb.srv.Close()
		fb.srv = nil
	case on && fb.srv == nil:
		ln, err := net.Listen("tcp", fb.addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", fb.addr, err)
		}
		fb.serve(ln)
	}
}

// set switches the behaviour; refusing closes the listener, anything else
// makes sure it is open.
func (fb *faultyBackend) set(t *testing.T, f fault) {
	fb.mode.Store(int32(f))
	fb.setListening(t, f != refusing)
}

func (fb *faultyBackend) releaseAll() { fb.releaseOnce.Do(func() { close(fb.release) }) }

func (fb *faultyBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fb.hits.Add(1)
	n := fb.inFlight.Add(1)
	defer fb.inFlight.Add(-1)
	for p := fb.peak.Load(); n > p && !fb.peak.CompareAndSwap(p, n); p = fb.peak.Load() {
	}
	switch fault(fb.mode.Load()) {
	case hanging:
		select {
		case <-r.Context().Done():
		case <-fb.stop:
		}
		return
	case slow:
		tm := time.NewTimer(fb.delay)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-r.Context().Done():
			return
		}
	case status500:
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	case truncated:
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
		brw.Flush()
		conn.Close()
		return
	case holding:
		fb.arrived <- struct{}{}
		select {
		case <-fb.release:
		case <-r.Context().Done():
			return
		case <-fb.stop:
			return
		}
	}
	w.Header().Set("X-Backend", "faulty")
	io.WriteString(w, "ok")
}

// newManualClock returns a clock that moves only when told. Breakers and
// the heartbeat cache read it; transport timeouts still use real time.
func newManualClock() *testutil.Clock { return testutil.NewClock(time.Unix(1_700_000_000, 0)) }

// reasonCounter counts refusals by reason.
type reasonCounter struct {
	stats.Nop
	mu sync.Mutex
	n  map[stats.Reason]int
}

func (r *reasonCounter) Rejected(reason stats.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[stats.Reason]int{}
	}
	r.n[reason]++
}

func (r *reasonCounter) count(reason stats.Reason) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

// startRouterWith is startRouter with the router's collaborators given.
func startRouterWith(t *testing.T, yaml string, opts Options) (*Server, string) {
	t.Helper()
	yaml = "listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nlog: {access: false}\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	rt, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, opts.Logger)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv, "http://" + srv.Addr().String()
}

// answer is what a client saw for one request.
type answer struct {
	code int
	hdr  http.Header
	body string
	err  error // transport error, or the body broke off
	took time.Duration
}

func (a answer) String() string {
	return fmt.Sprintf("%d %q err=%v in %v", a.code, a.body, a.err, a.took)
}

// testClient is a keep-alive client whose connections close with the test.
func testClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func send(c *http.Client, url string) answer {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return answer{code: resp.StatusCode, hdr: resp.Header, body: strings.TrimSpace(string(b)), err: err, took: time.Since(start)}
}

// eventually polls cond every tick until it holds, failing after limit.
func eventually(t *testing.T, limit, tick time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		<-tk.C
	}
}

// maxRefusal tells a refusal made at once from one that waited: the waits
// these tests guard against (a held backend, a queue's 10 s max_wait) are
// longer, and a busy machine can stretch a loopback request well past any
// tight bound. The backends' hit counts prove the refusals reached nobody;
// BenchmarkOpenBreakerRefusal measures what one costs.
const maxRefusal = 5 * time.Second

// TestBreakerOpensAtConsecutiveFailures drives one target through each way
// a backend fails. The breaker opens on exactly consecutive_failures; while
// open every request is refused with 503, Retry-After and reason
// circuit_open without reaching the backend; once open_for has passed and
// the backend is healthy, traffic flows again.
func TestBreakerOpensAtConsecutiveFailures(t *testing.T) {
	const n = 3
	tests := []struct {
		name  string
		give  fault
		delay time.Duration       // for slow
		want  func(a answer) bool // what a client sees while it fails
		reach bool                // failed requests reach the backend
	}{
		{"refused", refusing, 0, func(a answer) bool { return a.code == http.StatusBadGateway }, false},
		{"hangs past response_timeout", hanging, 0, func(a answer) bool { return a.code == http.StatusGatewayTimeout }, true},
		{"slower than response_timeout", slow, 2 * time.Second, func(a answer) bool { return a.code == http.StatusGatewayTimeout }, true},
		{"answers 500", status500, 0, func(a answer) bool { return a.code == http.StatusInternalServerError }, true},
		// Nothing of the answer went out yet: the client gets a 502.
		{"dies mid-response", truncated, 0, func(a answer) bool { return a.code == http.StatusBadGateway }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fb := newFaultyBackend(t)
			fb.delay = tt.delay
			clock, rec := newManualClock(), &reasonCounter{}
			_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s]
    retries: 0
    response_timeout: 200ms
    breaker: {consecutive_failures: %d, failure_ratio: 0, open_for: 5s}
routes: [{backend: app}]
`, fb.url, n), Options{Now: clock.Now, Recorder: rec})
			c := testClient(t)

			fb.set(t, tt.give)
			for i := range n {
				if a := send(c, base+"/"); !tt.want(a) {
					t.Fatalf("failing request %d: got %v", i+1, a)
				}
			}
			wantHits := int64(0)
			if tt.reach {
				wantHits = n
			}
			if got := fb.hits.Load(); got != wantHits {
				t.Fatalf("backend saw %d requests during the failures, want %d", got, wantHits)
			}

			for i := range 20 {
				a := send(c, base+"/")
				if a.code != http.StatusServiceUnavailable || a.hdr.Get("Retry-After") != "5" {
					t.Fatalf("request %d after %d failures: got %v Retry-After=%q, want 503 with Retry-After 5",
						n+i+1, n, a, a.hdr.Get("Retry-After"))
				}
				if a.took > maxRefusal {
					t.Errorf("refusal %d took %v, want < %v", i, a.took, maxRefusal)
				}
			}
			if got := fb.hits.Load(); got != wantHits {
				t.Fatalf("open breaker let %d requests through", got-wantHits)
			}
			if got := rec.count(stats.CircuitOpen); got != 20 {
				t.Fatalf("circuit_open refusals counted: %d, want 20", got)
			}

			// No operator: the backend heals, open_for passes, traffic flows.
			fb.set(t, healthy)
			clock.Advance(5 * time.Second)
			for i := range 5 {
				if a := send(c, base+"/"); a.code != http.StatusOK || a.body != "ok" {
					t.Fatalf("request %d after recovery: %v", i, a)
				}
			}
		})
	}
}

// TestBrokenOffProbeDoesNotWedgeHalfOpen: a half-open probe whose answer
// breaks off mid-body must free its slot (as a failure), or the backend is
// refused forever.
func TestBrokenOffProbeDoesNotWedgeHalfOpen(t *testing.T) {
	fb := newFaultyBackend(t)
	clock := newManualClock()
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s]
    retries: 0
    breaker: {consecutive_failures: 1, failure_ratio: 0, open_for: 5s}
routes: [{backend: app}]
`, fb.url), Options{Now: clock.Now})
	c := testClient(t)
	fb.set(t, status500)
	if a := send(c, base+"/"); a.code != 500 {
		t.Fatalf("failure: %v", a)
	}
	clock.Advance(5 * time.Second)
	fb.set(t, truncated)
	// A fresh connection: on a reused one, net/http's client would resend
	// the GET after the connection closed without an answer.
	once := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if a := send(once, base+"/"); a.code != http.StatusBadGateway {
		t.Fatalf("broken-off probe: %v, want 502", a)
	}
	fb.set(t, healthy)
	clock.Advance(time.Minute) // past any grown open time
	if a := send(c, base+"/"); a.code != http.StatusOK {
		t.Fatalf("healthy backend after a broken-off probe: %v", a)
	}
}

// TestSlowAnswersDoNotOpenBreaker: slow but within response_timeout is a
// success, however many in a row.
func TestSlowAnswersDoNotOpenBreaker(t *testing.T) {
	fb := newFaultyBackend(t)
	fb.delay = 50 * time.Millisecond
	fb.set(t, slow)
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s]
    retries: 0
    response_timeout: 1s
    breaker: {consecutive_failures: 2, failure_ratio: 0, open_for: 5s}
routes: [{backend: app}]
`, fb.url), Options{Now: newManualClock().Now})
	c := testClient(t)
	for i := range 6 {
		if a := send(c, base+"/"); a.code != http.StatusOK || a.took < fb.delay {
			t.Fatalf("slow request %d: %v", i, a)
		}
	}
	if got := fb.hits.Load(); got != 6 {
		t.Fatalf("backend saw %d of 6 slow requests", got)
	}
}

// TestHalfOpenAdmitsExactlyHalfOpenRequests holds the probes in the backend
// and counts who arrives: exactly half_open_requests get through, the rest
// are refused at once. A failed probe doubles the open time; probes that all
// succeed close the breaker and reset it.
func TestHalfOpenAdmitsExactlyHalfOpenRequests(t *testing.T) {
	const half, k = 2, 8
	fb := newFaultyBackend(t)
	defer fb.releaseAll()
	clock := newManualClock()
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s]
    retries: 0
    breaker: {consecutive_failures: 2, failure_ratio: 0, open_for: 5s, half_open_requests: %d}
routes: [{backend: app}]
`, fb.url, half), Options{Now: clock.Now})
	c := testClient(t)
	expect := func(step string, code int, retryAfter string) {
		t.Helper()
		if a := send(c, base+"/"); a.code != code || a.hdr.Get("Retry-After") != retryAfter {
			t.Fatalf("%s: got %v Retry-After=%q, want %d Retry-After=%q", step, a, a.hdr.Get("Retry-After"), code, retryAfter)
		}
	}

	fb.set(t, status500)
	expect("failure 1", 500, "")
	expect("failure 2", 500, "")
	expect("open", 503, "5")
	clock.Advance(5 * time.Second)
	expect("failed probe", 500, "")
	expect("open again, twice as long", 503, "10")
	clock.Advance(10 * time.Second)

	fb.set(t, holding)
	results := make(chan answer, k)
	for range k {
		go func() { results <- send(c, base+"/") }()
	}
	// Every request either arrives at the backend or is refused.
	arrived, refused := 0, 0
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for arrived+refused < k {
		select {
		case <-fb.arrived:
			arrived++
		case a := <-results:
			if a.code != http.StatusServiceUnavailable || a.hdr.Get("Retry-After") == "" {
				t.Fatalf("half-open, all probe slots taken: got %v", a)
			}
			if a.took > maxRefusal {
				t.Errorf("half-open refusal took %v", a.took)
			}
			refused++
		case <-timeout.C:
			t.Fatalf("after 5s: %d arrived, %d refused of %d", arrived, refused, k)
		}
	}
	if arrived != half {
		t.Fatalf("half-open let %d requests through, want half_open_requests=%d", arrived, half)
	}
	fb.releaseAll()
	for range half {
		if a := <-results; a.code != http.StatusOK {
			t.Fatalf("held probe: %v", a)
		}
	}
	if p := fb.peak.Load(); p != half {
		t.Fatalf("backend held %d probes at once, want %d", p, half)
	}
	for i := range 5 {
		expect(fmt.Sprintf("closed again, request %d", i), 200, "")
	}
	// Closing reset the open time: the next trip opens for open_for again.
	fb.set(t, status500)
	expect("failure 1 after close", 500, "")
	expect("failure 2 after close", 500, "")
	expect("open for the base time", 503, "5")
}

// TestBreakerRecoversWithoutOperator uses the real clock: after open_for
// the breaker lets a probe through on its own, and a healthy backend gets
// its traffic back with no reload, no admin call.
func TestBreakerRecoversWithoutOperator(t *testing.T) {
	const openFor = 200 * time.Millisecond
	fb := newFaultyBackend(t)
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s]
    retries: 0
    breaker: {consecutive_failures: 2, failure_ratio: 0, open_for: %v}
routes: [{backend: app}]
`, fb.url, openFor), Options{})
	c := testClient(t)
	fb.set(t, status500)
	send(c, base+"/")
	beforeTrip := time.Now()
	if a := send(c, base+"/"); a.code != 500 {
		t.Fatalf("failure 2: %v", a)
	}
	if a := send(c, base+"/"); a.code != 503 && time.Since(beforeTrip) < openFor {
		t.Fatalf("right after the trip: %v, want 503", a)
	}
	hits := fb.hits.Load()
	fb.set(t, healthy)
	var recovered time.Duration
	eventually(t, 5*time.Second, 10*time.Millisecond, "traffic never came back", func() bool {
		a := send(c, base+"/")
		if a.code == http.StatusOK {
			recovered = time.Since(beforeTrip)
			return true
		}
		if a.code != http.StatusServiceUnavailable {
			t.Fatalf("while open: %v", a)
		}
		return false
	})
	if recovered < openFor {
		t.Fatalf("traffic came back %v after the trip, before open_for (%v)", recovered, openFor)
	}
	if got := fb.hits.Load() - hits; got != 1 {
		t.Fatalf("%d requests reached the backend while open and at the first success, want 1 (the probe)", got)
	}
	t.Logf("recovered %v after the trip (open_for %v)", recovered, openFor)
}

// TestDeadTargetInPoolCostsNoFailedGET: with retries 1 a GET that finds a
// refusing target is sent to another, and the dead target's breaker keeps
// it out of rotation between half-open probes.
func TestDeadTargetInPoolCostsNoFailedGET(t *testing.T) {
	for _, policy := range []string{"round_robin", "least_requests", "p2c"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			a, b := namedBackend(t, "a"), namedBackend(t, "b")
			_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s, %s, %s]
    balance: %s
    retries: 1
    breaker: {consecutive_failures: 3, open_for: 20ms}
routes: [{backend: app}]
`, a.URL, deadAddr(t), b.URL, policy), Options{})
			c := testClient(t)
			counts := map[string]int{}
			for i := range 300 {
				ans := send(c, base+"/")
				if ans.code != http.StatusOK || ans.err != nil {
					t.Fatalf("GET %d of 300 failed: %v", i+1, ans)
				}
				counts[ans.hdr.Get("X-Backend")]++
			}
			if counts["a"]+counts["b"] != 300 || counts["a"] == 0 || counts["b"] == 0 {
				t.Fatalf("answers by target: %v", counts)
			}
		})
	}
}

// TestTargetDeathDoesNotOpenBackend: one target of two dies with more
// requests in flight than consecutive_failures. Those requests fail (they
// reached it), but the backend as a whole is fine: the next GETs must be
// served by the other target, not refused with circuit_open.
func TestTargetDeathDoesNotOpenBackend(t *testing.T) {
	const n = 3
	fb := newFaultyBackend(t)
	defer fb.releaseAll()
	good := namedBackend(t, "good")
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app:
    targets: [%s, %s]
    retries: 1
    breaker: {consecutive_failures: %d, failure_ratio: 0, open_for: 5s}
routes: [{backend: app}]
`, fb.url, good.URL, n), Options{Now: newManualClock().Now})
	c := testClient(t)
	fb.set(t, holding)
	results := make(chan answer, 4*n)
	for held := 0; held < n; {
		go func() { results <- send(c, base+"/") }()
		select {
		case <-fb.arrived:
			held++
		case a := <-results:
			if a.code != http.StatusOK {
				t.Fatalf("before the death: %v", a)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no request reached the holding target")
		}
	}
	fb.set(t, refusing) // the process dies: its connections close, its port refuses
	for range n {
		if a := <-results; a.code != http.StatusBadGateway {
			t.Fatalf("request in flight to the dead target: %v, want 502", a)
		}
	}
	for i := range 10 {
		if a := send(c, base+"/"); a.code != http.StatusOK || a.hdr.Get("X-Backend") != "good" {
			t.Fatalf("GET %d after one of two targets died: %v, want 200 from the other target", i, a)
		}
	}
}

// TestMaxInFlightRefusesAtOnce: over the backend's max_in_flight the router
// answers 503 with Retry-After at once, without reaching the backend.
func TestMaxInFlightRefusesAtOnce(t *testing.T) {
	fb := newFaultyBackend(t)
	defer fb.releaseAll()
	fb.set(t, holding)
	rec := &reasonCounter{}
	_, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], max_in_flight: 2}
routes: [{backend: app}]
`, fb.url), Options{Recorder: rec})
	c := testClient(t)
	results := make(chan answer, 2)
	for range 2 {
		go func() { results <- send(c, base+"/") }()
	}
	for range 2 {
		select {
		case <-fb.arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("held requests never reached the backend")
		}
	}
	for i := range 5 {
		a := send(c, base+"/")
		if a.code != http.StatusServiceUnavailable || a.hdr.Get("Retry-After") == "" {
			t.Fatalf("request %d over max_in_flight: %v Retry-After=%q", i, a, a.hdr.Get("Retry-After"))
		}
		if a.took > maxRefusal {
			t.Errorf("refusal over max_in_flight took %v", a.took)
		}
	}
	if got := fb.hits.Load(); got != 2 {
		t.Fatalf("backend saw %d requests, want the 2 held", got)
	}
	if got := rec.count(stats.QueueFull); got != 5 {
		t.Fatalf("queue_full refusals counted: %d, want 5", got)
	}
	fb.releaseAll()
	for range 2 {
		if a := <-results; a.code != http.StatusOK {
			t.Fatalf("held request: %v", a)
		}
	}
	if a := send(c, base+"/"); a.code != http.StatusOK {
		t.Fatalf("under the cap again: %v", a)
	}
}

// BenchmarkOpenBreakerRefusal measures a request refused by an open breaker:
// in the handler alone, and over a loopback keep-alive connection.
func BenchmarkOpenBreakerRefusal(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer s.Close()
	cfg, err := config.Load([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
admin: {listen: ""}
log: {access: false}
backends:
  app:
    targets: [%s]
    retries: 0
    breaker: {consecutive_failures: 2, failure_ratio: 0, open_for: 1h}
routes: [{backend: app}]
`, s.URL)))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := New(cfg, Options{Now: newManualClock().Now})
	if err != nil {
		b.Fatal(err)
	}
	newReq := func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://bulwark/", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		return req
	}
	for range 2 {
		rt.ServeHTTP(httptest.NewRecorder(), newReq())
	}
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, newReq())
	if w.Code != http.StatusServiceUnavailable {
		b.Fatalf("breaker did not open: %d", w.Code)
	}

	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req, w := newReq(), &discardWriter{h: http.Header{}}
			for pb.Next() {
				clear(w.h)
				rt.ServeHTTP(w, req)
				if w.code != http.StatusServiceUnavailable {
					b.Fatalf("got %d", w.code)
				}
			}
		})
	})
	b.Run("loopback", func(b *testing.B) {
		srv := NewServer(cfg, rt, nil)
		if err := srv.Start(nil); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr}
		url := "http://" + srv.Addr().String() + "/"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if a := send(c, url); a.code != http.StatusServiceUnavailable {
					b.Fatalf("got %v", a)
				}
			}
		})
	})
}

// discardWriter is a reusable ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
