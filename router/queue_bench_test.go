package router

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// BenchmarkAdmitQueue is the cost of the per-request admission path with
// and without the backend's priority queue: Admit (with its reputation
// bookkeeping) and Done alone, then with a slot taken from and given back
// to the queue (free slots: the common case), then with the backend under
// pressure (share applies: every lowly request is checked against it).
func BenchmarkAdmitQueue(b *testing.B) {
	cfg, err := config.Load([]byte(`
backends:
  app: {targets: ["http://127.0.0.1:9"], max_in_flight: 1000000, queue: {max_len: 64}}
routes:
  - match: {path_prefix: /}
    backend: app
limits:
  default: {rate: 1000000/s, burst: 1000000}
abuse: {max_tracked_clients: 100000}
`))
	if err != nil {
		b.Fatal(err)
	}
	adm, err := ratelimit.New(cfg, nil, nil, ratelimit.WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	pol := adm.Policy("default")
	var next atomic.Uint32
	run := func(b *testing.B, q *admitQueue) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := next.Add(1)
			now := time.Now()
			i := uint32(0)
			for pb.Next() {
				i++
				c := netip.AddrFrom4([4]byte{10, byte(n), byte(i >> 8 & 15), byte(i)}) // 4096 clients each
				now = now.Add(time.Microsecond)
				d := adm.Admit(now, c, pol)
				if !d.Allow {
					continue
				}
				if q != nil {
					t := now.UnixNano()
					if v, _ := q.enter(rankOf(d.Class), t); v == granted {
						q.leave(rankOf(d.Class), t)
					}
				}
				adm.Done(now, c, 200, false)
			}
		})
	}
	b.Run("admit+done", func(b *testing.B) { run(b, nil) })
	b.Run("admit+queue+done", func(b *testing.B) {
		run(b, newAdmitQueue(cfg.Backends["app"], 0.3, 0.75))
	})
	b.Run("admit+queue+done/pressure", func(b *testing.B) {
		q := newAdmitQueue(cfg.Backends["app"], 0.3, 0.75)
		now := time.Now().Add(time.Hour).UnixNano() // pressure and a known client, for an hour
		q.pressureAt, q.knownAt = now, now
		run(b, q)
	})
}
