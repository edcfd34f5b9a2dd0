package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

func TestWriteRefusal(t *testing.T) {
	h := newDecider(t, `
limits:
  default: {rate: 20/s, burst: 3}
  net: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, rate: 1/m, burst: 1}}
abuse:
  deny: [198.51.100.0/24]
  overload: {max_in_flight: 1, max_queue_wait: 1ms}
`)
	for range 3 {
		h.req(0, "192.0.2.1", "default")
	}
	rate := h.req(0, "192.0.2.1", "default")
	h.req(0, "192.0.2.10", "net")
	netRefusal := h.req(0, "192.0.2.11", "net")
	denied := h.req(0, "198.51.100.1", "")
	h.a.Admit(refusalT0, netip.MustParseAddr("203.0.113.1"), nil) // holds the router at its cap
	h.a.Admit(refusalT0.Add(time.Millisecond), netip.MustParseAddr("203.0.113.1"), nil)
	h.a.Admit(refusalT0.Add(time.Millisecond), netip.MustParseAddr("203.0.113.1"), nil) // hard bound
	shed := h.a.Admit(refusalT0.Add(2*time.Millisecond), netip.MustParseAddr("203.0.113.2"), nil)

	tests := []struct {
		name       string
		d          ratelimit.Decision
		wantStatus int
		wantHeader map[string]string
	}{
		{"rate limit", rate, 429, map[string]string{
			"Retry-After":      "1",
			"Ratelimit-Policy": `"default";q=3;w=1`,
			"Ratelimit":        `"default";r=0;t=1`,
		}},
		{"network limit", netRefusal, 429, map[string]string{
			"Retry-After":      "60",
			"Ratelimit-Policy": `"net";q=100;w=1, "net-network";q=1;w=60`,
			"Ratelimit":        `"net-network";r=0;t=60`,
		}},
		{"denied", denied, 403, map[string]string{"Retry-After": "", "Ratelimit": ""}},
		{"overload", shed, 503, map[string]string{"Retry-After": "1", "Ratelimit": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.d.Allow || tt.d.Status != tt.wantStatus {
				t.Fatalf("decision %+v", tt.d)
			}
			rec := httptest.NewRecorder()
			writeRefusal(rec, &tt.d)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus || len(body) == 0 || len(body) > 64 {
				t.Fatalf("status %d body %q", res.StatusCode, body)
			}
			if res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || res.Header.Get("Content-Length") == "" {
				t.Fatalf("headers %v", res.Header)
			}
			for k, v := range tt.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}

			// The same answer as raw bytes, for the router's front.
			date := []byte("Sun, 22 Nov 2026 10:00:00 GMT")
			for _, closing := range []bool{false, true} {
				raw := appendRefusal([]byte("prefix"), &tt.d, date, closing, false)
				rres, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw[len("prefix"):])), nil)
				if err != nil {
					t.Fatalf("%q: %v", raw, err)
				}
				rbody, _ := io.ReadAll(rres.Body)
				if rres.StatusCode != tt.wantStatus || string(rbody) != string(body) || rres.Close != closing || refusalBodyLen(&tt.d) != len(body) {
					t.Fatalf("raw: %d %q close %v", rres.StatusCode, rbody, rres.Close)
				}
				if rres.Header.Get("Date") != string(date) {
					t.Errorf("raw Date %q", rres.Header.Get("Date"))
				}
				rres.Header.Del("Date")
				rres.Header.Del("Connection")
				if fmt.Sprint(rres.Header) != fmt.Sprint(res.Header) {
					t.Errorf("raw headers %v, WriteRefusal's %v", rres.Header, res.Header)
				}
			}
		})
	}
	var none ratelimit.Decision
	if b := appendRefusal(nil, &none, nil, false, false); len(b) != 0 {
		t.Errorf("an admitted request's answer: %q", b)
	}
}

func TestRetryAfterBan(t *testing.T) {
	d := ratelimit.Decision{Status: 429, Reason: stats.TooManyInFlight, RetryAfter: 90 * time.Minute}
	rec := httptest.NewRecorder()
	writeRefusal(rec, &d)
	if got := rec.Header().Get("Retry-After"); got != "5400" {
		t.Fatalf("Retry-After %q", got)
	}
}

