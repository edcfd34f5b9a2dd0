package ratelimit

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

const smallTable = `
limits:
  default: {rate: 1/s, burst: 5}
abuse:
  max_tracked_clients: 1000
`

func (h *harness) tracked(c netip.Addr) *entry {
	k := keyOf(c)
	s, hash := h.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.find(hash, k); e != nil {
		cp := *e
		return &cp
	}
	return nil
}

func (h *harness) size() (n, capacity int) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		n += s.count()
		capacity += cap(s.ents)
		s.mu.Unlock()
	}
	return n, capacity
}

func TestEvictFreshFirst(t *testing.T) {
	h := newHarness(t, smallTable, WithShards(1))
	ms := time.Millisecond
	for i := range 999 {
		h.req(0, ip4(i).String(), "default") // full again at 1s
	}
	x := netip.MustParseAddr("192.0.2.1")
	for range 5 {
		h.req(time.Second, x.String(), "default") // drained: full at 6s
	}
	// 500 newcomers at 1.5s: each must evict one of the 999 fresh records.
	for i := range 500 {
		h.req(1500*ms, ip4(5000+i).String(), "default")
	}
	if n, _ := h.size(); n != 1000 {
		t.Fatalf("tracked %d, want 1000", n)
	}
	e := h.tracked(x)
	if e == nil {
		t.Fatal("the drained record was evicted while fresh ones were left")
	}
	if d := h.req(1500*ms, x.String(), "default"); d.Allow {
		t.Fatal("drained client got a token")
	}
}

