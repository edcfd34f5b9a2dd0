package router

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// With one of two targets down by the active checks, /__heartbeat__'s
// details list each target's state; under health.details: summary they
// keep the states and drop bodies, latencies and addresses.
func TestHeartbeatListsTargets(t *testing.T) {
	app := newHealthApp(t, 0)
	dead := deadAddr(t)
	for _, tt := range []struct {
		details string
		want    map[string]any
	}{
		{"public", map[string]any{"critical": true, "status": 200.0, "body": `{"status":"ok","database":"ok"}`,
			"targets": []any{
				map[string]any{"url": app.URL, "health": "up", "breaker": "closed"},
				map[string]any{"url": dead, "health": "down", "breaker": "closed"},
			}}},
		{"summary", map[string]any{"critical": true, "status": 200.0,
			"targets": []any{
				map[string]any{"health": "up", "breaker": "closed"},
				map[string]any{"health": "down", "breaker": "closed"},
			}}},
	} {
		t.Run(tt.details, func(t *testing.T) {
			_, base := startRouter(t, fmt.Sprintf(`
health: {cache_ttl: 1ms, details: %s}
backends:
  app:
    targets: [%s, %s]
    health: {path: /__heartbeat__, critical: true, interval: 20ms, timeout: 1s, fall: 1}
routes: [{backend: app}]
`, tt.details, app.URL, dead))
			c := testClient(t)
			var got map[string]any
			var raw json.RawMessage
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				code, rep := getHeartbeat(t, c, base+"/__heartbeat__")
				got, raw = nil, rep.Details["app"]
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				delete(got, "latency_ms") // varies; present only in public
				if code == 200 && reflect.DeepEqual(got, tt.want) || time.Now().After(deadline) {
					break
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("details.app = %v\nwant %v", got, tt.want)
			}
			if hasLatency := strings.Contains(string(raw), `"latency_ms"`); hasLatency != (tt.details == "public") {
				t.Errorf("details %s: %s", tt.details, raw)
			}
		})
	}
}
