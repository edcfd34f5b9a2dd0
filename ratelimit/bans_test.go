package ratelimit

import (
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

const banYAML = `
limits:
  default: {rate: 1/s, burst: 1}
abuse:
  ban: {after_rejections: 3, within: 10s, duration: 1m, max_duration: 4m}
`

// TestBanEscalation walks a client through bans of 1m, 2m, 4m, 4m, then a
// quiet spell that resets the escalation.
func TestBanEscalation(t *testing.T) {
	h := newHarness(t, banYAML)
	const c = "198.51.100.7"
	s, m := time.Second, time.Minute
	type step struct {
		at         time.Duration
		want       int // 0 admitted, else the status
		wantReason stats.Reason
		wantRetry  time.Duration
	}
	// offend: at at, one admitted request then three refused ones: the
	// third refusal bans.
	offend := func(at time.Duration) []step {
		return []step{
			{at, 0, 0, 0},
			{at, 429, stats.RateLimit, s},
			{at, 429, stats.RateLimit, s},
			{at, 429, stats.RateLimit, s},
		}
	}
	var steps []step
	steps = append(steps, offend(0)...)
	steps = append(steps,
		step{1 * s, 403, stats.Banned, 59 * s}, // banned for 1m from 0
		step{59 * s, 403, stats.Banned, 1 * s},
	)
	steps = append(steps, offend(1*m)...) // ban 2: 2m, until 3m
	steps = append(steps, step{3*m - 1, 403, stats.Banned, 1})
	steps = append(steps, offend(3*m)...) // ban 3: 4m, until 7m
	steps = append(steps, step{7*m - s, 403, stats.Banned, s})
	steps = append(steps, offend(7*m)...) // ban 4: capped at 4m, until 11m
	steps = append(steps, step{11*m - s, 403, stats.Banned, s})
	// Quiet for max_duration (4m) after the ban ended: back to 1m.
	steps = append(steps, offend(15*m)...)
	steps = append(steps, step{16*m - s, 403, stats.Banned, s}, step{16 * m, 0, 0, 0})

	for i, st := range steps {
		d := h.req(st.at, c, "default")
		got := d.Status
		if d.Allow {
			got = 0
		}
		if got != st.want || (got != 0 && (d.Reason != st.wantReason || d.RetryAfter != st.wantRetry)) {
			t.Fatalf("step %d at %v: got status %d %v retry %v, want %d %v %v",
				i, st.at, got, d.Reason, d.RetryAfter, st.want, st.wantReason, st.wantRetry)
		}
	}
	if n := h.rec.count(stats.Banned); n != 6 {
		t.Fatalf("banned refusals %d, want 6", n)
	}
}

func TestBansList(t *testing.T) {
	h := newHarness(t, banYAML)
	c := netip.MustParseAddr("198.51.100.9")
	for range 4 {
		h.req(0, c.String(), "default")
	}
	bans := h.bansAt(30 * time.Second)
	if len(bans) != 1 || bans[0].Client != c || bans[0].Level != 1 || bans[0].Why != "rejections" ||
		bans[0].DryRun || !bans[0].Until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("at 30s: %+v", bans)
	}
	if bans := h.bansAt(time.Minute); len(bans) != 0 {
		t.Fatalf("at 1m the ban is over: %+v", bans)
	}
}

func TestBanWindow(t *testing.T) {
	h := newHarness(t, banYAML)
	s := time.Second
	tests := []struct {
		at         time.Duration
		wantBanned bool // after this step's refused request
	}{
		{0, false},      // strike 1, window starts
		{6 * s, false},  // strike 2
		{11 * s, false}, // window (10s) over: strike 1 of a new window at 11s
		{15 * s, false}, // strike 2
		{21 * s, true},  // strike 3 within 10s of 11s: banned
	}
	const c = "203.0.113.5"
	for i, tt := range tests {
		h.req(tt.at, c, "default") // takes the token (refills in 1s)
		d := h.req(tt.at, c, "default")
		if d.Allow {
			t.Fatalf("step %d: second request admitted", i)
		}
		banned := len(h.bansAt(tt.at)) == 1
		if banned != tt.wantBanned {
			t.Fatalf("step %d at %v: banned %v, want %v", i, tt.at, banned, tt.wantBanned)
		}
	}
}

func (h *harness) bansAt(at time.Duration) []BanInfo {
	h.clk.Set(t0.Add(at))
	return h.Bans()
}

func TestAuthFailures(t *testing.T) {
	h := newHarness(t, `
abuse:
  auth_failures: {statuses: [401, 403], max: 2, within: 1m}
  ban: {duration: 10m, max_duration: 1h}
`)
	c := netip.MustParseAddr("192.0.2.44")
	s := time.Second
	tests := []struct {
		at         time.Duration
		status     int
		auth       bool
		wantBanned bool
	}{
		{0, 401, true, false},       // failure 1
		{1 * s, 200, true, false},   // success: not counted
		{2 * s, 401, false, false},  // not an auth route: not counted
		{3 * s, 500, true, false},   // not a listed status
		{4 * s, 403, true, false},   // failure 2: max is 2, not over
		{61 * s, 401, true, false},  // window from 0 is over: failure 1 again
		{62 * s, 401, true, false},  // 2
		{63 * s, 401, true, true},   // 3 > max: banned
		{64 * s, 401, true, true},   // failures while banned do not escalate
		{663 * s, 200, true, false}, // ban (10m from 63s) is over
	}
	for i, tt := range tests {
		at := t0.Add(tt.at)
		if d := h.Admit(at, c, nil); d.Allow {
			h.Done(at, c, tt.status, tt.auth)
		}
		bans := h.bansAt(tt.at)
		if (len(bans) == 1) != tt.wantBanned {
			t.Fatalf("step %d at %v: bans %+v, want banned %v", i, tt.at, bans, tt.wantBanned)
		}
		if len(bans) == 1 && (bans[0].Why != "auth_failures" || bans[0].Level != 1 ||
			!bans[0].Until.Equal(t0.Add(63*s+10*time.Minute))) {
			t.Fatalf("step %d: ban %+v", i, bans[0])
		}
	}
	if d := h.Admit(t0.Add(100*s), c, nil); d.Allow || d.Status != 403 || d.Reason != stats.Banned {
		t.Fatalf("banned client admitted: %+v", d)
	}
}

func TestLift(t *testing.T) {
	h := newHarness(t, banYAML)
	const c = "2001:db8:1:2::"
	for range 4 {
		h.req(0, c, "default")
	}
	if !h.Lift(netip.MustParseAddr("2001:db8:1:2:aaaa::1")) {
		t.Fatal("Lift of an address in the banned /64 found no ban")
	}
	if h.Lift(netip.MustParseAddr(c)) {
		t.Fatal("second Lift found a ban")
	}
	if d := h.req(2*time.Second, c, "default"); !d.Allow {
		t.Fatalf("lifted client refused: %+v", d)
	}
	// The escalation is forgotten: the next ban is 1m again.
	for range 3 {
		h.req(2*time.Second, c, "default")
	}
	if b := h.bansAt(2 * time.Second); len(b) != 1 || b[0].Level != 1 {
		t.Fatalf("after Lift: %+v", b)
	}
}
