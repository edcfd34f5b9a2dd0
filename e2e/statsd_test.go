package e2e

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/etsystatsd"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// mixConfig is a Persona-like bulwark: per_api /wsapi/, a plain route, a
// route with a tiny per-client limit, a dead backend (breaker off, so every
// request is a 502) and no catch-all (anything else is a 404). Arguments:
// listen, admin, backend, dead backend, statsd address.
const mixConfig = `listen: %s
admin: {listen: %s}
log: {level: warn}
backends:
  app: {targets: [http://%[3]s]}
  static: {targets: [http://%[3]s]}
  dead: {targets: [http://%[4]s], breaker: {disabled: true}}
routes:
  - {match: {path_prefix: /wsapi/}, backend: app, stats: {name: wsapi, per_api: true}}
  - {match: {path_prefix: /static/}, backend: static, stats: {name: static}}
  - {match: {path_prefix: /limited/}, backend: static, limit: tiny, stats: {name: limited}}
  - {match: {path_prefix: /dead/}, backend: dead, stats: {name: dead}}
limits:
  tiny: {rate: 1/h, burst: 2}
stats:
  statsd: {address: "%[5]s", prefix: browserid.router, flush_interval: 10ms}
  prometheus: {enabled: true}
`

// mixRequest is one kind of request of the known mix, sent n times.
type mixRequest struct {
	method, path string
	n            int
	codes        []int // the answers, in order; one code means all
}

var knownMix = []mixRequest{
	{"GET", "/wsapi/session_context", 3, []int{200}},
	{"POST", "/wsapi/stage_user", 2, []int{200}},
	{"GET", "/wsapi/list_emails", 1, []int{200}},
	{"GET", "/static/app.js", 2, []int{200}},
	{"GET", "/nothing/here", 1, []int{404}},
	{"GET", "/limited/x", 5, []int{200, 200, 429, 429, 429}}, // burst 2
	{"GET", "/dead/x", 2, []int{502}},
}

// knownMixStatsd is what the mix adds to statsd: counters by sum, timers
// by number of values.
var knownMixStatsd = map[string]float64{
	"browserid.router.request":                16,
	"browserid.router.response_time":          16, // timer
	"browserid.router.response.200":           10,
	"browserid.router.response.404":           1,
	"browserid.router.response.429":           3,
	"browserid.router.response.502":           2,
	"browserid.router.wsapi.session_context":  3,
	"browserid.router.wsapi.stage_user":       2,
	"browserid.router.wsapi.list_emails":      1,
	"browserid.router.backend.app.latency":    6, // timer
	"browserid.router.backend.static.latency": 4, // timer
	"browserid.router.backend.dead.latency":   2, // timer
	"browserid.router.backend.dead.error":     2,
	"browserid.router.rejected.rate_limit":    3,
}

// sendKnownMix sends the mix to base and checks every answer.
func sendKnownMix(t *testing.T, base string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, m := range knownMix {
		for i := range m.n {
			req, err := http.NewRequest(m.method, base+m.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", m.method, m.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			want := m.codes[min(i, len(m.codes)-1)]
			if resp.StatusCode != want {
				t.Fatalf("%s %s #%d: %d, want %d", m.method, m.path, i, resp.StatusCode, want)
			}
		}
	}
}

// etsyState reads the daemon's counters (by value) and timers (by number
// of values) whose names start with prefix, and its bad line count.
func etsyState(t *testing.T, d *etsystatsd.Daemon, prefix string) (got map[string]float64, bad float64) {
	t.Helper()
	counters, err := d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	timers, err := d.Timers()
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]float64{}
	for name, v := range counters {
		if strings.HasPrefix(name, prefix) {
			got[name] = v
		}
	}
	for name, vs := range timers {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, v := range vs {
			if v < 0 {
				t.Errorf("timer %s: value %v", name, v)
			}
		}
		got[name] = float64(len(vs))
	}
	return got, counters["statsd.bad_lines_seen"]
}

// The bulwark binary, pointed at Etsy's statsd daemon, makes the daemon
// count exactly the known mix of requests sent through it.
func TestEtsyStatsdCountsTheBinary(t *testing.T) {
	d := etsystatsd.Start(t)
	udpAddr := d.UDPAddr
	addr, admin, app := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", app, "")
	startBulwark(t, "statsd", addr, fmt.Sprintf(mixConfig, addr, admin, app, testutil.FreeAddr(t), udpAddr))

	sendKnownMix(t, "http://"+addr)

	// bulwark flushes every 10ms and the daemon reads on its own schedule:
	// ask until the request count is complete. A request's lines travel in
	// one message, after any refusal counted before it.
	var got map[string]float64
	var bad float64
	took := eventually(t, 10*time.Second, 20*time.Millisecond, "statsd never counted 16 requests", func() bool {
		got, bad = etsyState(t, d, "browserid.router.")
		return got["browserid.router.request"] >= 16
	})
	if bad != 0 {
		t.Errorf("statsd saw %v bad lines", bad)
	}
	if !maps.Equal(got, knownMixStatsd) {
		keys := slices.Sorted(maps.Keys(got))
		for k := range knownMixStatsd {
			if _, ok := got[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if got[k] != knownMixStatsd[k] {
				t.Errorf("statsd %s = %v, want %v", k, got[k], knownMixStatsd[k])
			}
		}
	}
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(got)) {
		fmt.Fprintf(&b, "\n  %s %v", k, got[k])
	}
	t.Logf("statsd %s counted the mix %v after the last request:%s", etsystatsd.Version, took, b.String())
}
