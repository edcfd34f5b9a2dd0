package ratelimit

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/stats"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// fleetAdmission builds an Admission using the store at url. Its log lines
// about bans from other routers are sent on shared (when not nil).
func fleetAdmission(t testing.TB, url, limits string, shared chan<- string) *Admission {
	t.Helper()
	return fleetAdmissionStore(t, fmt.Sprintf("{url: %q, timeout: 250ms}", url), limits, shared)
}

// fleetAdmissionStore is fleetAdmission with store as limit_store's value.
func fleetAdmissionStore(t testing.TB, store, limits string, shared chan<- string) *Admission {
	t.Helper()
	cfg := loadConfig(t, fmt.Sprintf("%s\nlimit_store: %s\n", limits, store))
	log := zap.NewNop()
	if shared != nil {
		// Hooks need an enabled core.
		log = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
			zapcore.AddSync(io.Discard), zap.InfoLevel), zap.Hooks(func(e zapcore.Entry) error {
			if e.Message == "ban shared by another router" || e.Message == "ban lifted by another router" {
				select {
				case shared <- e.Message:
				default:
				}
			}
			return nil
		}))
	}
	a, err := New(cfg, nil, log, WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestFleetSharedBucket: two Admissions on one store meet one limit: over
// a bounded run their combined admissions stay within rate×elapsed + burst
// (+1 for the token refilling at the very end), and well above what one
// of them alone could give if each had its own bucket (proving nothing is
// refused beyond the limit either).
func TestFleetSharedBucket(t *testing.T) {
	srv := redistest.Start(t)
	const limits = "limits:\n  default: {rate: 50/s, burst: 10}\n"
	a := fleetAdmission(t, srv.URL(), limits, nil)
	b := fleetAdmission(t, srv.URL(), limits, nil)
	pa, pb := a.Policy("default"), b.Policy("default")
	c := netip.MustParseAddr("192.0.2.7")

	start := time.Now()
	admitted := 0
	var lastRefusal Decision
	for i := 0; time.Since(start) < 500*time.Millisecond && i < 20000; i++ {
		adm, p := a, pa
		if i%2 == 1 {
			adm, p = b, pb
		}
		d := adm.Admit(time.Now(), c, p)
		if d.Allow {
			admitted++
			adm.Done(time.Now(), c, 200, false)
		} else {
			lastRefusal = d
		}
	}
	elapsed := time.Since(start)
	if n := a.StoreErrors() + b.StoreErrors(); n != 0 {
		t.Fatalf("store errors: %d", n)
	}
	limit := int(50*elapsed.Seconds()) + 10 + 1
	if admitted > limit {
		t.Fatalf("admitted %d in %v, limit %d", admitted, elapsed, limit)
	}
	if admitted < 10+int(50*elapsed.Seconds())*8/10 {
		t.Fatalf("admitted only %d in %v", admitted, elapsed)
	}
	// The refusal says what the local bucket would: wait for one token
	// (20ms at 50/s), bucket full after burst×20ms.
	if lastRefusal.Reason != stats.RateLimit || lastRefusal.RetryAfter <= 0 || lastRefusal.RetryAfter > 20*time.Millisecond ||
		lastRefusal.Reset < 180*time.Millisecond || lastRefusal.Reset > 200*time.Millisecond {
		t.Fatalf("refusal %+v", lastRefusal)
	}
	t.Logf("admitted %d in %v (limit %d)", admitted, elapsed, limit)
}

// TestFleetBucketSteps: a slow bucket counts down like the local one.
func TestFleetBucketSteps(t *testing.T) {
	srv := redistest.Start(t)
	a := fleetAdmission(t, srv.URL(), "limits:\n  default: {rate: 1/m, burst: 3}\n", nil)
	b := fleetAdmission(t, srv.URL(), "limits:\n  default: {rate: 1/m, burst: 3}\n", nil)
	c := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		on            *Admission
		wantAllow     bool
		wantRemaining int
	}{
		{a, true, 2}, {b, true, 1}, {a, true, 0}, {b, false, 0},
	}
	for i, tt := range tests {
		d := tt.on.Admit(time.Now(), c, tt.on.Policy("default"))
		if d.Allow != tt.wantAllow || (d.Allow && d.Remaining != tt.wantRemaining) {
			t.Fatalf("step %d: %+v", i, d)
		}
		if d.Allow {
			tt.on.Done(time.Now(), c, 200, false)
			continue
		}
		// The wait for a token is one interval minus the time since the
		// first take; the bucket is full after three intervals.
		if d.RetryAfter < 59*time.Second || d.RetryAfter > time.Minute ||
			d.Reset < 179*time.Second || d.Reset > 3*time.Minute {
			t.Fatalf("step %d: %+v", i, d)
		}
	}
}

