package e2e

import (
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"
)

// slowlorisConfig is one bulwark that trusts no proxy, gives a client 2 s
// to send its headers and at most 50 connections at a time.
const slowlorisConfig = `listen: %s
admin: {listen: %s}
log: {level: error, access: false}
server: {read_header_timeout: 2s}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
abuse: {max_conns_per_client: 50}
`

const (
	slowhttptestPath = "/usr/bin/slowhttptest"
	slowlorisSeconds = 10
	probePace        = 100 * time.Millisecond
	probeMaxLatency  = 500 * time.Millisecond
)

func slowhttptest(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(slowhttptestPath); err == nil {
		return slowhttptestPath
	}
	testutil.SkipOrFail(t, "slowhttptest not installed (%s)", slowhttptestPath)
	return ""
}

// TestSlowlorisWithSlowhttptest runs slowhttptest in slowloris mode (500
// connections from 127.0.0.1 that trickle a header line a second) against
// bulwark for 10 s, while a legitimate client on 127.0.0.2 opens a fresh
// connection for a request every 100 ms. The per-client connection cap
// closes the attacker's connections past 50 at accept and
// read_header_timeout ends the 50 it holds, so the legitimate client keeps
// being answered quickly.
func TestSlowlorisWithSlowhttptest(t *testing.T) {
	tool := slowhttptest(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(backend.Close)

	addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBulwark(t, "slowloris", addr, fmt.Sprintf(slowlorisConfig, addr, admin, backend.URL))

	// slowhttptest stops early once the router has closed every one of its
	// connections ("No open connections left"); it is started again until
	// the attack has lasted slowlorisSeconds.
	window := time.Duration(slowlorisSeconds) * time.Second
	start := time.Now()
	runs := 0
	attack := func() *proc {
		runs++
		left := max(1, int((window-time.Since(start)+time.Second-1)/time.Second))
		return startProc(t, fmt.Sprintf("slowhttptest run %d", runs), tool, "-H",
			"-c", "500", "-r", "200", "-i", "1", "-l", strconv.Itoa(left),
			"-p", "3", "-u", "http://"+addr+"/")
	}
	current := attack()

	// The legitimate client: its own address, a new connection per
	// request, so every request needs the router to accept and read it.
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
			Timeout:   2 * time.Second,
		}).DialContext,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	url := "http://" + addr + "/legit"

	var sent, good int
	var slowest time.Duration
	var bad []string
	tk := time.NewTicker(probePace)
	defer tk.Stop()
	limit := time.After(window + 5*time.Second)
probe:
	for {
		select {
		case <-current.done:
			if time.Since(start) >= window {
				break probe
			}
			current = attack()
			continue
		case <-limit:
			t.Errorf("slowhttptest still running after %ds", slowlorisSeconds+5)
			break probe
		case <-tk.C:
		}
		sent++
		t0 := time.Now()
		resp, err := c.Get(url)
		d := time.Since(t0)
		slowest = max(slowest, d)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("+%v: %v", t0.Sub(start).Round(time.Millisecond), err))
			continue
		case resp.StatusCode != http.StatusOK:
			bad = append(bad, fmt.Sprintf("+%v: status %d after %v", t0.Sub(start).Round(time.Millisecond), resp.StatusCode, d))
		case d > probeMaxLatency:
			bad = append(bad, fmt.Sprintf("+%v: 200 after %v", t0.Sub(start).Round(time.Millisecond), d))
		default:
			good++
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	mc := &http.Client{Timeout: 2 * time.Second}
	defer mc.CloseIdleConnections()
	capped, err := metricValue(mc, "http://"+admin+"/metrics", "bulwark_rejections_total", `reason="too_many_conns"`)
	if err != nil {
		t.Error(err)
	}

	pct := 100 * float64(good) / float64(max(sent, 1))
	t.Logf("legitimate client: %d requests, %d ok under %v (%.2f%%), slowest %v; %d bad: %v",
		sent, good, probeMaxLatency, pct, slowest.Round(time.Millisecond), len(bad), bad)
	t.Logf("router: too_many_conns rejections %.0f; slowhttptest ran %d times in %v", capped, runs, time.Since(start).Round(time.Millisecond))
	t.Logf("last slowhttptest run (tail):\n%s", current.out.tail(600))

	if sent < slowlorisSeconds*int(time.Second/probePace)/2 {
		t.Errorf("the legitimate client sent only %d requests", sent)
	}
	if pct < 99 {
		t.Errorf("legitimate client: %.2f%% of requests got 200 within %v, want >= 99%%", pct, probeMaxLatency)
	}
	if capped <= 0 {
		t.Errorf("bulwark_rejections_total{reason=\"too_many_conns\"} = %v, want > 0", capped)
	}
}