// TestEvictionGivesNoFreshBurst: an attacker with five times more addresses
// than the table holds cycles through them; coming back after being evicted
// must not give a fresh burst. No address ever gets more than its burst
// plus what its rate earned.
func TestEvictionGivesNoFreshBurst(t *testing.T) {
	h := newHarness(t, smallTable, WithShards(1))
	const keys = 5000
	total := make([]int, keys)
	round := func(at time.Duration) (allowed int) {
		for i := range keys {
			for range 5 {
				if h.req(at, ip4(i).String(), "default").Allow {
					allowed++
					total[i]++
				}
			}
		}
		return allowed
	}
	if got := round(0); got < 1000*5 {
		t.Fatalf("first round: %d admitted, want at least the first 1000 keys' bursts", got)
	}
	if got := round(10 * time.Millisecond); got != 0 {
		t.Fatalf("second round 10ms later: %d admitted, want 0", got)
	}
	round(2*time.Second + 10*time.Millisecond)
	for i, n := range total {
		if n > 5+2 { // burst + 2s at 1/s
			t.Fatalf("key %d got %d requests in 2s, more than burst+rate allow", i, n)
		}
	}
	if n, c := h.size(); n > 1000 || c > 1000 {
		t.Fatalf("table holds %d records in %d slots, cap 1000", n, c)
	}
	// Once the attack's buckets would have refilled, a newcomer is whole.
	allowed := 0
	for range 6 {
		if h.req(8*time.Second, "192.0.2.200", "default").Allow {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("newcomer after the attack: %d admitted, want its burst of 5", allowed)
	}
}

func TestHardCap(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 1/s, burst: 5}
abuse:
  max_tracked_clients: 4096
`)
	if len(h.shards) != 8 {
		t.Fatalf("%d shards, want 8", len(h.shards))
	}
	for i := range 100_000 {
		h.req(time.Duration(i)*time.Microsecond, ip4(i).String(), "default")
	}
	n, c := h.size()
	if n > 4096 || c > 4096 {
		t.Fatalf("table holds %d records in %d slots, cap 4096", n, c)
	}
	if n < 4000 {
		t.Fatalf("table holds only %d records", n)
	}
}

// TestPinnedRecords: clients with requests in flight or a ban are never
// evicted; when a shard holds nothing else, newcomers are decided without a
// record, still rate limited through the sketch.
func TestPinnedRecords(t *testing.T) {
	h := newHarness(t, smallTable+`
  ban: {after_rejections: 1, duration: 1m}
`, WithShards(1))
	at := t0
	for i := range 999 {
		if !h.Admit(at, ip4(i), h.Policy("default")).Allow { // stays in flight
			t.Fatal("refused")
		}
	}
	banned := netip.MustParseAddr("192.0.2.66")
	for range 6 {
		h.req(0, banned.String(), "default")
	}
	if b := h.bansAt(0); len(b) != 1 {
		t.Fatalf("bans %+v", b)
	}
	newcomer := netip.MustParseAddr("192.0.2.99")
	allowed := 0
	for range 10 {
		if h.req(0, newcomer.String(), "default").Allow {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("untracked newcomer: %d admitted, want its burst of 5", allowed)
	}
	if d := h.req(0, "192.0.2.98", ""); !d.Allow || d.Remaining != -1 {
		t.Fatalf("untracked newcomer without a policy: %+v", d)
	}
	if h.tracked(newcomer) != nil || h.tracked(banned) == nil {
		t.Fatal("a pinned record was evicted")
	}
	if s := h.Snapshot(0); s.Untracked != 11 || s.TrackedClients != 1000 || s.ActiveBans != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	for i := range 999 {
		if e := h.tracked(ip4(i)); e == nil || e.inflight != 1 {
			t.Fatalf("in-flight client %d lost its record", i)
		}
		h.Done(at, ip4(i), 200, false)
	}
	if d := h.req(time.Second, newcomer.String(), "default"); !d.Allow || h.tracked(newcomer) == nil {
		t.Fatal("newcomer not tracked once records could be evicted")
	}
}

func TestSweepExpiresIdle(t *testing.T) {
	h := newHarness(t, smallTable+`
  ban: {after_rejections: 1, duration: 1m, max_duration: 1m}
`, WithIdleTTL(30*time.Second))
	s := time.Second
	idle := netip.MustParseAddr("192.0.2.1")
	drained := netip.MustParseAddr("192.0.2.2")
	banned := netip.MustParseAddr("192.0.2.3")
	h.req(0, idle.String(), "default")
	for range 5 {
		h.req(0, drained.String(), "default")
	}
	for range 6 {
		h.req(0, banned.String(), "default")
	}
	h.Admit(t0, netip.MustParseAddr("192.0.2.4"), nil) // in flight
	tests := []struct {
		at          time.Duration
		wantTracked int
		wantBans    int
	}{
		{10 * s, 4, 1},  // nobody idle for 30s yet
		{30 * s, 2, 1},  // idle and drained (full again at 5s) go
		{60 * s, 2, 0},  // ban over, but remembered for max_duration
		{120 * s, 1, 0}, // forgotten; the in-flight one stays
	}
	for _, tt := range tests {
		r := h.sweepAt(tt.at)
		if r.tracked != tt.wantTracked || r.bans != tt.wantBans {
			t.Fatalf("at %v: tracked %d bans %d, want %d %d", tt.at, r.tracked, r.bans, tt.wantTracked, tt.wantBans)
		}
		if tr, b := h.rec.gauges(); tr != tt.wantTracked || b != tt.wantBans {
			t.Fatalf("at %v: recorder got %d %d", tt.at, tr, b)
		}
	}
}

// TestSweeper runs the sweeper goroutine on a fake clock.
func TestSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		a, err := New(loadConfig(t, smallTable), rec, nil, WithIdleTTL(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for i := range 10 {
			d := a.Admit(time.Now(), ip4(i), a.Policy("default"))
			a.Done(time.Now(), ip4(i), 200, false)
			if !d.Allow {
				t.Fatal("refused")
			}
		}
		time.Sleep(1500 * time.Millisecond) // fake time: one sweep
		synctest.Wait()
		if n, _ := rec.gauges(); n != 10 {
			t.Fatalf("after 1.5s: tracked %d, want 10", n)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n, _ := rec.gauges(); n != 0 {
			t.Fatalf("after 6.5s: tracked %d, want 0", n)
		}
		if n := rec.count(stats.RateLimit); n != 0 {
			t.Fatalf("%d refusals", n)
		}
	})
}
