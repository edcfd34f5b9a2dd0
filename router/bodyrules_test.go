package router

import "testing"

// On a route with inspect_body, rules read the body's fields
// (request.json, request.form) and the backend still gets the body byte
// for byte; on a route without it, the same rule sees empty maps.
func TestRulesReadTheBody(t *testing.T) {
	beURL, bodies := bodiesBackend(t)
	_, base := startRouter(t, `
backends:
  app: {targets: [`+beURL+`]}
routes:
  - {match: {path: /login}, backend: app, inspect_body: true}
  - {match: {path: /other}, backend: app}
rules:
  - {name: mallory, when: 'request.json[?"user"].orValue("") == "mallory" || request.form[?"user"].orValue("") == "mallory"', action: deny, status: 403}
  - {name: tiny, when: 'request.method == "POST" && request.json[?"pass"].orValue("x").size() == 0', action: deny, status: 422}
`)
	post := func(path, ctype, body string) int {
		return sendFor(t, "POST", base+path, body, "Content-Type", ctype)
	}
	tests := []struct {
		path, ctype, body string
		want              int
	}{
		{"/login", "application/json", `{"user":"mallory","pass":"x"}`, 403},
		{"/login", "application/json", `{"user" : "alice", "n": 1, "deep": {"user":"mallory"}}`, 200},
		{"/login", "application/x-www-form-urlencoded", `user=mallory&pass=x`, 403},
		{"/login", "application/json", `{"user":"bob","pass":""}`, 422},
		{"/other", "application/json", `{"user":"mallory"}`, 200},
	}
	for _, tt := range tests {
		if c := post(tt.path, tt.ctype, tt.body); c != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.path, tt.body, c, tt.want)
		}
	}
	want := []string{`{"user" : "alice", "n": 1, "deep": {"user":"mallory"}}`, `{"user":"mallory"}`}
	if got := bodies(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("backend got %q, want %q", got, want)
	}
}
