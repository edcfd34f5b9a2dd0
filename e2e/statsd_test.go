package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// skipUnlessCI skips the test, or fails it when CI=true: CI must have every
// tool the tests use.
func skipUnlessCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

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

// etsyVersion is the npm version of Etsy's statsd daemon the test runs (the
// stats package's tests use the same one and share the install).
const etsyVersion = "0.9.0"

// installEtsyStatsd installs Etsy's statsd with npm into a directory under
// the temp dir, once, and returns node's path and stats.js's.
func installEtsyStatsd(t *testing.T) (node, script string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		skipUnlessCI(t, "node or npm not installed: %v %v", errNode, errNpm)
	}
	dir := filepath.Join(os.TempDir(), "bulwark-test-etsy-statsd-"+etsyVersion)
	script = filepath.Join(dir, "node_modules", "statsd", "stats.js")
	if _, err := os.Stat(script); err == nil {
		return node, script
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "bulwark-test-etsy-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--omit=optional",
		"--ignore-scripts", "--no-save", "--prefix", tmp, "statsd@"+etsyVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		skipUnlessCI(t, "npm install statsd@%s: %v\n%s", etsyVersion, err, out)
	}
	// Rename is atomic: a concurrent run either wins or finds it installed.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(script); statErr != nil {
			t.Fatalf("install: %v", err)
		}
	}
	return node, script
}

// freeUDPAddr returns a loopback UDP address nobody listens on right now.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// startEtsyStatsd runs the daemon on loopback until the test ends and
// returns its UDP address and its management address. It never flushes
// (no backends, an hour between flushes), so counters only accumulate.
func startEtsyStatsd(t *testing.T) (udpAddr, mgmtAddr string) {
	t.Helper()
	node, script := installEtsyStatsd(t)
	udpAddr, mgmtAddr = freeUDPAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(udpAddr)
	_, mport, _ := net.SplitHostPort(mgmtAddr)
	cfg := filepath.Join(t.TempDir(), "config.js")
	conf := fmt.Sprintf(`{ address: "127.0.0.1", port: %s, mgmt_address: "127.0.0.1", mgmt_port: %s,
  backends: [], flushInterval: 3600000 }`, port, mport)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "statsd", node, script, cfg)
	// The daemon logs "server is up" before its sockets are bound: wait
	// until it counts a probe sent over UDP.
	c, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, 20*time.Second, 20*time.Millisecond, "statsd did not count a probe", func() bool {
		select {
		case <-p.done:
			t.Fatalf("statsd exited: %s", p.out.tail(2048))
		default:
		}
		c.Write([]byte("probe.up:1|c"))
		out, err := etsyCommand(mgmtAddr, "counters")
		return err == nil && strings.Contains(out, "'probe.up'")
	})
	return udpAddr, mgmtAddr
}

// etsyCommand sends one management command and returns its answer.
func etsyCommand(mgmt, command string) (string, error) {
	c, err := net.DialTimeout("tcp", mgmt, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", err
	}
	var out strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if sc.Text() == "END" {
			return out.String(), nil
		}
		out.WriteString(sc.Text() + "\n")
	}
	return "", fmt.Errorf("%s: no END (%v): %s", command, sc.Err(), out.String())
}

var (
	inspectNumber = regexp.MustCompile(`'([^']+)':\s*([-0-9.eE+]+)`)
	inspectArray  = regexp.MustCompile(`'([^']+)':\s*\[([^\]]*)\]`)
)

// etsyState reads the daemon's counters (by value) and timers (by number
// of values) whose names start with prefix, and its bad line count.
func etsyState(t *testing.T, mgmt, prefix string) (got map[string]float64, bad float64) {
	t.Helper()
	counters, err := etsyCommand(mgmt, "counters")
	if err != nil {
		t.Fatal(err)
	}
	timers, err := etsyCommand(mgmt, "timers")
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]float64{}
	for _, m := range inspectNumber.FindAllStringSubmatch(counters, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "statsd.bad_lines_seen" {
			bad = v
		}
		if strings.HasPrefix(m[1], prefix) {
			got[m[1]] = v
		}
	}
	for _, m := range inspectArray.FindAllStringSubmatch(timers, -1) {
		if !strings.HasPrefix(m[1], prefix) {
			continue
		}
		for f := range strings.FieldsFuncSeq(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			if v, err := strconv.ParseFloat(f, 64); err != nil || v < 0 {
				t.Errorf("timer %s: value %q", m[1], f)
			}
			got[m[1]]++
		}
	}
	return got, bad
}

// The bulwark binary, pointed at Etsy's statsd daemon, makes the daemon
// count exactly the known mix of requests sent through it.
func TestEtsyStatsdCountsTheBinary(t *testing.T) {
	udpAddr, mgmt := startEtsyStatsd(t)
	addr, admin, app := freeAddr(t), freeAddr(t), freeAddr(t)
	startBackend(t, "app", app, "")
	startBulwark(t, "statsd", addr, fmt.Sprintf(mixConfig, addr, admin, app, freeAddr(t), udpAddr))

	sendKnownMix(t, "http://"+addr)

	// bulwark flushes every 10ms and the daemon reads on its own schedule:
	// ask until the request count is complete. A request's lines travel in
	// one message, after any refusal counted before it.
	var got map[string]float64
	var bad float64
	took := eventually(t, 10*time.Second, 20*time.Millisecond, "statsd never counted 16 requests", func() bool {
		got, bad = etsyState(t, mgmt, "browserid.router.")
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
	t.Logf("statsd %s counted the mix %v after the last request:%s", etsyVersion, took, b.String())
}
