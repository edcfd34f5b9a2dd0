package main

import (
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/router"
)

// TestStoreMetrics: with a limit store that refuses connections, three
// decisions take it down: bulwark_limit_store_up is 0 and the errors are
// counted as connection errors (at least the decisions' three: the store's
// own start-up reads, such as the revocations' catch-up, may add theirs).
func TestStoreMetrics(t *testing.T) {
	cfg, err := config.Load([]byte(fmt.Sprintf(`
backends:
  app: {targets: ['http://127.0.0.1:9']}
routes: [{backend: app, limit: default}]
limits:
  default: {rate: 100/s, burst: 10}
limit_store: {url: 'redis://%s', timeout: 100ms}
`, testutil.FreeAddr(t))))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, router.BuildInfo{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	adm := a.rt.Admission()
	c := netip.MustParseAddr("192.0.2.1")
	p := adm.Policy("default")
	for range 3 {
		if d := adm.Admit(time.Now(), c, p); d.Allow {
			adm.Done(time.Now(), c, 200, false)
		}
	}
	rec := httptest.NewRecorder()
	a.stats.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		"bulwark_limit_store_up 0\n",
		`bulwark_limit_store_errors_total{kind="timeout"} 0` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, grep(body, "limit_store"))
		}
	}
	const conn = `bulwark_limit_store_errors_total{kind="connection"} `
	var n int
	if i := strings.Index(body, conn); i < 0 {
		t.Errorf("no %q in\n%s", conn, grep(body, "limit_store"))
	} else if _, err := fmt.Sscan(body[i+len(conn):], &n); err != nil || n < 3 {
		t.Errorf("%d connection errors (%v), want at least 3:\n%s", n, err, grep(body, "limit_store"))
	}
}

func grep(s, sub string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
