package ratelimit

import (
	"github.com/bulwark-router/bulwark/internal/redistest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.Main(m)) }

// t0 is the fixed instant tests start from.
var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func loadConfig(t testing.TB, yaml string) *config.Config {
	t.Helper()
	return testutil.Config(t, yaml)
}

// recorder counts what Admission reports.
type recorder struct {
	stats.Nop
	mu       sync.Mutex
	rejected map[stats.Reason]int
	tracked  int
	bans     int
}

func (r *recorder) Rejected(reason stats.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rejected == nil {
		r.rejected = map[stats.Reason]int{}
	}
	r.rejected[reason]++
}
func (r *recorder) TrackedClients(n int) { r.mu.Lock(); r.tracked = n; r.mu.Unlock() }
func (r *recorder) BansActive(n int)     { r.mu.Lock(); r.bans = n; r.mu.Unlock() }
func (r *recorder) gauges() (tracked, bans int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tracked, r.bans
}
func (r *recorder) count(reason stats.Reason) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected[reason]
}

type harness struct {
	*Admission
	clk *testutil.Clock
	rec *recorder
}

// newHarness builds an Admission on testutil.BaseYAML+yaml with a fixed clock at t0,
// no sweeper and a fixed seed.
func newHarness(t testing.TB, yaml string, opts ...Option) *harness {
	t.Helper()
	clk := testutil.NewClock(t0)
	rec := &recorder{}
	var log *zap.Logger
	if tt, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(tt)
	}
	base := []Option{WithClock(clk.Now), WithSweepInterval(0), WithSeed(42)}
	a, err := New(loadConfig(t, yaml), rec, log, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &harness{a, clk, rec}
}

// req admits one request at t0+at and, when admitted, ends it at once.
func (h *harness) req(at time.Duration, client string, policy string) Decision {
	c := netip.MustParseAddr(client)
	d := h.Admit(t0.Add(at), c, h.Policy(policy))
	if d.Allow {
		h.Done(t0.Add(at), c, 200, false)
	}
	return d
}

func (h *harness) sweepAt(at time.Duration) sweepResult { return h.sweep(h.ns(t0.Add(at))) }

func ip4(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}
