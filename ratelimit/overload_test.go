package ratelimit

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

const overloadYAML = `
abuse:
  overload: {max_in_flight: 10, max_queue_wait: 50ms}
`

// warmUp gives heavy clients 100 requests, medium ones 10 and light ones 1
// during the first second, each finished at once.
func warmUp(h *harness, heavy, medium, light []netip.Addr) {
	for i := range 100 {
		at := time.Duration(i) * 10 * time.Millisecond
		for _, c := range heavy {
			h.req(at, c.String(), "")
		}
		if i%10 == 0 {
			for _, c := range medium {
				h.req(at, c.String(), "")
			}
		}
	}
	for _, c := range light {
		h.req(500*time.Millisecond, c.String(), "")
	}
}

func addrs(prefix string, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.MustParseAddr(prefix + string(rune('1'+i)))
	}
	return out
}

func TestOverloadShedsHeaviestFirst(t *testing.T) {
	h := newHarness(t, overloadYAML)
	heavy, medium, light := addrs("192.0.2.1", 8), addrs("192.0.2.2", 8), addrs("192.0.2.3", 8)
	warmUp(h, heavy, medium, light)

	// From 1s, ten slow requests hold the router at its cap.
	filler := netip.MustParseAddr("198.51.100.1")
	for range 10 {
		if !h.Admit(t0.Add(time.Second), filler, nil).Allow {
			t.Fatal("filler refused")
		}
	}
	ms := time.Millisecond
	type want struct{ heavy, medium, light bool } // admitted?
	// Each step asks with clients not asked before, so that their rates
	// stay those of the warm-up: heavy ~100/s, medium ~10/s, light ~1/s.
	tests := []struct {
		at   time.Duration
		want want
	}{
		{1000 * ms, want{true, true, true}}, // at the cap, not yet for 50ms
		{1004 * ms, want{true, true, true}}, // in flight sampled (every 3.125ms): 10
		{1040 * ms, want{true, true, true}},
		{1060 * ms, want{false, true, true}},  // saturated: threshold 50/s
		{1120 * ms, want{false, true, true}},  // 25/s
		{1180 * ms, want{false, true, true}},  // 12.5/s
		{1240 * ms, want{false, false, true}}, // 6.3/s: medium out, light in
	}
	for i, tt := range tests {
		got := want{
			h.req(tt.at, heavy[i].String(), "").Allow,
			h.req(tt.at, medium[i].String(), "").Allow,
			h.req(tt.at, light[i].String(), "").Allow,
		}
		if got != tt.want {
			t.Fatalf("at %v: admitted %+v, want %+v", tt.at, got, tt.want)
		}
	}
	h.clk.Set(t0.Add(1240 * ms))
	s := h.Snapshot(3)
	if !s.Overload.Saturated || s.Overload.Threshold <= 0 || s.Overload.InFlight != 10 || s.Overload.Shed != 5 {
		t.Fatalf("overload state %+v", s.Overload)
	}
	if len(s.Top) != 3 || s.Top[0].Rate < 50 {
		t.Fatalf("top clients %+v", s.Top)
	}
	d := h.req(1250*ms, heavy[7].String(), "")
	if d.Allow || d.Status != 503 || d.Reason != stats.Overload || d.RetryAfter != time.Second {
		t.Fatalf("shed decision %+v", d)
	}
	if n := h.rec.count(stats.Overload); n != 6 {
		t.Fatalf("overload refusals %d, want 6", n)
	}

	// The slow requests end: shedding stops at once.
	for range 10 {
		h.Done(t0.Add(1260*ms), filler, 200, false)
	}
	if !h.req(1260*ms, heavy[0].String(), "").Allow {
		t.Fatal("heavy client still shed after the queue drained")
	}
}

func TestOverloadHardBound(t *testing.T) {
	h := newHarness(t, overloadYAML)
	light := netip.MustParseAddr("192.0.2.1")
	h.req(0, light.String(), "")
	filler := netip.MustParseAddr("198.51.100.1")
	for range 20 { // twice max_in_flight
		h.Admit(t0, filler, nil)
	}
	// The next request samples in flight (20) and starts the clock.
	if !h.req(40*time.Millisecond, light.String(), "").Allow {
		t.Fatal("shed before max_queue_wait")
	}
	if !h.req(80*time.Millisecond, light.String(), "").Allow {
		t.Fatal("shed before max_queue_wait")
	}
	if h.req(90*time.Millisecond, light.String(), "").Allow {
		t.Fatal("past twice max_in_flight, a light client was still admitted")
	}
}

// TestOverloadBusyButHealthy: requests keep the router at and above its
// cap, but the queue drains every 20ms, well within max_queue_wait. Nothing
// may be shed, however heavy the clients.
func TestOverloadBusyButHealthy(t *testing.T) {
	h := newHarness(t, overloadYAML)
	heavy := addrs("192.0.2.1", 5)
	slow := netip.MustParseAddr("198.51.100.1")
	var maxInFlight int64
	for ms := range 3000 {
		at := time.Duration(ms) * time.Millisecond
		switch ms % 20 {
		case 0: // a wave of 12 slow requests: above the cap
			for range 12 {
				if !h.Admit(t0.Add(at), slow, nil).Allow {
					t.Fatalf("at %v: slow request shed", at)
				}
			}
		case 15: // the wave finishes
			for range 12 {
				h.Done(t0.Add(at), slow, 200, false)
			}
		}
		for _, c := range heavy {
			if d := h.req(at, c.String(), ""); !d.Allow {
				t.Fatalf("at %v: %v shed from a healthy router", at, c)
			}
		}
		maxInFlight = max(maxInFlight, h.inFlight())
	}
	if maxInFlight < 12 {
		t.Fatalf("test never reached the cap (max in flight %d)", maxInFlight)
	}
	if s := h.Snapshot(0); s.Overload.Shed != 0 || s.Overload.Saturated {
		t.Fatalf("overload state %+v", s.Overload)
	}
}

func TestOverloadOffByDefault(t *testing.T) {
	h := newHarness(t, "")
	c := netip.MustParseAddr("192.0.2.1")
	for range 1000 {
		if !h.Admit(t0, c, nil).Allow {
			t.Fatal("refused without overload settings")
		}
	}
	if s := h.Snapshot(0); s.Overload.Enabled || s.Overload.InFlight != 1000 {
		t.Fatalf("%+v", s.Overload)
	}
}
