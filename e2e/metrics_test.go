package e2e

import (
	"bytes"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// promtoolPath finds promtool (Debian package prometheus).
func promtoolPath(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/promtool"); err == nil {
		return "/usr/bin/promtool"
	}
	return testutil.Tool(t, "promtool", "Debian package prometheus")
}

// fetch GETs url and returns the status, the X-Backend header and the body.
func fetch(t *testing.T, url string) (int, string, string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Backend"), string(b)
}

// The binary's /metrics, after traffic of every kind, passes promtool's
// exposition checks and lint.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := promtoolPath(t)
	addr, admin, app := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", app, "")
	startBulwark(t, "metrics", addr, fmt.Sprintf(mixConfig, addr, admin, app, testutil.FreeAddr(t), freeUDPAddr(t)))
	sendKnownMix(t, "http://"+addr)

	code, _, body := fetch(t, "http://"+admin+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("admin /metrics: %d\n%s", code, body)
	}
	for _, want := range []string{
		`bulwark_requests_total{backend="app",code="200",route="wsapi"} 6`,
		`bulwark_rejections_total{reason="rate_limit"} 3`,
		"bulwark_early_refusals_total 3", // the same three, answered by the front
		`bulwark_requests_total{backend="dead",code="502",route="dead"} 2`,
		"bulwark_build_info{",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	t.Logf("promtool check metrics: ok (%d bytes, %d lines)%s", len(body), strings.Count(body, "\n"), out)
}

// adminPaths are served by the admin listener only.
var adminPaths = []string{"/admin/", "/admin/api/status", "/metrics", "/debug/pprof/", "/admin/api/bans"}

// looksAdmin reports whether body carries admin content: Prometheus
// exposition, pprof's index, status or bans JSON.
func looksAdmin(body string) bool {
	for _, s := range []string{"# HELP", "# TYPE", "bulwark_", "goroutine", "pprof", `"backends"`, `"bans"`, "<html"} {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

// The public listener never serves admin data: without a catch-all route
// the admin paths are 404s; with one, they go to the backend like any path.
func TestPublicListenerServesNoAdminData(t *testing.T) {
	app := testutil.FreeAddr(t)
	startBackend(t, "app", app, "")

	t.Run("no_route", func(t *testing.T) {
		addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
		startBulwark(t, "public", addr, fmt.Sprintf(mixConfig, addr, admin, app, testutil.FreeAddr(t), freeUDPAddr(t)))
		sendKnownMix(t, "http://"+addr)
		// The admin listener does serve these, so the test can tell them apart.
		if code, _, body := fetch(t, "http://"+admin+"/metrics"); code != 200 || !looksAdmin(body) {
			t.Fatalf("admin /metrics: %d %.100q", code, body)
		}
		if code, _, body := fetch(t, "http://"+admin+"/debug/pprof/"); code != 200 || !looksAdmin(body) {
			t.Fatalf("admin /debug/pprof/: %d %.100q", code, body)
		}
		for _, p := range adminPaths {
			code, backend, body := fetch(t, "http://"+addr+p)
			if code != http.StatusNotFound || backend != "" || looksAdmin(body) {
				t.Errorf("public %s: %d (X-Backend %q) %.200q, want a 404 with no admin content", p, code, backend, body)
			}
		}
	})

	t.Run("catch_all", func(t *testing.T) {
		addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
		startBulwark(t, "catchall", addr, fmt.Sprintf(`listen: %s
admin: {listen: %s}
log: {level: warn}
backends:
  app: {targets: [http://%s]}
routes: [{backend: app}]
`, addr, admin, app))
		for _, p := range adminPaths {
			code, backend, body := fetch(t, "http://"+addr+p)
			if code != http.StatusOK || backend != "app" || body != "app" || looksAdmin(body) {
				t.Errorf("public %s: %d (X-Backend %q) %.200q, want the backend's own answer", p, code, backend, body)
			}
		}
		code, _, body := fetch(t, "http://"+admin+"/metrics")
		if code != http.StatusOK || !bytes.Contains([]byte(body), []byte(`route="route0"`)) {
			t.Errorf("admin /metrics: %d, want the forwarded admin paths counted under route0:\n%.300s", code, body)
		}
	})
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
