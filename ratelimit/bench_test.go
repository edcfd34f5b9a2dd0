package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchAdmission builds an Admission without sweeper or logger.
func benchAdmission(b *testing.B, capacity int, limits string) *Admission {
	b.Helper()
	cfg := loadConfig(b, fmt.Sprintf("%s\nabuse:\n  max_tracked_clients: %d\n  overload: {max_in_flight: 100000}\n", limits, capacity))
	a, err := New(cfg, nil, nil, WithSweepInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

const benchLimits = `
limits:
  default: {rate: 1000000/s, burst: 1000000}
  strict: {rate: 1/h, burst: 1}
`

// client returns the i-th of up to 16M distinct IPv4 clients.
func client(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func BenchmarkAdmitHotKey(b *testing.B) {
	a := benchAdmission(b, 100_000, benchLimits)
	defer a.Close()
	def, strict := a.Policy("default"), a.Policy("strict")
	hot := netip.MustParseAddr("192.0.2.1")
	b.Run("admit+done", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for b.Loop() {
			now = now.Add(time.Microsecond)
			if a.Admit(now, hot, def).Allow {
				a.Done(now, hot, 200, false)
			}
		}
	})
	b.Run("admit+done/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			now := time.Now()
			for pb.Next() {
				now = now.Add(time.Microsecond)
				if a.Admit(now, hot, def).Allow {
					a.Done(now, hot, 200, false)
				}
			}
		})
	})
	b.Run("refused", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		a.Admit(now, hot, strict)
		for b.Loop() {
			if a.Admit(now, hot, strict).Allow {
				b.Fatal("admitted")
			}
		}
	})
}

var (
	million     *Admission
	millionOnce sync.Once
)

// millionClients returns an Admission tracking 1M clients (built once: the
// benchmark function runs several times).
func millionClients(b *testing.B) *Admission {
	millionOnce.Do(func() {
		a := benchAdmission(b, 1_000_000, benchLimits)
		p := a.Policy("default")
		now := time.Now()
		for i := range 1_000_000 {
			a.Admit(now, client(i), p)
			a.Done(now, client(i), 200, false)
		}
		million = a
	})
	return million
}

// BenchmarkAdmit1MKeys: Admit+Done from every core on a table tracking 1M
// clients. "uniform" picks each client uniformly at random: every request
// then misses the CPU caches (1M records are ~96 MB), so it measures the
// machine's memory latency as much as the code. "zipf" draws clients with
// a Zipf(1.1) skew, closer to real traffic where some clients are far
// busier than others.
func BenchmarkAdmit1MKeys(b *testing.B) {
	a := millionClients(b)
	// The cap is split among shards: hash imbalance starts evicting in
	// the fullest shards at about 99% of max_tracked_clients.
	if n := a.Snapshot(0).TrackedClients; n < 990_000 {
		b.Fatalf("tracked %d", n)
	}
	p := a.Policy("default")
	const seqLen = 1 << 20
	zipf := make([]uint32, seqLen)
	z := rand.NewZipf(rand.New(rand.NewPCG(5, 6)), 1.1, 1, 1_000_000-1)
	for i := range zipf {
		// Scatter the ranks so that busy clients are not neighbours.
		zipf[i] = uint32(z.Uint64()*2654435761) % 1_000_000
	}
	var seed atomic.Uint64
	run := func(b *testing.B, pick func(x *uint64, i int) int) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			x := seed.Add(0x9e3779b97f4a7c15) | 1
			i := int(x % seqLen)
			now := time.Now()
			for pb.Next() {
				i++
				c := client(pick(&x, i))
				now = now.Add(time.Microsecond)
				if a.Admit(now, c, p).Allow {
					a.Done(now, c, 200, false)
				}
			}
		})
	}
	b.Run("uniform", func(b *testing.B) {
		run(b, func(x *uint64, _ int) int {
			*x ^= *x << 13
			*x ^= *x >> 7
			*x ^= *x << 17
			return int(*x % 1_000_000)
		})
	})
	b.Run("zipf", func(b *testing.B) {
		run(b, func(_ *uint64, i int) int { return int(zipf[i%seqLen]) })
	})
}

// BenchmarkTableMemory fills a table with 1M clients, each with a bucket,
// and reports the heap it takes per client: records, index, sketch.
func BenchmarkTableMemory(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := benchAdmission(b, n, benchLimits)
		p := a.Policy("default")
		now := time.Now()
		for i := range n {
			a.Admit(now, client(i), p)
			a.Done(now, client(i), 200, false)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		tracked := a.Snapshot(0).TrackedClients
		if tracked < n*99/100 {
			b.Fatalf("tracked %d", tracked)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(tracked), "B/client")
		b.ReportMetric(float64(tracked), "clients")
		runtime.KeepAlive(a)
	}
}
