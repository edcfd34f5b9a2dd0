package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// TestManualBanNote: an admin ban's reason is shown only while that ban
// stands; a ban the router makes afterwards is its own.
func TestManualBanNote(t *testing.T) {
	h := newHarness(t, banYAML)
	c := netip.MustParseAddr("198.51.100.7")
	if _, err := h.Ban(c, time.Minute, "test", "ops"); err != nil {
		t.Fatal(err)
	}
	if b := h.Bans(); len(b) != 1 || b[0].Why != "admin" || b[0].Reason != "test" {
		t.Fatalf("bans %+v", b)
	}
	h.clk.Set(t0.Add(2 * time.Minute))
	for range 4 {
		h.req(2*time.Minute, c.String(), "default")
	}
	if b := h.Bans(); len(b) != 1 || b[0].Why != "rejections" || b[0].Reason != "" {
		t.Fatalf("bans %+v", b)
	}
}
