package router

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// Rules run after the route is found and before admission: a deny rule
// answers with its status and body, an allow rule skips the route's rate
// limit, a tag rule only names the request in its access line, and the
// early refusals of the front leave requests a rule may match to the full
// path.
func TestRulesThroughTheRouter(t *testing.T) {
	be := namedBackend(t, "app")
	for _, early := range []bool{true, false} {
		base, logs := startRouterLogs(t, `
server: {early_refusal: `+map[bool]string{true: "true", false: "false"}[early]+`}
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path_prefix: /}, backend: app, limit: tight}
limits:
  tight: {rate: 1/m, burst: 1}
rules:
  - {name: curl-tag, when: 'request.user_agent.startsWith("curl")', action: tag}
  - {name: no-bots, when: 'request.path.startsWith("/login") && request.headers[?"x-bot"].orValue("") != ""', action: deny, status: 418, body: "go away"}
  - {name: health, when: 'request.method == "GET" && request.path == "/ping"', action: allow}
`)
		h := func(k, v string) *http.Request {
			r, _ := http.NewRequest("GET", base+"/login", nil)
			r.Header.Set(k, v)
			return r
		}
		resp, err := http.DefaultClient.Do(h("X-Bot", "1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 418 {
			t.Fatalf("early=%v deny rule: %d", early, resp.StatusCode)
		}
		line := accessLine(t, logs, "/login")
		if line["rule"] != "no-bots" || line["refused"] != "rule" || line["status"] != int64(418) {
			t.Fatalf("early=%v access line %v", early, line)
		}
		// The tight policy lets one request a minute; the allow rule's
		// path is not limited.
		for i := range 5 {
			if code, _, body := get(t, nil, "GET", base+"/ping", "", nil); code != 200 || !strings.HasPrefix(body, "app") {
				t.Fatalf("early=%v allowed request %d: %d %s", early, i, code, body)
			}
		}
		if code, _, _ := get(t, nil, "GET", base+"/other", "", nil); code != 200 {
			t.Fatalf("first limited request: %d", code)
		}
		if code, _, _ := get(t, nil, "GET", base+"/other2", "", nil); code != 429 {
			t.Fatalf("second limited request: %d", code)
		}
		// A request the rules' pre-filters cannot match is refused by the
		// front (or the full path) as before.
		r, _ := http.NewRequest("GET", base+"/other3", nil)
		r.Header.Set("User-Agent", "curl/8")
		resp, err = http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 {
			t.Fatalf("curl request: %d", resp.StatusCode)
		}
	}
}

// A challenge rule sends a client without a token or a solved challenge
// through abuse.challenge (cookie mode: a 307 setting a nonce); back with
// the nonce, it passes.
func TestChallengeRule(t *testing.T) {
	be := namedBackend(t, "app")
	_, base := startRouter(t, `
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path_prefix: /}, backend: app}
rules:
  - {name: check-login, when: 'request.path == "/login"', action: challenge}
`)
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, h, _ := get(t, noFollow, "GET", base+"/login", "", nil)
	if code != http.StatusTemporaryRedirect || h.Get("Location") == "" {
		t.Fatalf("first visit: %d %v", code, h)
	}
	follow := &http.Client{Jar: jar}
	if code, _, body := get(t, follow, "GET", base+"/login", "", nil); code != 200 || !strings.HasPrefix(body, "app") {
		t.Fatalf("with the nonce: %d %s", code, body)
	}
}
