package router

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
)

// A client that earns standing gets a token; the token carries it to
// another address, has its own record, can be banned and revoked, and is
// never set on an answer a shared cache may store.
func TestTokenCarriesStanding(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public" {
			w.Header().Set("Cache-Control", "public, max-age=60")
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(be.Close)
	srv, base := startRouter(t, `
client_ip: {trusted_proxies: [127.0.0.1/32]}
abuse:
  reputation: {known_after_good: 2, known_after_age: 0s}
backends:
  app: {targets: ["`+be.URL+`"]}
routes:
  - backend: app
`)
	get := func(path, client, cookie string) *http.Response {
		t.Helper()
		return getFrom(t, base+path, client, cookie)
	}
	var cookie string
	for i := range 5 {
		resp := get("/public", "198.51.100.7", "")
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Fatalf("request %d: a shared-cacheable answer carries a token: %q", i, c)
		}
	}
	resp := get("/x", "198.51.100.7", "")
	cookie = resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "bulwark_rep=") || !strings.Contains(cookie, "HttpOnly") ||
		!strings.Contains(cookie, "SameSite=Lax") || strings.Contains(cookie, "Secure") {
		t.Fatalf("known client's answer: Set-Cookie %q", cookie)
	}
	cookie = strings.SplitN(cookie, ";", 2)[0]
	v := strings.TrimPrefix(cookie, "bulwark_rep=")
	c, ok, _ := srv.Router().std.keys.verify(v, time.Now().Unix())
	if !ok || c.score < ratelimit.ScoreKnown {
		t.Fatalf("issued token %q: %+v %v", v, c, ok)
	}

	// From another address, the token is the client, known at once.
	adm := srv.Router().Admission()
	if r := get("/x", "203.0.113.9", cookie); r.StatusCode != 200 || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("with the token: %d, Set-Cookie %q", r.StatusCode, r.Header.Get("Set-Cookie"))
	}
	key := ratelimit.TokenKey(c.id)
	if s := adm.StandingOf(time.Now(), key); s.Class != ratelimit.ClassKnown {
		t.Fatalf("token's standing: %+v", s)
	}
	if s := adm.StandingOf(time.Now(), netip.MustParseAddr("203.0.113.9")); !s.Since.IsZero() {
		t.Fatalf("the address behind the token got a record: %+v", s)
	}

	// A ban of the token refuses its holder wherever it comes from.
	if _, err := adm.Ban(key, time.Minute, "test", "test"); err != nil {
		t.Fatal(err)
	}
	if r := get("/x", "192.0.2.1", cookie); r.StatusCode != 403 {
		t.Fatalf("banned token: %d, want 403", r.StatusCode)
	}
	adm.Lift(key)

	// A revoked token is no identity: its holder is its address again.
	adm.Revocations().Revoke(c.id, time.Now().Add(time.Hour))
	if r := get("/x", "192.0.2.2", cookie); r.StatusCode != 200 {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
	if s := adm.StandingOf(time.Now(), netip.MustParseAddr("192.0.2.2")); s.Since.IsZero() {
		t.Fatal("a revoked token's holder was not admitted under its address")
	}
}

// The router's own answers may not be stored by any cache, so a token can
// never ride on one.
func TestOwnAnswersNoStore(t *testing.T) {
	_, base := startRouter(t, `
limits:
  default: {rate: 1/m, burst: 1}
backends:
  app: {targets: ["http://127.0.0.1:1"]}
routes:
  - {match: {path: /a}, backend: app}
`)
	for _, path := range []string{"/b", "/a", "/a"} { // 404, then 502, then 429
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: %d with Cache-Control %q, want no-store", path, resp.StatusCode, cc)
		}
	}
}
