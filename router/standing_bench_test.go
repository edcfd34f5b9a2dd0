package router

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// BenchmarkAdmitToken is the admission decision of a request without a
// token and with one already verified on its connection (what identify
// adds: the cookie scan, the cache compare, the revocation lookup).
func BenchmarkAdmitToken(b *testing.B) {
	cfg, err := config.Load([]byte("limits:\n  default: {rate: 1000000/s, burst: 1000000}\nbackends:\n  app: {targets: [\"http://127.0.0.1:1\"]}\nroutes: [{backend: app}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	p := rt.table.Load().route("GET", "x", "/").limit
	client := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	v := rt.std.keys.sign(tokenClaims{id: 9, score: ratelimit.ScoreKnown, issued: now.Unix(), since: now.Unix()})
	run := func(b *testing.B, cookies []string) {
		conn := &connTokens{}
		b.ReportAllocs()
		for b.Loop() {
			st := requestState{key: client, cookies: cookies, conn: conn}
			if cookies != nil {
				rt.std.identify(&st, now)
			}
			rt.adm.Admit(now, st.key, p)
			rt.adm.Done(now, st.key, 200, false)
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, nil) })
	b.Run("token", func(b *testing.B) { run(b, []string{"a=1; bulwark_rep=" + v}) })
}
