package health_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/health"
)

func ExampleHeartbeat() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "db ok")
	}))
	defer app.Close()

	// The router's probe sends the backend's health path through its
	// forwarding path; here a plain GET stands in for it.
	probe := func(ctx context.Context, backend string) health.ProbeResult {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+"/__health__", nil)
		resp, err := app.Client().Do(req)
		if err != nil {
			return health.ProbeResult{Err: err.Error()}
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return health.ProbeResult{Status: resp.StatusCode, Body: string(body)}
	}
	draining := false
	hb := health.NewHeartbeat(probe, func() health.RouterState {
		return health.RouterState{ConfigLoaded: true, Draining: draining}
	})
	hb.Update(&config.Config{
		Backends: map[string]*config.Backend{
			"browserid": {Targets: config.URLs(app.URL), Health: config.Check{Path: "/__health__", Critical: true}},
		},
		Health: config.Health{CacheTTL: config.Duration(time.Second), Timeout: config.Duration(time.Second)},
	})

	for range 2 {
		w := httptest.NewRecorder()
		hb.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/__heartbeat__?deep", nil))
		var answer struct {
			Status string
			Checks map[string]string
		}
		json.Unmarshal(w.Body.Bytes(), &answer)
		fmt.Println(w.Code, answer.Status, answer.Checks)
		draining = true
	}
	// Output:
	// 200 ok map[browserid:ok router:ok]
	// 503 error map[browserid:ok router:error]
}
