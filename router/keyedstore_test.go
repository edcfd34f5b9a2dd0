package router

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// fleetKeyed starts two routers sharing one Redis and key secret, with
// an account-keyed policy on /login (an auth route); it returns their
// base URLs.
func fleetKeyed(t *testing.T, onError string) (a, b string, redis *redistest.Server) {
	t.Helper()
	redis = redistest.Start(t)
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("fleet-secret-0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	be := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		n, _ := r.Body.Read(buf)
		if strings.Contains(string(buf[:n]), `"bad"`) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	yaml := `
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [` + be.URL + `]}
routes:
  - {match: {path: /login}, backend: app, limit: accounts, abuse: auth}
limits:
  accounts: {rate: 1/h, burst: 3, key: json:user, key_fold: lower}
abuse:
  key_secret_file: ` + secret + `
  auth_failures: {max: 2, within: 1h}
limit_store: {url: "` + redis.URL() + `", on_error: ` + onError + `}
`
	_, a = startRouter(t, yaml)
	_, b = startRouter(t, yaml)
	return a, b, redis
}

func postLogin(t *testing.T, base, from, body string) int {
	t.Helper()
	r, _ := http.NewRequest("POST", base+"/login", strings.NewReader(body))
	r.Header.Set("X-Forwarded-For", from)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Two routers sharing limit_store spend one account's bucket together:
// its burst of 3 is spent across both, from three addresses, and the
// fourth try is refused on either router; another account is untouched.
func TestKeyedBucketSharedAcrossRouters(t *testing.T) {
	a, b, _ := fleetKeyed(t, "local")
	for i, base := range []string{a, b, a} {
		if c := postLogin(t, base, "198.51.100."+string(rune('1'+i)), `{"user":"Alice"}`); c != 200 {
			t.Fatalf("try %d: %d", i, c)
		}
	}
	for _, base := range []string{b, a} {
		if c := postLogin(t, base, "203.0.113.9", `{"user":"ALICE"}`); c != 429 {
			t.Fatalf("fourth try on alice: %d, want 429", c)
		}
	}
	if c := postLogin(t, b, "203.0.113.9", `{"user":"bob"}`); c != 200 {
		t.Fatalf("bob: %d", c)
	}
}

// Auth failures per account are counted fleet-wide: two failures on
// router a make a stranger on router b refused (403).
func TestKeyedAuthFailuresSharedAcrossRouters(t *testing.T) {
	a, b, _ := fleetKeyed(t, "local")
	for i := range 2 {
		if c := postLogin(t, a, "198.51.100.1", `{"user":"carol","pass":"bad"}`); c != 401 {
			t.Fatalf("failure %d: %d", i, c)
		}
	}
	// The failure is counted as the answer ends: wait for it on b. Each
	// probe is a stranger's try on another account, so it spends nothing
	// of carol's.
	testutil.WaitFor(t, 5*time.Second, func() bool {
		return postLogin(t, b, "203.0.113.50", `{"user":"carol","pass":"x"}`) == 403
	}, "a stranger on router b is not refused after 2 failures on router a")
}

// With the store down, on_error: deny refuses keyed requests (on an auth
// route the failure check refuses first: 403), and local lets this
// router's own buckets decide.
func TestKeyedStoreDown(t *testing.T) {
	a, _, redis := fleetKeyed(t, "deny")
	redis.Kill()
	if c := postLogin(t, a, "198.51.100.1", `{"user":"dave"}`); c != 403 {
		t.Fatalf("store down, on_error deny: %d, want 403", c)
	}
	l, _, redis2 := fleetKeyed(t, "local")
	redis2.Kill()
	if c := postLogin(t, l, "198.51.100.1", `{"user":"dave"}`); c != 200 {
		t.Fatalf("store down, on_error local: %d, want 200", c)
	}
}
