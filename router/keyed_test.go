package router

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
)

// A policy keyed by a JSON field limits the account, whatever the
// address: three addresses share alice's bucket, bob has his own, a body
// with the field twice gets 400, and bodies without it count per client.
// The backend still gets every admitted body byte for byte.
func TestKeyedPolicyLimitsTheAccount(t *testing.T) {
	beURL, bodies := bodiesBackend(t)
	_, base := startRouter(t, `
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [`+beURL+`]}
routes:
  - {match: {path: /login}, backend: app, limit: accounts}
limits:
  accounts: {rate: 1/h, burst: 2, key: json:user, key_fold: lower}
`)
	post := func(from, body string) int {
		return sendFor(t, "POST", base+"/login", body, "X-Forwarded-For", from, "Content-Type", "application/json")
	}
	for i, from := range []string{"198.51.100.1", "198.51.100.2"} {
		if c := post(from, `{"user":"Alice","pass":"x"}`); c != 200 {
			t.Fatalf("guess %d: %d", i, c)
		}
	}
	if c := post("203.0.113.9", `{"pass":"y","user":"ALICE"}`); c != 429 {
		t.Fatalf("third address on alice: %d, want 429", c)
	}
	if c := post("203.0.113.9", `{"user":"bob"}`); c != 200 {
		t.Fatalf("bob: %d", c)
	}
	if c := post("203.0.113.9", `{"user":"carol","user":"dave"}`); c != 400 {
		t.Fatalf("field twice: %d, want 400", c)
	}
	// Without the field: the client's own bucket, not a shared one.
	for range 2 {
		if c := post("192.0.2.1", `{"nothing":1}`); c != 200 {
			t.Fatalf("missing from 192.0.2.1: %d", c)
		}
	}
	if c := post("192.0.2.1", `{}`); c != 429 {
		t.Fatalf("third missing from 192.0.2.1: %d", c)
	}
	if c := post("192.0.2.2", `{}`); c != 200 {
		t.Fatalf("missing from another client: %d", c)
	}
	if got := bodies(); len(got) == 0 || got[0] != `{"user":"Alice","pass":"x"}` {
		t.Fatalf("backend got %q", got)
	}
}

// On an abuse: auth route with a keyed policy, failures count per value
// too: past auth_failures.max on one account, strangers trying it are
// refused (403) whatever their address, while its known clients are not.
func TestKeyedAuthFailuresSpareKnownClients(t *testing.T) {
	be := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		n, _ := r.Body.Read(buf)
		if r.URL.Path == "/login" && !strings.Contains(string(buf[:n]), `"good"`) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	_, base := startRouter(t, `
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path: /login}, backend: app, limit: accounts, abuse: auth}
  - {backend: app, limit: none}
limits:
  accounts: {rate: 100/s, burst: 100, key: json:user}
abuse:
  auth_failures: {max: 3, within: 1h}
  reputation: {known_after_good: 1, known_after_age: 1ms}
rules:
  - {name: whoami, when: 'request.path == "/whoami" && client.class == "known"', action: deny, status: 418}
`)
	send := func(method, path, from, body string) int {
		return sendFor(t, method, base+path, body, "X-Forwarded-For", from)
	}
	owner := "192.0.2.50"
	send("GET", "/", owner, "")
	testutil.WaitFor(t, 5*time.Second, func() bool { return send("GET", "/whoami", owner, "") == 418 }, "the owner does not become known")
	for i := range 3 {
		if c := send("POST", "/login", "198.51.100."+strconv.Itoa(i+1), `{"user":"alice","pass":"bad"}`); c != 401 {
			t.Fatalf("failure %d: %d", i, c)
		}
	}
	if c := send("POST", "/login", "203.0.113.77", `{"user":"alice","pass":"bad"}`); c != 403 {
		t.Fatalf("a stranger after 3 failures on alice: %d, want 403", c)
	}
	if c := send("POST", "/login", owner, `{"user":"alice","pass":"good"}`); c != 200 {
		t.Fatalf("alice's known client: %d, want 200", c)
	}
	if c := send("POST", "/login", "203.0.113.77", `{"user":"bob","pass":"good"}`); c != 200 {
		t.Fatalf("another account: %d", c)
	}
}
