package stats

import (
	"fmt"
	"github.com/bulwark-router/bulwark/router/breaker"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func statsdConfig(addr, prefix string) Options {
	return Options{
		Statsd:     StatsdOptions{Address: addr, Prefix: prefix, FlushInterval: 50 * time.Millisecond},
		Prometheus: true,
	}
}

func newStats(t *testing.T, cfg Options) *Stats {
	t.Helper()
	s, err := New(cfg, nil, BuildInfo{Version: "1.2.3", Commit: "abc123"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recordMix records a known mix of every event, Persona style: a per_api
// wsapi route to browserid, verify to verifier, and unrouted requests.
func recordMix(r Recorder) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	for _, q := range []Request{
		{Route: "wsapi", Backend: "browserid", Code: 200, Duration: ms(7.8125), API: "session_context", BackendLatency: ms(5.5)},
		{Route: "wsapi", Backend: "browserid", Code: 200, Duration: ms(1.953125), API: "session_context", BackendLatency: ms(1.25)},
		{Route: "wsapi", Backend: "browserid", Code: 200, Duration: ms(31.25), API: "bad-name!", BackendLatency: ms(30)},
		{Route: "verify", Backend: "verifier", Code: 503, Duration: ms(0.5), BackendError: true},
		{Route: "", Backend: "", Code: 404, Duration: ms(15.625)},
		{Route: "", Backend: "", Code: 42, Duration: 0},
	} {
		r.Request(&q)
	}
	r.Rejected(RateLimit)
	r.Rejected(RateLimit)
	r.Rejected(Banned)
	r.BreakerState("verifier", "http://10.0.0.1:8080", breaker.StateClosed)
	r.BreakerState("verifier", "http://10.0.0.1:8080", breaker.StateOpen) // opens
	r.BreakerState("verifier", "http://10.0.0.1:8080", breaker.StateOpen) // still open
	r.BreakerState("verifier", "http://10.0.0.1:8080", breaker.StateHalfOpen)
	r.BreakerState("verifier", "http://10.0.0.1:8080", breaker.StateOpen) // opens again
	r.BreakerState("verifier", "http://10.0.0.2:8080", breaker.StateOpen) // first report: opens
	r.BreakerState("verifier", "http://10.0.0.2:8080", breaker.StateClosed)
	r.BackendUp("browserid", "http://10.0.0.3:8080", true)
	r.BackendUp("verifier", "http://10.0.0.1:8080", false)
	r.HealthFail("verifier")
	r.HealthFail("verifier")
	r.InFlight(+1)
	r.InFlight(+1)
	r.InFlight(-1)
	r.QueueWait("browserid", 3906250*time.Nanosecond) // 2^-8 s
	r.TrackedClients(42)
	r.BansActive(3)
	r.UnderAttack(false) // already off: nothing
	r.UnderAttack(true)
	r.UnderAttack(true)
	r.UnderAttack(false)
	r.UnderAttack(true)
}

// mixLines are the statsd lines recordMix sends with prefix P, sorted, with
// the counters of each name summed (see sumCounters).
func mixLines(p string) []string {
	l := []string{
		p + ".request:6|c",
		p + ".response_time:7.812|ms",
		p + ".response_time:1.953|ms",
		p + ".response_time:31.25|ms",
		p + ".response_time:0.5|ms",
		p + ".response_time:15.625|ms",
		p + ".response_time:0|ms",
		p + ".response.200:3|c",
		p + ".response.503:1|c",
		p + ".response.404:1|c",
		p + ".response.other:1|c",
		p + ".wsapi.session_context:2|c",
		p + ".wsapi.other:1|c",
		p + ".backend.browserid.latency:5.5|ms",
		p + ".backend.browserid.latency:1.25|ms",
		p + ".backend.browserid.latency:30|ms",
		p + ".backend.verifier.error:1|c",
		p + ".rejected.rate_limit:2|c",
		p + ".rejected.banned:1|c",
		p + ".breaker.verifier.open:3|c",
		p + ".health.verifier.fail:2|c",
		p + ".attack.start:2|c",
		p + ".attack.stop:1|c",
	}
	sort.Strings(l)
	return l
}

// rareEvent reports whether a statsd name is one sent at once, one line per
// event, rather than summed per flush.
func rareEvent(name string) bool {
	return strings.Contains(name, ".breaker.") || strings.Contains(name, ".health.") || strings.Contains(name, ".attack.")
}

func TestStatsdLinesOverUDP(t *testing.T) {
	for _, tt := range []struct{ give, want string }{
		{"", "bulwark"},
		{"browserid.router", "browserid.router"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			l := listenUDP(t)
			s := newStats(t, statsdConfig(l.addr(), tt.give))
			recordMix(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			packets := l.packets()
			got, want := sumCounters(t, packets), mixLines(tt.want)
			if !slices.Equal(got, want) {
				t.Errorf("statsd lines:\n got %q\nwant %q", got, want)
			}
			// Rare events are not summed: each is its own line.
			for _, p := range packets {
				for line := range strings.SplitSeq(p, "\n") {
					if name, v, _ := strings.Cut(line, ":"); rareEvent(name) && v != "1|c" {
						t.Errorf("rare event sent as %q", line)
					}
				}
			}
		})
	}
}

func TestStatsdOffWithoutAddress(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	if s.sd.Load() != nil {
		t.Fatal("statsd on without an address")
	}
	recordMix(s) // reaches Prometheus only
}

func TestStatsdBadAddress(t *testing.T) {
	for _, addr := range []string{"no-port", "127.0.0.1:notaport", "127.0.0.1:99999", "127.0.0.1:0"} {
		reg := prometheus.NewRegistry()
		if _, err := New(statsdConfig(addr, ""), reg, BuildInfo{}, nil); err == nil {
			t.Errorf("New(%q): no error", addr)
		}
		if mfs, _ := reg.Gather(); len(mfs) != 0 {
			t.Errorf("New(%q) failed but left %d metrics registered", addr, len(mfs))
		}
	}
}

// A name that does not resolve is not fatal: bulwark starts, requests are
// recorded, packets are dropped and counted, and the failure is logged.
func TestStatsdUnresolvableName(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	s, err := New(statsdConfig("statsd.invalid:8125", ""), nil, BuildInfo{}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.Request(&Request{Code: 200})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, s.prom.sdDropped); got < 1 {
		t.Errorf("bulwark_statsd_dropped_total = %v, want > 0", got)
	}
	if logs.FilterMessage("statsd send failing; dropping packets").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
}

func TestStatsdPrefix(t *testing.T) {
	for _, tt := range []struct{ give, want string }{
		{"", "bulwark"},
		{"browserid.router", "browserid.router"},
		{".a..b.", "a.b"},
		{"a:b.c|d", "a_b.c_d"},
		{"...", "bulwark"},
	} {
		if got := statsdPrefix(tt.give); got != tt.want {
			t.Errorf("statsdPrefix(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// A statsd that is down costs nothing: requests record as usual, the send
// errors are counted and logged once, and Close returns at once.
func TestStatsdDown(t *testing.T) {
	l := listenUDP(t)
	addr := l.addr()
	l.conn.Close() // nobody listens there any more: writes get ECONNREFUSED

	core, logs := observer.New(zapcore.InfoLevel)
	s, err := New(statsdConfig(addr, ""), nil, BuildInfo{}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 2000 {
		s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 200 + i%3, Duration: time.Millisecond, API: "x"})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("2000 requests with statsd down took %v", d)
	}
	if got := counterValue(t, s.prom.sdDropped); got < 1 {
		t.Errorf("bulwark_statsd_dropped_total = %v, want > 0", got)
	}
	if n := logs.FilterMessage("statsd send failing; dropping packets").Len(); n != 1 {
		t.Errorf("logged the failure %d times, want once", n)
	}
}

func TestStatsdUpdate(t *testing.T) {
	a, b := listenUDP(t), listenUDP(t)
	s := newStats(t, statsdConfig(a.addr(), "one"))
	s.Request(&Request{Code: 200})

	// Same settings: the client stays.
	k := s.sd.Load()
	if err := s.Update(statsdConfig(a.addr(), "one")); err != nil {
		t.Fatal(err)
	}
	if s.sd.Load() != k {
		t.Fatal("unchanged config replaced the statsd client")
	}
	// A bad address leaves the old client in place.
	if err := s.Update(statsdConfig("nowhere", "two")); err == nil {
		t.Fatal("Update to a bad address: no error")
	}
	s.Rejected(Denied)
	// New prefix and address: the old client is flushed and closed.
	if err := s.Update(statsdConfig(b.addr(), "two")); err != nil {
		t.Fatal(err)
	}
	s.Rejected(Overload)
	// Off, then on again.
	if err := s.Update(statsdConfig("", "two")); err != nil {
		t.Fatal(err)
	}
	s.Rejected(QueueFull) // nowhere
	if err := s.Update(statsdConfig(b.addr(), "three")); err != nil {
		t.Fatal(err)
	}
	s.HealthFail("x")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(statsdConfig(b.addr(), "four")); err != ErrClosed {
		t.Fatalf("Update after Close: %v, want ErrClosed", err)
	}
	s.Request(&Request{Code: 200}) // after Close: Prometheus only

	wantA := []string{"one.rejected.denied:1|c", "one.request:1|c", "one.response.200:1|c", "one.response_time:0|ms"}
	if got := a.lines(); !slices.Equal(got, wantA) {
		t.Errorf("first server got %q, want %q", got, wantA)
	}
	wantB := []string{"three.health.x.fail:1|c", "two.rejected.overload:1|c"}
	if got := b.lines(); !slices.Equal(got, wantB) {
		t.Errorf("second server got %q, want %q", got, wantB)
	}
}

// Names from outside the config's character set never break a statsd line.
func TestStatsdSanitisesNames(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig(l.addr(), ""))
	s.Request(&Request{Route: "a:b", Backend: "my.app|x", Code: 500, BackendLatency: time.Microsecond, BackendError: true, API: "ok"})
	s.HealthFail("c\nd")
	s.BreakerState("e@f", "t", breaker.StateOpen)
	s.Close()
	want := []string{
		"bulwark.a_b.ok:1|c",
		"bulwark.backend.my_app_x.error:1|c",
		"bulwark.backend.my_app_x.latency:0.001|ms",
		"bulwark.breaker.e_f.open:1|c",
		"bulwark.health.c_d.fail:1|c",
		"bulwark.request:1|c",
		"bulwark.response.500:1|c",
		"bulwark.response_time:0|ms",
	}
	if got := l.lines(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// Many requests split into packets no larger than the flush size, each a
// whole number of lines. statsd on loopback gets loopbackFlushBytes
// packets, filled: far fewer than at the network size.
func TestStatsdPacketsStayWhole(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig(l.addr(), ""))
	const n = 300
	for i := range n {
		s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 200, API: fmt.Sprintf("op%d", i%10), BackendLatency: time.Millisecond})
	}
	s.Close()
	packets := l.packets()
	total := 0
	for _, p := range packets {
		total += len(p)
		if len(p) > loopbackFlushBytes {
			t.Errorf("packet of %d bytes, over %d", len(p), loopbackFlushBytes)
		}
	}
	if want := total/loopbackFlushBytes + 2; len(packets) > want {
		t.Errorf("%d packets for %d bytes, want at most %d", len(packets), total, want)
	}
	count := map[string]int{}
	for _, line := range sumCounters(t, packets) {
		count[line]++
	}
	if count[fmt.Sprintf("bulwark.request:%d|c", n)] != 1 || count[fmt.Sprintf("bulwark.wsapi.op3:%d|c", n/10)] != 1 ||
		count["bulwark.backend.browserid.latency:1|ms"] != n || count["bulwark.response_time:0|ms"] != n {
		t.Errorf("counts: %v", count)
	}
}

// Recording from many goroutines while reloads swap the statsd client and
// /metrics is scraped is safe (run with -race).
func TestConcurrentRecordUpdateScrape(t *testing.T) {
	a, b := listenUDP(t), listenUDP(t)
	s := newStats(t, statsdConfig(a.addr(), "a"))
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 2000 {
				s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 200 + i%5, API: fmt.Sprint("op", i%300), BackendLatency: time.Millisecond})
				s.InFlight(1)
				s.Rejected(Reason(i % int(numReasons)))
				s.BreakerState("browserid", fmt.Sprint("t", g), breaker.State(i%3))
				s.UnderAttack(i%7 == 0)
				s.QueueWait("browserid", time.Duration(i)*time.Microsecond)
				s.InFlight(-1)
			}
		}()
	}
	for i := range 20 {
		cfg := statsdConfig(a.addr(), "a")
		if i%2 == 1 {
			cfg = statsdConfig(b.addr(), "b")
		}
		if err := s.Update(cfg); err != nil {
			t.Error(err)
		}
		if code, _ := scrape(t, s.Handler()); code != 200 {
			t.Errorf("scrape: %d", code)
		}
	}
	for range 4 {
		<-done
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.prom.inFlight.Load(); n != 0 {
		t.Errorf("in flight %d after balanced adds", n)
	}
	if len(a.lines()) == 0 || len(b.lines()) == 0 {
		t.Error("a statsd server received nothing")
	}
}

func TestStatsdPacketBytes(t *testing.T) {
	for _, tt := range []struct {
		give string
		want int
	}{
		{"127.0.0.1:8125", loopbackFlushBytes},
		{"127.0.0.53:8125", loopbackFlushBytes},
		{"[::1]:8125", loopbackFlushBytes},
		{"[::ffff:127.0.0.1]:8125", loopbackFlushBytes},
		{"localhost:8125", loopbackFlushBytes},
		{"10.0.0.7:8125", flushBytes},
		{"[2001:db8::1]:8125", flushBytes},
		{"statsd.internal:8125", flushBytes},
		{"bad", flushBytes},
	} {
		if got := packetBytes(tt.give); got != tt.want {
			t.Errorf("packetBytes(%q) = %d, want %d", tt.give, got, tt.want)
		}
	}
}