// TestFleetBanShared: a ban made by one router is enforced by the other
// within a second, and lifting it on one lifts it on both.
func TestFleetBanShared(t *testing.T) {
	srv := redistest.Start(t)
	const limits = "limits:\n  default: {rate: 1/m, burst: 1}\nabuse:\n  ban: {after_rejections: 2, within: 10s, duration: 1m, max_duration: 4m}\n"
	lifted := make(chan string, 4)
	a := fleetAdmission(t, srv.URL(), limits, lifted)
	shared := make(chan string, 4)
	b := fleetAdmission(t, srv.URL(), limits, shared)
	c := netip.MustParseAddr("198.51.100.9")
	for range 3 {
		if d := a.Admit(time.Now(), c, a.Policy("default")); d.Allow {
			a.Done(time.Now(), c, 200, false)
		}
	}
	if d := a.Admit(time.Now(), c, a.Policy("default")); d.Reason != stats.Banned {
		t.Fatalf("not banned on a: %+v", d)
	}
	banned := time.Now()
	select {
	case <-shared:
	case <-time.After(time.Second):
		t.Fatal("ban not shared within 1s")
	}
	t.Logf("ban shared after %v", time.Since(banned))
	// A new policy's bucket would admit: only the ban refuses.
	d := b.Admit(time.Now(), c, nil)
	if d.Reason != stats.Banned || d.Allow || d.RetryAfter < 59*time.Second {
		t.Fatalf("b: %+v", d)
	}
	if bans := b.Bans(); len(bans) != 1 || bans[0].Client != c {
		t.Fatalf("b.Bans: %+v", bans)
	}

	if !b.Lift(c) {
		t.Fatal("b.Lift: no ban")
	}
	select {
	case msg := <-lifted:
		if msg != "ban lifted by another router" {
			t.Fatalf("a logged %q", msg)
		}
	case <-time.After(time.Second):
		t.Fatal("lift not shared within 1s")
	}
	if bans := a.Bans(); len(bans) != 0 {
		t.Fatalf("a.Bans after the lift: %+v", bans)
	}
}

// TestFleetOnError: with the store down, on_error allow admits without a
// limit and deny refuses with 503.
func TestFleetOnError(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Kill()
	c := netip.MustParseAddr("192.0.2.200")
	for _, tt := range []struct {
		give       string
		wantAllow  bool
		wantStatus int
	}{
		{"allow", true, 0},
		{"deny", false, 503},
	} {
		cfg := loadConfig(t, fmt.Sprintf("limits:\n  default: {rate: 1/m, burst: 1}\nlimit_store: {url: %q, on_error: %s}\n", url, tt.give))
		a, err := New(cfg, nil, nil, WithSweepInterval(0))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			d := a.Admit(time.Now(), c, a.Policy("default"))
			if d.Allow != tt.wantAllow || d.Status != tt.wantStatus || d.Remaining != -1 {
				t.Errorf("%s, request %d: %+v", tt.give, i, d)
			}
			if d.Allow {
				a.Done(time.Now(), c, 200, false)
			}
		}
		a.Close()
	}
}

