package router

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulwark-router/bulwark/config"
)

// startObservedRouter is startRouter with the logs kept for the test.
func startObservedRouter(t *testing.T, yaml string) (*Server, string, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, zap.New(core))
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv, "http://" + srv.Addr().String(), logs
}

// waitLogged waits until msg was logged n times and returns those entries.
func waitLogged(t *testing.T, logs *observer.ObservedLogs, msg string, n int) []observer.LoggedEntry {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if got := logs.FilterMessage(msg).All(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q logged %d times, want %d", msg, logs.FilterMessage(msg).Len(), n)
		}
	}
}

// A request that failed on one target and was served by another is a
// warning naming both targets, not an error: the client was served.
func TestRetriedRequestIsLoggedAsWarning(t *testing.T) {
	good := namedBackend(t, "good")
	dead := deadAddr(t)
	_, base, logs := startObservedRouter(t, fmt.Sprintf(`
log: {access: false}
backends:
  app: {targets: [%s, %s], balance: round_robin, retries: 1, breaker: {disabled: true}}
routes: [{backend: app}]
`, dead, good.URL))
	for range 2 { // round robin: one of the two starts on the dead target
		if code, _, _ := get(t, nil, "GET", base+"/", "", nil); code != 200 {
			t.Fatalf("GET: %d", code)
		}
	}
	e := waitLogged(t, logs, "forward retried", 1)[0]
	f := e.ContextMap()
	if e.Level != zapcore.WarnLevel || f["failed_target"] != dead || f["target"] != good.URL ||
		f["status"] != int64(200) || f["attempts"] != int64(2) || f["error"] == nil {
		t.Errorf("forward retried: %v %v", e.Level, f)
	}
	if n := logs.FilterMessage("forward failed").Len(); n != 0 {
		t.Errorf("%d forward failed lines for served requests", n)
	}
}

// A target the active checks take out is logged once, with the cause.
func TestTargetDownLoggedOnceWithCause(t *testing.T) {
	dead := deadAddr(t)
	_, _, logs := startObservedRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], health: {path: /h, interval: 20ms, timeout: 1s, fall: 1}}
routes: [{backend: app}]
`, dead))
	downs := waitLogged(t, logs, "target down", 1)
	if len(downs) != 1 {
		t.Fatalf("target down logged %d times", len(downs))
	}
	if f := downs[0].ContextMap(); f["target"] != dead || f["backend"] != "app" || f["error"] == nil {
		t.Errorf("target down: %v", f)
	}
}

// A reload that changes a key read only at start names it.
func TestReloadNamesRestartOnlyKeys(t *testing.T) {
	be := namedBackend(t, "app")
	yaml := fmt.Sprintf("backends: {app: {targets: [%s]}}\nroutes: [{backend: app}]\n", be.URL)
	srv, _, logs := startObservedRouter(t, yaml)
	cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nserver: {idle_timeout: 5s}\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	e := waitLogged(t, logs, "reload changed keys that change only on restart; kept the running values", 1)[0]
	if keys, _ := e.ContextMap()["keys"].([]any); len(keys) != 1 || keys[0] != "server.idle_timeout" {
		t.Errorf("keys %v", e.ContextMap()["keys"])
	}
}
