package router

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
)

// TestFleetRevokedToken: two routers share a token key and a limit store;
// a token one of them issued is an identity at the other, until it is
// revoked at the first: then the other admits its holder by address.
func TestFleetRevokedToken(t *testing.T) {
	rs := redistest.Start(t)
	secret := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(secret, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	be := namedBackend(t, "app").URL
	cfg := `
client_ip: {trusted_proxies: [127.0.0.1/32]}
abuse:
  reputation: {known_after_good: 2, known_after_age: 0s}
  token: {secret_file: ` + secret + `}
limit_store: {url: "` + rs.URL() + `"}
backends:
  app: {targets: ["` + be + `"]}
routes:
  - backend: app
`
	srvA, baseA := startRouter(t, cfg)
	srvB, baseB := startRouter(t, cfg)
	get := func(base, client, cookie string) *http.Response {
		t.Helper()
		return getFrom(t, base+"/x", client, cookie)
	}
	var cookie string
	for i := 0; cookie == ""; i++ {
		if i == 10 {
			t.Fatal("no token issued")
		}
		cookie = strings.SplitN(get(baseA, "198.51.100.7", "").Header.Get("Set-Cookie"), ";", 2)[0]
	}
	c, ok, _ := srvA.Router().std.keys.verify(strings.TrimPrefix(cookie, "bulwark_rep="), time.Now().Unix())
	if !ok {
		t.Fatalf("token %q does not verify", cookie)
	}
	admB := srvB.Router().Admission()
	addr := netip.MustParseAddr("203.0.113.9")
	if r := get(baseB, addr.String(), cookie); r.StatusCode != 200 {
		t.Fatalf("with the token at b: %d", r.StatusCode)
	}
	if s := admB.StandingOf(time.Now(), addr); !s.Since.IsZero() {
		t.Fatalf("the token was no identity at b: its address got a record %+v", s)
	}

	if err := srvA.Router().Admission().Revocations().Revoke(c.id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for !admB.Revocations().Revoked(c.id, time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("revocation not at b within 1s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr2 := netip.MustParseAddr("203.0.113.10")
	if r := get(baseB, addr2.String(), cookie); r.StatusCode != 200 {
		t.Fatalf("revoked token at b: %d", r.StatusCode)
	}
	if s := admB.StandingOf(time.Now(), addr2); s.Since.IsZero() {
		t.Fatal("b took a revoked token as its holder's identity")
	}
}