// answers gives what appendRefusal formats, for any sequence of refusals,
// and formats again only for an answer it does not hold.
func TestAnswerReusesTheLastRefusal(t *testing.T) {
	h := newDecider(t, `
limits:
  default: {rate: 1/s, burst: 1}
  net: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, rate: 1/m, burst: 1}}
abuse:
  deny: [198.51.100.0/24]
`)
	h.req(0, "192.0.2.1", "default")
	rate := h.req(0, "192.0.2.1", "default")                         // Retry-After 1
	rateLater := h.req(100*time.Millisecond, "192.0.2.1", "default") // still 1
	rateSooner := rate
	rateSooner.RetryAfter, rateSooner.Reset = 3*time.Second, 3*time.Second
	h.req(0, "192.0.2.10", "net")
	netRefusal := h.req(0, "192.0.2.11", "net")
	denied := h.req(0, "198.51.100.1", "")
	if rate.Status != 429 || rateLater.Status != 429 || netRefusal.Status != 429 || denied.Status != 403 {
		t.Fatalf("decisions %d %d %d %d", rate.Status, rateLater.Status, netRefusal.Status, denied.Status)
	}
	dates := [][]byte{[]byte("Sun, 22 Nov 2026 10:00:00 GMT"), []byte("Sun, 22 Nov 2026 10:00:01 GMT")}
	const (
		fresh  = iota // the first answer of its kind: formatted
		again         // the same as the step before: not formatted
		either        // seen before: formatted unless still held
	)
	steps := []struct {
		d           ratelimit.Decision
		date        int
		close, head bool
		want        int
	}{
		{d: rate, want: fresh},
		{d: rate, want: again},
		{d: rateLater, want: again},
		{d: rateSooner, want: fresh},
		{d: rate, want: either},
		{d: rate, date: 1, want: fresh},
		{d: rate, date: 1, close: true, want: fresh},
		{d: rate, date: 1, close: true, head: true, want: fresh},
		{d: rate, date: 1, close: true, head: true, want: again},
		{d: netRefusal, date: 1, want: fresh},
		{d: denied, date: 1, want: fresh},
		{d: denied, date: 1, want: again},
		{d: rate, date: 1, want: either},
		{d: rateSooner, want: either},
	}
	var a answers
	var given [][]byte
	for i, s := range steps {
		got := a.bytes(&s.d, dates[s.date], s.close, s.head)
		want := appendRefusal(nil, &s.d, dates[s.date], s.close, s.head)
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d: %q, want %q", i, got, want)
		}
		// Formatted anew: bytes at an address not given before.
		formatted := !slices.ContainsFunc(given, func(g []byte) bool { return unsafe.SliceData(g) == unsafe.SliceData(got) })
		if s.want == fresh && !formatted || s.want == again && formatted {
			t.Errorf("step %d: formatted %v", i, formatted)
		}
		given = append(given, got)
		// What was given before is never changed.
		for j := range i {
			sj := steps[j]
			if !bytes.Equal(given[j], appendRefusal(nil, &sj.d, dates[sj.date], sj.close, sj.head)) {
				t.Fatalf("step %d changed the answer of step %d", i, j)
			}
		}
	}
	var none ratelimit.Decision
	if b := a.bytes(&none, dates[0], false, false); b != nil {
		t.Errorf("an admitted request's answer: %q", b)
	}
}

// Connections share one answers: under the race detector, goroutines asking
// for answers of many kinds at once each get exactly the answer they ask
// for, whatever the others evict.
func TestAnswersConcurrently(t *testing.T) {
	h := newDecider(t, "limits: {default: {rate: 1/s, burst: 1}}\n")
	h.req(0, "192.0.2.1", "default")
	base := h.req(0, "192.0.2.1", "default")
	date := []byte("Sun, 22 Nov 2026 10:00:00 GMT")
	var a answers
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				d := base
				d.RetryAfter = time.Duration(1+(i+g)%40) * time.Second
				got := a.bytes(&d, date, i%3 == 0, false)
				if want := appendRefusal(nil, &d, date, i%3 == 0, false); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d, answer %d: %q, want %q", g, i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// refusalT0 is the instant a decider's clock starts at.
var refusalT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// decider makes real admission decisions at fixed instants, for the tests
// of the answers to them.
type decider struct {
	a   *ratelimit.Admission
	clk *testutil.Clock
}

// newDecider builds an admission for the limits and abuse settings in yaml.
func newDecider(t testing.TB, yaml string) *decider {
	t.Helper()
	cfg, err := config.Load([]byte(`
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - match: {path_prefix: /}
    backend: app
` + yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := testutil.NewClock(refusalT0)
	a, err := ratelimit.New(cfg, nil, nil, ratelimit.WithClock(clk.Now), ratelimit.WithSweepInterval(0), ratelimit.WithSeed(42))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &decider{a: a, clk: clk}
}

// req decides a request of client under policy ("" for none) at refusalT0
// plus at, and ends an admitted one at once.
func (h *decider) req(at time.Duration, client, policy string) ratelimit.Decision {
	c := netip.MustParseAddr(client)
	now := refusalT0.Add(at)
	d := h.a.Admit(now, c, h.a.Policy(policy))
	if d.Allow {
		h.a.Done(now, c, 200, false)
	}
	return d
}

// discard is a ResponseWriter that keeps its header map between uses.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// A 403's answer allocates nothing.
func TestRefusalAllocs(t *testing.T) {
	h := newDecider(t, `
abuse:
  deny: [198.51.100.0/24]
`)
	d := h.req(0, "198.51.100.1", "")
	w := &discard{h: make(http.Header, 8)}
	if n := testing.AllocsPerRun(100, func() {
		clear(w.h)
		writeRefusal(w, &d)
	}); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

// A dry-run refusal is not answered: the request goes on.
func TestDryRunRefusalWritesNothing(t *testing.T) {
	d := ratelimit.Decision{Allow: true, DryRun: true, Status: 429, Reason: stats.RateLimit}
	rec := httptest.NewRecorder()
	writeRefusal(rec, &d)
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Fatal("writeRefusal wrote a dry-run refusal")
	}
}
