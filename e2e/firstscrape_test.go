package e2e

import (
	"encoding/json"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const firstScrapeConfig = `listen: %s
admin: {listen: %s}
backends:
  app: {targets: [http://%[3]s, http://%[4]s]}
  checked: {targets: [http://%[3]s], health: {path: /, interval: 1s}}
routes:
  - {match: {path_prefix: /limited/}, backend: app, limit: tiny}
  - {backend: checked}
limits:
  tiny: {rate: 1/h, burst: 1}
rules:
  - {name: no-admin, when: 'request.path.startsWith("/wp-admin")', action: deny}
`

// specReasons are the reasons SPEC lists for bulwark_rejections_total.
var specReasons = []string{"rate_limit", "network_limit", "banned", "denied", "too_many_conns",
	"overload", "queue_full", "circuit_open", "no_target", "body_too_large", "bad_request",
	"slow_body", "challenge", "rule", "h2_abuse"}

// The first scrape, before any request, has every family of the contract
// that this build implements, with a series for every configured backend,
// target and route, and passes promtool. A refusal is then counted under
// the backend its access line names.
func TestFirstScrapeHasEverySeries(t *testing.T) {
	promtool := promtoolPath(t)
	addr, admin, app, dead := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", app, "")
	p := startBulwark(t, "first", addr, fmt.Sprintf(firstScrapeConfig, addr, admin, app, dead))

	code, _, body := fetch(t, "http://"+admin+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	want := []string{
		`bulwark_requests_total{backend="app",code="200",route="route0"} 0`,
		`bulwark_requests_total{backend="checked",code="200",route="route1"} 0`,
		`bulwark_request_duration_seconds_count{backend="app",route="route0"} 0`,
		`bulwark_request_duration_seconds_count{backend="checked",route="route1"} 0`,
		`bulwark_queue_wait_seconds_count{backend="app"} 0`,
		`bulwark_queue_wait_seconds_count{backend="checked"} 0`,
		`bulwark_in_flight_requests `,
		`bulwark_tracked_clients `,
		`bulwark_bans_active 0`,
		`bulwark_under_attack 0`,
		`bulwark_build_info{`,
		`bulwark_rule_matches_total{action="deny",rule="no-admin"} 0`,
	}
	for _, target := range []string{"", "http://" + app, "http://" + dead} {
		want = append(want, fmt.Sprintf(`bulwark_circuit_state{backend="app",target=%q} 0`, target))
	}
	for _, target := range []string{"", "http://" + app} {
		want = append(want, fmt.Sprintf(`bulwark_circuit_state{backend="checked",target=%q} 0`, target))
	}
	for _, bt := range [][2]string{{"app", "http://" + app}, {"app", "http://" + dead}, {"checked", "http://" + app}} {
		want = append(want, fmt.Sprintf(`bulwark_backend_up{backend=%q,target=%q} 1`, bt[0], bt[1]))
	}
	for _, r := range specReasons {
		want = append(want, fmt.Sprintf(`bulwark_rejections_total{reason=%q} 0`, r))
	}
	for _, w := range want {
		if !strings.Contains(body, "\n"+w) {
			t.Errorf("first scrape lacks %s", w)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// One request through, the next refused: both under backend "app".
	for i, want := range []int{200, 429} {
		if code, _, _ := fetch(t, "http://"+addr+"/limited/x"); code != want {
			t.Fatalf("request %d: %d, want %d", i, code, want)
		}
	}
	var access map[string]any
	eventually(t, 5*time.Second, 10*time.Millisecond, "no access line for the refusal", func() bool {
		for _, l := range strings.Split(string(p.logs.bytes()), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(l), &e) == nil && e["msg"] == "access" && e["refused"] == "rate_limit" {
				access = e
				return true
			}
		}
		return false
	})
	if access["backend"] != "app" {
		t.Errorf("refusal's access line: backend %v", access["backend"])
	}
	_, _, body = fetch(t, "http://"+admin+"/metrics")
	if w := `bulwark_requests_total{backend="app",code="429",route="route0"} 1`; !strings.Contains(body, w) {
		t.Errorf("/metrics lacks %s", w)
	}
}
