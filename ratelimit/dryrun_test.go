package ratelimit

import (
	"net/netip"
	"testing"

	"github.com/bulwark-router/bulwark/stats"
)

func TestAbuseDryRun(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 1/s, burst: 2}
abuse:
  dry_run: true
  deny: [198.51.100.0/24]
  max_in_flight_per_client: 1
  ban: {after_rejections: 2, duration: 1m}
`)
	const c = "192.0.2.1"
	tests := []struct {
		wantReason stats.Reason
		wantStatus int
	}{
		{0, 0},
		{0, 0},
		{stats.RateLimit, 429}, // strike 1
		{stats.RateLimit, 429}, // strike 2: a dry-run ban
		{stats.Banned, 403},
	}
	for i, tt := range tests {
		d := h.req(0, c, "default")
		if !d.Allow || d.Status != tt.wantStatus || (d.Status != 0 && (!d.DryRun || d.Reason != tt.wantReason)) {
			t.Fatalf("step %d: %+v, want allowed with would-be %d %v", i, d, tt.wantStatus, tt.wantReason)
		}
	}
	if d := h.req(0, "198.51.100.7", ""); !d.Allow || !d.DryRun || d.Reason != stats.Denied {
		t.Fatalf("denied client in dry run: %+v", d)
	}
	other := netip.MustParseAddr("192.0.2.2")
	h.Admit(t0, other, nil)
	if d := h.Admit(t0, other, nil); !d.Allow || !d.DryRun || d.Reason != stats.TooManyInFlight {
		t.Fatalf("in-flight cap in dry run: %+v", d)
	}
	bans := h.bansAt(0)
	if len(bans) != 1 || !bans[0].DryRun {
		t.Fatalf("dry-run ban: %+v", bans)
	}
	for _, r := range stats.Reasons() {
		if n := h.rec.count(r); n != 0 {
			t.Fatalf("%d %v refusals recorded in dry run", n, r)
		}
	}
	want := map[string]uint64{"rate_limit": 2, "banned": 1, "denied": 1, "too_many_in_flight": 1}
	got := h.Snapshot(0).DryRun
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("dry-run counts %v, want %v", got, want)
		}
	}

	// Dry run off: the dry-run ban is still not enforced, rate limits are.
	h.update(t, `
limits:
  default: {rate: 1/s, burst: 2}
abuse:
  ban: {after_rejections: 2, duration: 1m}
`)
	if d := h.req(0, c, "default"); d.Allow || d.Reason != stats.RateLimit {
		t.Fatalf("after dry run: %+v", d)
	}
}

func TestPolicyDryRun(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 1/s, burst: 1}
  trial: {rate: 1/s, burst: 1, dry_run: true}
abuse:
  ban: {after_rejections: 2, duration: 1m}
`)
	const c = "192.0.2.1"
	for i := range 5 {
		d := h.req(0, c, "trial")
		if !d.Allow || (i > 0 && (!d.DryRun || d.Reason != stats.RateLimit)) {
			t.Fatalf("trial step %d: %+v", i, d)
		}
	}
	if len(h.bansAt(0)) != 0 {
		t.Fatal("dry-run policy refusals led to a ban")
	}
	h.req(0, c, "default")
	if d := h.req(0, c, "default"); d.Allow || d.DryRun {
		t.Fatalf("default policy in dry run: %+v", d)
	}
	if h.rec.count(stats.RateLimit) != 1 || h.Snapshot(0).DryRun["rate_limit"] != 4 {
		t.Fatalf("counts: %d rejected, dry %v", h.rec.count(stats.RateLimit), h.Snapshot(0).DryRun)
	}
}
