package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
)

func startDemo(t *testing.T) (*Backends, map[string]string) {
	t.Helper()
	b, err := Start(t.Context(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b, b.Targets()
}

type reply struct {
	status  int
	backend string
	ctype   string
	body    string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// client has its own transport so that its idle connections are closed
// with the test, not left to the leak check.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func do(t *testing.T, c *http.Client, method, u, ctype, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get(BackendHeader), resp.Header.Get("Content-Type"), string(b)}
}

func TestBackends(t *testing.T) {
	_, targets := startDemo(t)
	c := newClient(t)
	if len(targets) != len(Names) {
		t.Fatalf("Targets() = %v", targets)
	}
	for _, name := range Names {
		u, err := url.Parse(targets[name])
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" {
			t.Errorf("target %s = %q, want http://127.0.0.1:PORT", name, targets[name])
		}
	}
	const jsonType, formType = "application/json", "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		backend    string
		method     string
		path       string
		ctype      string
		body       string
		wantStatus int
		wantBody   string // substring
	}{
		{"browserid heartbeat", "browserid", "GET", "/__heartbeat__", "", "", 200, "ok"},
		{"dbwriter heartbeat", "dbwriter", "GET", "/__heartbeat__", "", "", 200, "ok"},
		{"verifier heartbeat", "verifier", "GET", "/__heartbeat__", "", "", 200, "ok"},
		{"static heartbeat", "static", "GET", "/__heartbeat__", "", "", 200, "ok"},

		{"session_context", "browserid", "GET", "/wsapi/session_context", "", "", 200, `"csrf_token":`},
		{"session_context HEAD", "browserid", "HEAD", "/wsapi/session_context", "", "", 200, ""},
		{"session_context POST", "browserid", "POST", "/wsapi/session_context", "", "", 405, "use GET"},
		{"list_emails", "browserid", "GET", "/wsapi/list_emails", "", "", 200, `"emails":["demo@example.com"]`},
		{"unknown api", "browserid", "GET", "/wsapi/nope", "", "", 404, "no such api"},
		{"not wsapi", "browserid", "GET", "/other", "", "", 404, "not found"},
		{"authenticate wrong password", "browserid", "POST", "/wsapi/authenticate_user", jsonType, `{"email":"a@example.com","pass":"wrong"}`, 401, `"success":false`},
		{"authenticate good password", "browserid", "POST", "/wsapi/authenticate_user", jsonType, `{"email":"a@example.com","pass":"secret"}`, 200, `"success":true`},
		{"authenticate form, wrong", "browserid", "POST", "/wsapi/authenticate_user", formType, "email=a%40example.com&pass=wrong", 401, "wrong password"},
		{"authenticate form, good", "browserid", "POST", "/wsapi/authenticate_user", formType, "email=a%40example.com&pass=x", 200, `"userid":1`},
		{"authenticate missing pass", "browserid", "POST", "/wsapi/authenticate_user", jsonType, `{"email":"a@example.com"}`, 400, "need email and pass"},
		{"authenticate bad body", "browserid", "POST", "/wsapi/authenticate_user", jsonType, `[1,2`, 400, "JSON object"},
		{"authenticate body too large", "browserid", "POST", "/wsapi/authenticate_user", formType, "pass=" + strings.Repeat("x", maxBody), 400, ""},
		{"authenticate GET", "browserid", "GET", "/wsapi/authenticate_user", "", "", 405, "use POST"},
		{"stage_user on dbwriter", "dbwriter", "POST", "/wsapi/stage_user", jsonType, `{"email":"a@example.com"}`, 200, `"success":true`},
		{"stage_user GET", "dbwriter", "GET", "/wsapi/stage_user", "", "", 405, "use POST"},

		{"verify", "verifier", "POST", "/verify", formType, "assertion=alice%40example.com&audience=https%3A%2F%2Fexample.com", 200, `"email":"alice@example.com"`},
		{"verify JSON", "verifier", "POST", "/verify", jsonType, `{"assertion":"eyJhbGciOi","audience":"https://example.com"}`, 200, `"status":"okay"`},
		{"verify JSON email", "verifier", "POST", "/verify", jsonType, `{"assertion":"eyJhbGciOi","audience":"https://example.com"}`, 200, `"email":"demo@example.com"`},
		{"verify missing audience", "verifier", "POST", "/verify", formType, "assertion=x", 400, "need assertion and audience"},
		{"verify GET", "verifier", "GET", "/verify", "", "", 405, "use POST"},
		{"verifier elsewhere", "verifier", "GET", "/wsapi/session_context", "", "", 404, ""},

		{"static page", "static", "GET", "/", "", "", 200, "<h1>bulwark demo</h1>"},
		{"static elsewhere", "static", "GET", "/include.js", "", "", 404, ""},
		{"static wsapi", "static", "GET", "/wsapi/session_context", "", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, c, tt.method, targets[tt.backend]+tt.path, tt.ctype, tt.body)
			if r.status != tt.wantStatus || !strings.Contains(r.body, tt.wantBody) {
				t.Fatalf("%s %s on %s = %d %q, want %d containing %q", tt.method, tt.path, tt.backend, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			if r.backend != tt.backend {
				t.Errorf("%s = %q, want %q", BackendHeader, r.backend, tt.backend)
			}
			if strings.HasPrefix(r.body, "{") {
				r.json(t)
			}
		})
	}
}

