package stats

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Within one flush interval, every counter is one line with the sum, every
// timer value still its own line, and the packets are far fewer than one
// message per event would need.
func TestStatsdCountersSummedPerFlush(t *testing.T) {
	l := listenUDP(t)
	read := l.startReading()
	cfg := statsdConfig(l.addr(), "")
	cfg.Statsd.FlushInterval = time.Hour // only Close flushes
	s := newStats(t, cfg)
	const requests, rejections = 1000, 500
	apis := []string{"session_context", "address_info", "list_emails", "have_email"}
	for i := range requests {
		r := Request{Route: "wsapi", Backend: "browserid", Code: 200, API: apis[i%len(apis)],
			Duration: 1234 * time.Microsecond, BackendLatency: 987 * time.Microsecond}
		switch {
		case i%10 == 9:
			r.Code, r.BackendError = 503, true
		case i%25 == 0:
			r = Request{Code: 404, Duration: 1234 * time.Microsecond} // no route
		}
		s.Request(&r)
	}
	for i := range rejections {
		s.Rejected([]Reason{RateLimit, Banned}[i%2])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	packets := read()

	// Exactly one line per counter name.
	lines := 0
	seen := map[string]int{}
	for _, p := range packets {
		for line := range strings.SplitSeq(p, "\n") {
			lines++
			if name, ok := strings.CutSuffix(line, "|c"); ok {
				name, _, _ = strings.Cut(name, ":")
				seen[name]++
			}
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s sent in %d lines, want 1", name, n)
		}
	}
	// i%25 == 0 takes i = 0, 25, …, 975 (40); i%10 == 9 takes 100 others.
	const unrouted, failed = 40, 100
	routed := requests - unrouted
	want := []string{
		"bulwark.request:1000|c",
		fmt.Sprintf("bulwark.response.200:%d|c", routed-failed),
		fmt.Sprintf("bulwark.response.503:%d|c", failed),
		fmt.Sprintf("bulwark.response.404:%d|c", unrouted),
		fmt.Sprintf("bulwark.backend.browserid.error:%d|c", failed),
		"bulwark.rejected.rate_limit:250|c",
		"bulwark.rejected.banned:250|c",
	}
	perAPI := map[string]int{}
	for i := range requests {
		if i%25 != 0 { // routed, 503 or not
			perAPI[apis[i%len(apis)]]++
		}
	}
	for api, n := range perAPI {
		want = append(want, fmt.Sprintf("bulwark.wsapi.%s:%d|c", api, n))
	}
	for range requests {
		want = append(want, "bulwark.response_time:1.234|ms")
	}
	for range routed {
		want = append(want, "bulwark.backend.browserid.latency:0.987|ms")
	}
	slices.Sort(want)
	if got := sumCounters(t, packets); !slices.Equal(got, want) {
		t.Errorf("lines:\n got %q\nwant %q", got, want)
	}
	if len(seen) != len(want)-requests-routed {
		t.Errorf("%d counter names, want %d", len(seen), len(want)-requests-routed)
	}

	// The timers are packed as tightly as their messages allow, and the
	// counters add at most one packet.
	timers := len("bulwark.response_time:1.234|ms\nbulwark.backend.browserid.latency:0.987|ms")
	perPacket := (flushBytes + 1) / (timers + 1)
	most := (requests+perPacket-1)/perPacket + 1
	// One message per event, as before: five lines per routed request.
	before := len("bulwark.request:1|c\nbulwark.response_time:1.234|ms\nbulwark.response.200:1|c\n" +
		"bulwark.wsapi.session_context:1|c\nbulwark.backend.browserid.latency:0.987|ms")
	beforePackets := requests/((flushBytes+1)/(before+1)) + rejections/((flushBytes+1)/(len("bulwark.rejected.rate_limit:1|c")+1))
	if len(packets) > most || 2*len(packets) > beforePackets {
		t.Errorf("%d packets (%d lines), want at most %d, and under half of %d", len(packets), lines, most, beforePackets)
	}
	t.Logf("%d packets of %d lines; one message per event would take about %d packets of %d lines",
		len(packets), lines, beforePackets, 5*routed+2*unrouted+rejections)
}

// A reload to another address while goroutines record neither loses nor
// duplicates a count: the two servers together get every one exactly once
// (run with -race).
func TestStatsdReloadCountsOnce(t *testing.T) {
	a, b := listenUDP(t), listenUDP(t)
	readA, readB := a.startReading(), b.startReading()
	cfgA, cfgB := statsdConfig(a.addr(), "p"), statsdConfig(b.addr(), "p")
	cfgA.Statsd.FlushInterval = 0 // the default, 100ms
	cfgB.Statsd.FlushInterval = time.Millisecond
	s := newStats(t, cfgA)

	// Recording and reloads go in lockstep: the goroutines run at most two
	// steps ahead of the reloads, and each sink lives for at least half a
	// step of whole rounds, so every sink counts while others start and
	// close.
	const goroutines, rounds, reloads = 4, 500, 20
	const step = goroutines * rounds / (reloads + 2)
	var progress, reloaded atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				for r := reloaded.Load(); r < reloads && progress.Load() >= (r+2)*step; r = reloaded.Load() {
					runtime.Gosched()
				}
				s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 200, API: "op_a", BackendLatency: time.Millisecond})
				s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 503, API: "op_b", BackendError: true})
				s.Rejected(Banned)
				progress.Add(1)
			}
		})
	}
	var since int64 // progress when the current sink took over
	for i := range reloads {
		for p := progress.Load(); p < int64(i+1)*step || p < since+step/2; p = progress.Load() {
			runtime.Gosched()
		}
		cfg := cfgB
		if i%2 == 1 {
			cfg = cfgA
		}
		if err := s.Update(cfg); err != nil {
			t.Fatal(err)
		}
		since = progress.Load()
		reloaded.Add(1)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	got := map[string]int{}
	counterLines := 0
	packetsA, packetsB := readA(), readB()
	for _, l := range [][]string{sumCounters(t, packetsA), sumCounters(t, packetsB)} {
		if !slices.ContainsFunc(l, func(line string) bool { return strings.HasPrefix(line, "p.request:") }) {
			t.Errorf("a server got no request count: %q", l)
		}
	}
	for _, p := range append(packetsA, packetsB...) {
		for line := range strings.SplitSeq(p, "\n") {
			name, rest, _ := strings.Cut(line, ":")
			value, kind, _ := strings.Cut(rest, "|")
			if kind == "ms" {
				got[name+"|ms"]++
				continue
			}
			n, err := strconv.Atoi(value)
			if kind != "c" || err != nil || n <= 0 {
				t.Fatalf("bad line %q", line)
			}
			got[name] += n
			counterLines++
		}
	}
	const n = goroutines * rounds
	timers := map[string]int{"p.response_time|ms": got["p.response_time|ms"], "p.backend.browserid.latency|ms": got["p.backend.browserid.latency|ms"]}
	maps.DeleteFunc(got, func(k string, _ int) bool { return strings.HasSuffix(k, "|ms") })
	want := map[string]int{
		"p.request":                 2 * n,
		"p.response.200":            n,
		"p.response.503":            n,
		"p.wsapi.op_a":              n,
		"p.wsapi.op_b":              n,
		"p.backend.browserid.error": n,
		"p.rejected.banned":         n,
	}
	if !maps.Equal(got, want) {
		t.Errorf("counters across both servers:\n got %v\nwant %v", got, want)
	}
	// Timers sent to a sink closing in the swap are dropped and counted, as
	// before; each drop is a message or a packet of at most perPacket.
	dropped := int(counterValue(t, s.prom.sdDropped))
	perPacket := (flushBytes + 1) / len("p.response_time:0|ms\n")
	if rt, bl := timers["p.response_time|ms"], timers["p.backend.browserid.latency|ms"]; rt > 2*n || bl > n || rt+bl+dropped*perPacket < 3*n {
		t.Errorf("%d response_time and %d latency values with %d drops; want %d and %d", rt, bl, dropped, 2*n, n)
	}
	t.Logf("%d counter lines for %d counted events over %d reloads; %d drops", counterLines, 7*n, reloads, dropped)
}

// Counts are only kept while statsd is on, and turning it on by reload
// starts from zero, even after a request that raced the switch-off.
func TestStatsdCountsOnlyWhileOn(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig("", "p"))
	s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: 500, API: "x", BackendError: true})
	s.Rejected(Denied)
	if c := s.takeCounts(); c.codes[codeIndex(500)] != 0 || c.rejected[Denied] != 0 || c.apis != nil || c.errors != nil {
		t.Errorf("counted while statsd was off: %+v", c)
	}
	// What a Rejected that loaded the sink just before a switch-off adds.
	s.rejected[Overload].Add(1)
	if err := s.Update(statsdConfig(l.addr(), "p")); err != nil {
		t.Fatal(err)
	}
	s.Request(&Request{Code: 200})
	s.Close()
	want := []string{"p.request:1|c", "p.response.200:1|c", "p.response_time:0|ms"}
	if got := l.lines(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
