package stats

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// randomName is what an attacker may put where a name goes: sometimes a valid
// API name, sometimes any bytes.
func randomName(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return fmt.Sprintf("op_%d", r.Uint32())
	}
	b := make([]byte, r.IntN(80))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return string(b)
}

// A flood of unrouted requests, random API names, random status codes,
// random reasons and too many backends and routes leaves the number of
// Prometheus series and statsd names bounded.
func TestCardinalityBounded(t *testing.T) {
	l := listenUDP(t)
	if uc, ok := l.conn.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
	}
	stop := l.startReading()

	s := newStats(t, statsdConfig(l.addr(), ""))
	r := rand.New(rand.NewPCG(1, 2))
	const flood = 20000
	for i := range flood {
		code := r.IntN(3000) - 1000
		switch i % 4 {
		case 0, 1: // no route matched: the API is ignored
			s.Request(&Request{Code: code, API: randomName(r), Duration: time.Duration(r.Int64N(int64(time.Minute)))})
		case 2: // a per_api route
			s.Request(&Request{Route: "wsapi", Backend: "browserid", Code: code, API: randomName(r), BackendLatency: time.Millisecond})
		case 3:
			s.Rejected(Reason(r.UintN(256)))
			s.QueueWait(fmt.Sprint("backend", i), time.Millisecond)
		}
	}
	// More (route, backend) pairs than any config has.
	for i := range 2 * maxPairs {
		s.Request(&Request{Route: fmt.Sprint("r", i), Backend: "b", Code: 200})
	}
	s.Close()
	names := map[string]int{}
	for _, p := range stop() {
		for _, line := range strings.Split(p, "\n") {
			name, _, ok := strings.Cut(line, ":")
			if !ok {
				t.Errorf("malformed statsd line %q", line)
			}
			names[name]++
		}
	}

	// Prometheus: count series per family.
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	for _, tt := range []struct {
		name string
		max  int
	}{
		// numCodes each for (,) and (wsapi, browserid); 200 for every other pair.
		{"bulwark_requests_total", 2*numCodes + maxPairs},
		{"bulwark_request_duration_seconds", maxPairs + 1},
		{"bulwark_rejections_total", int(numReasons) + 1 + len(contractReasons)},
		{"bulwark_queue_wait_seconds", maxBackends + 1},
	} {
		if got := series[tt.name]; got > tt.max || got == 0 {
			t.Errorf("%s: %d series, want 1..%d", tt.name, got, tt.max)
		}
	}
	total := 0
	for name, n := range series {
		if strings.HasPrefix(name, "bulwark_") {
			total += n
		}
	}
	t.Logf("%d bulwark series after %d random events", total, flood+2*maxPairs)

	// statsd: names by kind.
	kinds := map[string]int{}
	for name := range names {
		rest, ok := strings.CutPrefix(name, "bulwark.")
		if !ok {
			t.Fatalf("name %q lacks the prefix", name)
		}
		switch {
		case rest == "request" || rest == "response_time":
			kinds["request"]++
		case strings.HasPrefix(rest, "response."):
			kinds["response"]++
		case strings.HasPrefix(rest, "wsapi."):
			kinds["api"]++
		case strings.HasPrefix(rest, "rejected."):
			kinds["rejected"]++
		case strings.HasPrefix(rest, "backend."):
			kinds["backend"]++
		default:
			t.Errorf("unexpected statsd name %q", name)
		}
	}
	for _, tt := range []struct {
		kind string
		max  int
	}{
		{"request", 2},
		{"response", numCodes},
		{"api", MaxAPIsPerRoute + 1},
		{"rejected", int(numReasons) + 1},
		{"backend", 1},
	} {
		if got := kinds[tt.kind]; got > tt.max || got == 0 {
			t.Errorf("%s: %d statsd names, want 1..%d", tt.kind, got, tt.max)
		}
	}
	if names["bulwark.wsapi.other"] == 0 || names["bulwark.response.other"] == 0 {
		t.Error("no overflow counted as other")
	}
	t.Logf("%d statsd names after %d random events", len(names), flood+2*maxPairs)
}
