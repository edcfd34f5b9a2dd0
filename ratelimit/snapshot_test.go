package ratelimit

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSnapshot(t *testing.T) {
	h := newHarness(t, banYAML+"  max_in_flight_per_client: 100\n")
	ms := time.Millisecond
	// 192.0.2.1: 6 requests (1 admitted, 3 refused, then banned: 2 more
	// refused); 192.0.2.2: 3, one still in flight; 192.0.2.3: 1.
	for range 6 {
		h.req(0, "192.0.2.1", "default")
	}
	h.req(0, "192.0.2.2", "")
	h.req(100*ms, "192.0.2.2", "")
	h.Admit(t0.Add(200*ms), netip.MustParseAddr("192.0.2.2"), nil)
	h.req(0, "192.0.2.3", "")

	h.clk.Set(t0.Add(500 * ms))
	s := h.Snapshot(2)
	if s.TrackedClients != 3 || s.ActiveBans != 1 || s.Capacity != 100_000 || s.Untracked != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	want := []ClientInfo{
		{Client: netip.MustParseAddr("192.0.2.1"), Rate: 6, Refusals: 5, BannedUntil: t0.Add(time.Minute)},
		{Client: netip.MustParseAddr("192.0.2.2"), Rate: 3, InFlight: 1},
	}
	if len(s.Top) != 2 {
		t.Fatalf("top %+v", s.Top)
	}
	for i := range want {
		if g, w := s.Top[i], want[i]; g.Client != w.Client || g.Rate != w.Rate || g.Refusals != w.Refusals ||
			g.InFlight != w.InFlight || !g.BannedUntil.Equal(w.BannedUntil) {
			t.Fatalf("top[%d] = %+v, want %+v", i, g, w)
		}
	}
	// Rates decay: one second later the window slides.
	h.clk.Set(t0.Add(1500 * ms))
	if s := h.Snapshot(1); s.Top[0].Rate != 3 {
		t.Fatalf("rate 1.5s later: %v, want 3", s.Top[0].Rate)
	}
	b, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(b), `"banned_until":"2030-01-01T00:01:00Z"`) ||
		strings.Count(string(b), "banned_until") != 1 {
		t.Fatalf("json %s %v", b, err)
	}
}
