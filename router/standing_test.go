package router

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// A token verified on a connection is taken from there while the client
// sends the same one; a forged one in another field is still refused, and
// a cached token that expired or was revoked stops counting.
func TestTokenCachedOnConnection(t *testing.T) {
	cfg, err := config.Load([]byte("backends:\n  app: {targets: [\"http://127.0.0.1:1\"]}\nroutes: [{backend: app}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	s := rt.std
	now := time.Now()
	v := s.keys.sign(tokenClaims{id: 77, score: ratelimit.ScoreKnown, issued: now.Unix(), since: now.Unix()})
	conn := &connTokens{}
	client := netip.MustParseAddr("192.0.2.1")
	identify := func(field string, at time.Time) *requestState {
		st := &requestState{key: client, cookies: []string{field}, conn: conn}
		s.identify(st, at)
		return st
	}
	field := "a=1; bulwark_rep=" + v
	if st := identify(field, now); !st.hasToken || st.token != 77 || st.key != ratelimit.TokenKey(77) {
		t.Fatalf("a valid token: hasToken %v id %d key %v", st.hasToken, st.token, st.key)
	}
	if c := conn.last.Load(); c == nil || c.field != field || c.raw != v {
		t.Fatalf("the connection keeps %+v", c)
	}
	if st := identify(field, now.Add(time.Second)); !st.hasToken {
		t.Fatal("the same field again: no token")
	}
	forged := v[:10] + string(b64alpha[(b64[v[10]]+1)%64]) + v[11:]
	if st := identify("bulwark_rep="+forged, now); st.hasToken {
		t.Fatal("a forged token on a connection that verified another was taken")
	}
	if st := identify(field, now.Add(s.ttl)); st.hasToken {
		t.Fatal("an expired token was taken from the connection's cache")
	}
	if st := identify(field, now); !st.hasToken {
		t.Fatal("the token before it expired: none")
	}
	rt.adm.Revocations().Revoke(77, now.Add(s.ttl))
	if st := identify(field, now); st.hasToken {
		t.Fatal("a revoked token was taken from the connection's cache")
	}
}