// TestFleetRedisDies: with on_error local, killing the store under load
// fails no request and limits go on locally; after the store comes back on
// the same port, shared limiting resumes without a new Admission.
func TestFleetRedisDies(t *testing.T) {
	srv := redistest.Start(t)
	const limits = "limits:\n  default: {rate: 100/s, burst: 5}\n"
	a := fleetAdmission(t, srv.URL(), limits, nil)
	p := a.Policy("default")
	c := netip.MustParseAddr("203.0.113.5")
	run := func(d time.Duration) (admitted, refused int) {
		start := time.Now()
		for i := 0; time.Since(start) < d && i < 20000; i++ {
			dec := a.Admit(time.Now(), c, p)
			switch {
			case dec.Allow:
				admitted++
				a.Done(time.Now(), c, 200, false)
			case dec.Status == 429:
				refused++
			default:
				t.Fatalf("unexpected refusal %+v", dec)
			}
		}
		return
	}
	run(100 * time.Millisecond)
	srv.Kill()
	start := time.Now()
	admitted, refused := run(300 * time.Millisecond)
	elapsed := time.Since(start)
	if a.StoreErrors() == 0 || refused == 0 || admitted > int(100*elapsed.Seconds())+5+1 {
		t.Fatalf("store down: admitted %d refused %d errors %d in %v", admitted, refused, a.StoreErrors(), elapsed)
	}
	t.Logf("store down: admitted %d refused %d in %v, %d store errors", admitted, refused, elapsed, a.StoreErrors())

	srv.Restart()
	// The circuit probes again within a second; from then on decisions
	// are shared again: the bucket key appears in the store.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	c2 := netip.MustParseAddr("203.0.113.6")
	deadline := time.Now().Add(3 * time.Second)
	for {
		d := a.Admit(time.Now(), c2, p)
		if d.Allow {
			a.Done(time.Now(), c2, 200, false)
		}
		if n, err := rdb.Exists(context.Background(), "bulwark:rl:{default:203.0.113.6}").Result(); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared limiting did not resume: %+v, %d errors", d, a.StoreErrors())
		}
	}
	// From now on a second router shares the bucket: once a has drained
	// c2's bucket, probe finds it (nearly: 10ms refill one) empty.
	probe := fleetAdmission(t, srv.URL(), limits, nil)
	probe.Admit(time.Now(), netip.MustParseAddr("203.0.113.99"), probe.Policy("default")) // dials
	var drained time.Time
	for i := 0; i < 100; i++ {
		d := a.Admit(time.Now(), c2, p)
		drained = time.Now()
		if !d.Allow {
			break
		}
		a.Done(time.Now(), c2, 200, false)
	}
	// Tokens refill every 10ms: a slow scheduler may let a few back in.
	refilled := int(time.Since(drained) / (10 * time.Millisecond))
	if d := probe.Admit(time.Now(), c2, probe.Policy("default")); d.Allow && d.Remaining > 1+refilled {
		t.Fatalf("probe got a fresh bucket: %+v (%d refilled)", d, refilled)
	}
}

// BenchmarkAdmitLocal and BenchmarkAdmitRedis decide the same traffic (1024
// clients, a policy that never refuses) with the in-memory table and with
// the shared store on a local redis-server.
func BenchmarkAdmitLocal(b *testing.B) { benchAdmitFleet(b, "") }

func BenchmarkAdmitRedis(b *testing.B) {
	srv := redistest.Start(b)
	benchAdmitFleet(b, srv.URL())
}

func benchAdmitFleet(b *testing.B, url string) {
	const limits = "limits:\n  default: {rate: 1000000/s, burst: 1000000}\n"
	var a *Admission
	if url == "" {
		cfg := loadConfig(b, limits)
		var err error
		if a, err = New(cfg, nil, nil, WithSweepInterval(0)); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close() })
	} else {
		a = fleetAdmission(b, url, limits, nil)
	}
	p := a.Policy("default")
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) << 10
		for pb.Next() {
			c := client(i & 1023)
			i++
			if d := a.Admit(time.Now(), c, p); d.Allow {
				a.Done(time.Now(), c, 200, false)
			}
		}
	})
	b.StopTimer()
	if n := a.StoreErrors(); n != 0 {
		b.Fatalf("%d store errors", n)
	}
}
