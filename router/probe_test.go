package router

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestProbeTakesTheRelay: the composite heartbeat's probe is forwarded as
// real traffic is: the backend is told who asked, and a backend's excess
// of informational answers fails the probe as it fails a request.
func TestProbeTakesTheRelay(t *testing.T) {
	sb := newSwitchBackend(t)
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/report", 200, `"X-Forwarded-For":["127.0.0.1"]`},
		{"/hints?n=20", 502, ""},
		{"/switch-bare", 502, ""},
	} {
		srv, _ := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], health: {path: %q, critical: true}}
routes: [{backend: app}]
`, sb.url, c.path))
		res := srv.Router().probe(context.Background(), "app")
		if res.Status != c.status || !strings.Contains(res.Body, c.want) {
			t.Errorf("probe of %s: %d %q, want %d with %s", c.path, res.Status, res.Body, c.status, c.want)
		}
		if c.path == "/switch-bare" && sb.tunnelled(t) != "" {
			t.Error("bytes reached the switched backend connection")
		}
	}
}
