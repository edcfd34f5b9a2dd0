package ratelimit

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// TestStrikeBans: strikes count toward abuse.ban.after_rejections like
// rate-limit refusals do, within abuse.ban.within; allow-listed clients are
// never struck.
func TestStrikeBans(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 100/s, burst: 100}
abuse:
  allow: [192.0.2.1]
  ban: {after_rejections: 3, within: 10s, duration: 1m}
`)
	s := time.Second
	tests := []struct {
		name   string
		client string
		give   []time.Duration // strikes at these instants
		at     time.Duration   // then a request at this instant
		want   int             // 0 admitted, else the status
	}{
		{"three strikes ban", "198.51.100.1", []time.Duration{0, s, 2 * s}, 3 * s, 403},
		{"two strikes do not", "198.51.100.2", []time.Duration{0, s}, 2 * s, 0},
		{"outside the window", "198.51.100.3", []time.Duration{0, 11 * s, 12 * s}, 13 * s, 0},
		{"allow-listed", "192.0.2.1", []time.Duration{0, 0, 0, 0}, s, 0},
	}
	for _, tt := range tests {
		c := netip.MustParseAddr(tt.client)
		for _, at := range tt.give {
			h.Strike(t0.Add(at), c)
		}
		d := h.req(tt.at, tt.client, "default")
		got := d.Status
		if d.Allow {
			got = 0
		}
		if got != tt.want || got != 0 && d.Reason != stats.Banned {
			t.Errorf("%s: status %d (%v), want %d", tt.name, got, d.Reason, tt.want)
		}
	}
	if bans := h.bansAt(3 * s); len(bans) != 1 || bans[0].Why != "rejections" {
		t.Errorf("bans %+v, want one for rejections", bans)
	}
}

// TestStrikeWithoutBansIsFree: with abuse.ban off a strike tracks nothing.
func TestStrikeWithoutBansIsFree(t *testing.T) {
	h := newHarness(t, `limits: {default: {rate: 1/s}}`)
	c := netip.MustParseAddr("198.51.100.4")
	h.Strike(t0, c)
	if e := h.tracked(c); e != nil {
		t.Fatalf("a strike with bans off made a record: %+v", e)
	}
}