func TestDBWriterOps(t *testing.T) {
	_, targets := startDemo(t)
	c := newClient(t)
	for _, op := range DBWriterOps {
		r := do(t, c, "POST", targets["dbwriter"]+"/wsapi/"+op, "application/json", "{}")
		if r.status != 200 || r.json(t)["success"] != true {
			t.Errorf("POST /wsapi/%s = %d %q", op, r.status, r.body)
		}
	}
}

func TestDatabaseSwitch(t *testing.T) {
	b, targets := startDemo(t)
	c := newClient(t)
	id, dbw := targets["browserid"], targets["dbwriter"]
	steps := []struct {
		method, url string
		wantStatus  int
		wantBody    string
	}{
		{"GET", id + "/__demo__/db", 200, `{"db_ok":true}`},
		{"POST", id + "/__demo__/db?ok=false", 200, `{"db_ok":false}`},
		{"GET", id + "/__heartbeat__", 503, "database unreachable"},
		{"GET", dbw + "/__heartbeat__", 503, "database unreachable"}, // one shared database
		{"POST", dbw + "/wsapi/stage_user", 503, "database unavailable"},
		{"GET", id + "/wsapi/list_emails", 503, "database unavailable"},
		{"GET", id + "/wsapi/session_context", 200, "csrf_token"}, // needs no database
		{"GET", targets["verifier"] + "/__heartbeat__", 200, "ok"},
		{"POST", id + "/__demo__/db?ok=maybe", 400, "ok=true"},
		{"DELETE", id + "/__demo__/db", 405, "not allowed"},
		{"GET", dbw + "/__demo__/db", 200, `{"db_ok":false}`},
		{"POST", dbw + "/__demo__/db?ok=true", 200, `{"db_ok":true}`},
		{"GET", id + "/__heartbeat__", 200, "ok"},
	}
	for i, s := range steps {
		r := do(t, c, s.method, s.url, "", "")
		if r.status != s.wantStatus || !strings.Contains(r.body, s.wantBody) {
			t.Fatalf("step %d: %s %s = %d %q, want %d containing %q", i, s.method, s.url, r.status, r.body, s.wantStatus, s.wantBody)
		}
	}
	if !b.Database().Up() {
		t.Error("Database().Up() = false after ?ok=true")
	}
}

func TestConfig(t *testing.T) {
	_, targets := startDemo(t)
	c, err := config.Load(Config(targets))
	if err != nil {
		t.Fatalf("config.Load(Config(targets)):\n%v", err)
	}
	checkPersonaTable(t, c)
	if c.Listen != ":8080" || c.Admin.Listen != "127.0.0.1:9901" {
		t.Errorf("listen %q admin %q", c.Listen, c.Admin.Listen)
	}
	if c.Stats.Statsd.Address != "" {
		t.Errorf("statsd is on: %q", c.Stats.Statsd.Address)
	}
	if l := c.Limits["default"]; l == nil || l.Rate.PerSecond() != 20 || l.Burst != 40 {
		t.Errorf("default limit = %+v, want 20/s burst 40", l)
	}
	for _, name := range Names {
		if got := c.Backends[name].Targets; len(got) != 1 || got[0].URL != targets[name] {
			t.Errorf("backend %s targets %v, want [%s]", name, got, targets[name])
		}
	}
	if backend, r := routeFor(c, "/__demo__/db"); backend != "demo_control" || r.Limit != "none" {
		t.Errorf("/__demo__/db goes to %q (limit %q)", backend, r.Limit)
	}
	if got := c.Backends["demo_control"].Targets; got[0].URL != targets["browserid"] {
		t.Errorf("demo_control targets %v", got)
	}
	if _, r := routeFor(c, "/wsapi/authenticate_user"); r.Abuse != "auth" || r.Stats.Name != "wsapi" || c.Abuse.AuthFailures.Max == 0 {
		t.Errorf("auth route %+v, auth_failures %+v", r, c.Abuse.AuthFailures)
	}

	// A missing target leaves its placeholder, which does not load.
	partial := map[string]string{"browserid": targets["browserid"]}
	if _, err := config.Load(Config(partial)); err == nil || !strings.Contains(err.Error(), "backends.dbwriter.targets[0]") {
		t.Errorf("config.Load with a missing target: %v", err)
	}
}

func TestCloseWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	b, err := Start(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := b.Targets()["static"]
	c := newClient(t)
	if r := do(t, c, "GET", u+"/", "", ""); r.status != 200 {
		t.Fatalf("static / = %d", r.status)
	}
	cancel()
	// Close waits for the shutdown the cancellation started.
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	c.Transport.(*http.Transport).CloseIdleConnections()
	if resp, err := c.Get(u + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("static still answers after Close")
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b, err := Start(ctx, nil)
	if err == nil {
		// Listening may succeed on a cancelled context; the backends
		// must stop all the same.
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
