package ratelimit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkFleet measures a decision in each limit_store mode (local: no
// store) with 1 and 3 routers (Admissions in this process, one Redis) and
// 32 concurrent clients, each its own address hammering its own bucket
// (1000/s, burst 100; a lease slice is 50). Besides ns/op it reports the
// latency of one decision (p50, p99), Redis operations per decision and
// Redis CPU (INFO cpu, user+sys) per 1,000 decisions. The README's table
// comes from:
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 200000x ./ratelimit/
func BenchmarkFleet(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	const limits = "limits:\n  default: {rate: 1000/s, burst: 100}\n"
	for _, mode := range []string{"local", "exact", "lease"} {
		for _, routers := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/routers=%d", mode, routers), func(b *testing.B) {
				var adms []*Admission
				for range routers {
					if mode == "local" {
						a, err := New(loadConfig(b, limits), nil, nil, WithSweepInterval(0))
						if err != nil {
							b.Fatal(err)
						}
						b.Cleanup(func() { a.Close() })
						adms = append(adms, a)
						continue
					}
					adms = append(adms, fleetAdmissionStore(b, fmt.Sprintf("{url: %q, timeout: 250ms, mode: %s}", srv.URL(), mode), limits, nil))
				}
				benchFleet(b, rdb, adms)
			})
		}
	}
}

func benchFleet(b *testing.B, rdb *redis.Client, adms []*Admission) {
	ps := make([]*Policy, len(adms))
	for i, a := range adms {
		ps[i] = a.Policy("default")
	}
	const clients = 32
	cpu0 := redisCPU(b, rdb)
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	run := time.Now().UnixNano() % 200
	b.ReportAllocs()
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			addr := netip.MustParseAddr("10." + strconv.Itoa(int(run)) + ".1." + strconv.Itoa(c+1))
			mine := make([]time.Duration, 0, b.N/clients+1)
			for i := c; next.Add(1) <= int64(b.N); i++ {
				a, p := adms[i%len(adms)], ps[i%len(adms)]
				start := time.Now()
				d := a.Admit(start, addr, p)
				mine = append(mine, time.Since(start))
				if d.Allow {
					a.Done(start, addr, 200, false)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
	}
	var ops uint64
	for _, a := range adms {
		if a.fleet != nil {
			ops += a.fleet.s.Ops()
		}
	}
	b.ReportMetric(float64(ops)/float64(b.N), "redis-ops/decision")
	b.ReportMetric((redisCPU(b, rdb)-cpu0)*1000/float64(b.N)*1000, "redis-cpu-ms/1k")
}

// redisCPU is the server's used_cpu_user + used_cpu_sys, in seconds.
func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}
