package ratelimit

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A restart with a state file keeps bans with what is left of them, their
// escalation, regulars' standing and revocations.
func TestStateFileRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	yaml := `
limits:
  default: {rate: 1/s, burst: 2}
abuse:
  ban: {after_rejections: 3, within: 1m, duration: 1m, max_duration: 10m}
`
	h := newHarness(t, yaml, WithStateFile(file))
	user, bot := "192.0.2.1", "192.0.2.66"
	for i := range 10 {
		h.served(time.Duration(i)*time.Second, user, 200)
	}
	for range 10 {
		h.req(10*time.Second, bot, "default")
	}
	if d := h.req(10*time.Second, bot, "default"); d.Reason.String() != "banned" {
		t.Fatalf("bot not banned: %+v", d)
	}
	h.Revocations().Revoke(42, t0.Add(time.Hour))
	h.clk.Set(t0.Add(20 * time.Second))
	op := netip.MustParseAddr("198.51.100.9")
	if _, err := h.Ban(op, 5*time.Minute, "scraper", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil { // the drain writes the file
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), `"client":"192.0.2.1"`) {
		t.Fatalf("state file: %v\n%s", err, b)
	}

	h2 := newHarness(t, yaml, WithStateFile(file))
	if d := h2.req(0, bot, "default"); d.Allow || d.Reason.String() != "banned" || d.RetryAfter > 50*time.Second {
		t.Fatalf("bot after the restart: %+v, want banned for what was left (50s)", d)
	}
	e := h2.tracked(netip.MustParseAddr(user))
	if e == nil || e.flags&calmGood == 0 || e.good < 10 {
		t.Fatalf("regular after the restart: %+v", e)
	}
	h2.NotePressureAt(t0.Add(time.Second))
	if d := h2.served(time.Second, user, 200); d.Score < ScoreRegular {
		t.Fatalf("regular under pressure after the restart: %d", d.Score)
	}
	if !h2.Revocations().Revoked(42, t0.Add(time.Minute)) {
		t.Fatal("revocation lost")
	}
	var got *BanInfo
	for _, b := range h2.Bans() {
		if b.Client == op {
			got = &b
		}
	}
	if got == nil || got.Why != "admin" || got.Reason != "scraper" || got.By != "alice" {
		t.Fatalf("an operator's ban after the restart: %+v, want its reason and author kept", got)
	}
}
