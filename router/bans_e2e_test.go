package router

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulwark-router/bulwark/config"
)

// startObserved is startRouter with the whole yaml given (listeners
// included) and the info lines kept for the test to read.
func startObserved(t *testing.T, yaml string) (*Server, string, *observer.ObservedLogs) {
	t.Helper()
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	rt, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv, "http://" + srv.Addr().String(), logs
}

// adminDo sends an admin request with bearer token tok ("" for none).
func adminDo(t *testing.T, srv *Server, tok, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+srv.AdminAddr().String()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return doBody(t, req)
}

func doBody(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestAdminBanE2E bans a client through POST /admin/api/bans on a running
// router: its next request is refused at once (by the connection front,
// on a connection opened before the ban), others are served, the ban is
// listed with its reason, DELETE lifts it, and every change is audited
// under the name of the token that made it.
func TestAdminBanE2E(t *testing.T) {
	be := namedBackend(t, "app")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alice.token"), []byte("alice-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
  token: s3cret
  tokens: [{name: alice, token_file: "` + filepath.Join(dir, "alice.token") + `"}]
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: ["` + be.URL + `"]}
routes:
  - backend: app
`
	srv, base, logs := startObserved(t, yaml)
	file := filepath.Join(dir, "bulwark.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.SetConfigFile(file)

	// One keep-alive connection per client, so the banned client's next
	// request reaches the front on a connection it already holds.
	clients := map[string]*http.Client{}
	for _, c := range []string{"198.51.100.7", "198.51.100.8"} {
		clients[c] = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		t.Cleanup(clients[c].CloseIdleConnections)
	}
	status := func(client string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/x", nil)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := clients[client].Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status("198.51.100.7"), status("198.51.100.8"); a != 200 || b != 200 {
		t.Fatalf("before the ban: %d %d", a, b)
	}

	if code, body := adminDo(t, srv, "", "POST", "/admin/api/bans", `{"client":"198.51.100.7","duration":"10m"}`); code != 401 {
		t.Fatalf("POST without the token: %d %s", code, body)
	}
	for _, tt := range []struct{ body, want string }{
		{`{"client":"198.51.100.7","duration":"10m"`, "invalid JSON body"},
		{`{"client":"not-an-ip","duration":"10m"}`, "client must be an IP address"},
		{`{"client":"198.51.100.7","duration":"soon"}`, "invalid duration"},
		{`{"client":"198.51.100.7"}`, "duration is required"},
		{`{"client":"198.51.100.7","duration":"2h"}`, "over abuse.ban.max_duration (1h0m0s)"},
	} {
		if code, body := adminDo(t, srv, "s3cret", "POST", "/admin/api/bans", tt.body); code != 400 || !strings.Contains(body, tt.want) {
			t.Errorf("POST %s: %d %s, want 400 %q", tt.body, code, body, tt.want)
		}
	}

	early := srv.Router().EarlyRefusals()
	code, body := adminDo(t, srv, "s3cret", "POST", "/admin/api/bans",
		`{"client":"198.51.100.7","duration":"10m","reason":"credential stuffing"}`)
	if code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	if a, b := status("198.51.100.7"), status("198.51.100.8"); a != 403 || b != 200 {
		t.Fatalf("after the ban: banned %d, other %d", a, b)
	}
	if got := srv.Router().EarlyRefusals(); got != early+1 {
		t.Errorf("the front refused %d requests, want 1", got-early)
	}
	code, body = adminDo(t, srv, "s3cret", "GET", "/admin/api/bans", "")
	if code != 200 || !strings.Contains(body, `"client":"198.51.100.7"`) ||
		!strings.Contains(body, `"reason":"credential stuffing"`) || !strings.Contains(body, `"by":"token"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := adminDo(t, srv, "alice-s3cret", "DELETE", "/admin/api/bans?client=198.51.100.7", ""); code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if a := status("198.51.100.7"); a != 200 {
		t.Fatalf("after the lift: %d", a)
	}
	if code, body := adminDo(t, srv, "s3cret", "POST", "/admin/api/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}

	audits := logs.FilterMessage("admin audit").All()
	want := []map[string]any{
		{"action": "ban", "client": "198.51.100.7", "duration_s": 600.0, "reason": "credential stuffing", "by": "token"},
		{"action": "lift", "client": "198.51.100.7", "by": "alice"},
		{"action": "reload", "ok": true, "by": "token"},
	}
	if len(audits) != len(want) {
		t.Fatalf("%d audit lines, want %d: %v", len(audits), len(want), audits)
	}
	for i, w := range want {
		f := audits[i].ContextMap()
		for k, v := range w {
			if f[k] != v {
				t.Errorf("audit line %d: %s = %v, want %v (%v)", i, k, f[k], v, f)
			}
		}
		if audits[i].Level != zapcore.InfoLevel {
			t.Errorf("audit line %d at %v", i, audits[i].Level)
		}
	}
}

// TestAdminActor names the caller of an admin request.
func TestAdminActor(t *testing.T) {
	tests := []struct {
		token string
		named []NamedToken
		give  string
		want  string // "" means 401
	}{
		{"", nil, "", "loopback"},
		{"", nil, "whatever", "loopback"},
		{"t0", nil, "t0", "token"},
		{"t0", nil, "t1", ""},
		{"t0", nil, "", ""},
		{"t0", []NamedToken{{"alice", "a-secret"}, {"bob", "b-secret"}}, "b-secret", "bob"},
		{"", []NamedToken{{"alice", "a-secret"}}, "a-secret", "alice"},
		{"", []NamedToken{{"alice", "a-secret"}}, "", ""},
		{"", []NamedToken{{"alice", "a-secret"}}, "a-secre", ""},
	}
	for _, tt := range tests {
		m := NewAdminMux(tt.token, tt.named...)
		m.Handle("/who", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(AdminActor(r))) }))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: m}
		go hs.Serve(ln)
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/who", nil)
		if tt.give != "" {
			req.Header.Set("Authorization", "Bearer "+tt.give)
		}
		code, body := doBody(t, req)
		hs.Close()
		if tt.want == "" && code != 401 || tt.want != "" && (code != 200 || body != tt.want) {
			t.Errorf("token %q named %v, given %q: %d %q, want %q", tt.token, tt.named, tt.give, code, body, tt.want)
		}
	}
}
