package router

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
)

// A token verified on a connection is taken from there while the client
// sends the same one; a forged one in another field is still refused, and
// a cached token that expired or was revoked stops counting.
func TestTokenCachedOnConnection(t *testing.T) {
	_, rt, _ := newRouter(t, "backends:\n  app: {targets: [\"http://127.0.0.1:1\"]}\nroutes: [{backend: app}]\n")
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

// A solved nonce ranks its requests as proven only while its own bucket
// lasts: past it they are verified (no new challenge) but rank as a plain
// stranger's. Another nonce has a bucket of its own.
func TestNonceOwnBucket(t *testing.T) {
	_, rt, _ := newRouter(t, "backends:\n  app: {targets: [\"http://127.0.0.1:1\"]}\nroutes: [{backend: app}]\nabuse: {challenge: {rate: 1/m, burst: 3}}\n")
	c := rt.ch
	now := time.Now()
	identify := func(client netip.Addr, nonce string, conn *connTokens) *requestState {
		st := &requestState{key: client, cookies: []string{"bulwark_ch=" + nonce}, conn: conn}
		c.identify(st, now)
		return st
	}
	me, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	mine := c.nonce(me.As16(), 0, now.Unix())
	conn := &connTokens{}
	for i := range 3 {
		if st := identify(me, mine, conn); !st.verified || !st.proven {
			t.Fatalf("request %d with a fresh nonce: verified %v proven %v", i, st.verified, st.proven)
		}
	}
	for _, cn := range []*connTokens{conn, {}} { // the connection's cache or not
		if st := identify(me, mine, cn); !st.verified || st.proven {
			t.Fatalf("past the nonce's bucket: verified %v proven %v, want verified only", st.verified, st.proven)
		}
	}
	for _, cn := range []*connTokens{conn, nil} { // a proxy's connection, or another
		if st := identify(other, mine, cn); st.verified {
			t.Fatal("a nonce taken to another address was accepted")
		}
	}
	if st := identify(other, c.nonce(other.As16(), 0, now.Unix()), nil); !st.proven {
		t.Fatal("another address's own nonce is not proven")
	}
}
