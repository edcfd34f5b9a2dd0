package ratelimit

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

const reloadYAML = `
limits:
  default: {rate: 10/s, burst: 10}
  login: {rate: 1/m, burst: 2}
abuse:
  ban: {after_rejections: 1, duration: 1h, max_duration: 1h}
`

func (h *harness) update(t *testing.T, yaml string) {
	t.Helper()
	if err := h.Update(loadConfig(t, yaml)); err != nil {
		t.Fatal(err)
	}
}

func TestReloadKeepsState(t *testing.T) {
	h := newHarness(t, reloadYAML)
	def, login := h.Policy("default"), h.Policy("login")
	drained := "192.0.2.1"
	for range 10 {
		h.req(0, drained, "default")
	}
	banned := "192.0.2.2"
	for range 3 {
		h.req(0, banned, "login")
	}
	if len(h.bansAt(0)) != 1 {
		t.Fatal("no ban")
	}

	h.update(t, reloadYAML) // same policies, a new *config.Config
	if h.Policy("default") != def || h.Policy("login") != login {
		t.Fatal("a kept policy changed identity")
	}
	if d := h.req(0, drained, "default"); d.Allow {
		t.Fatal("reload refilled a drained bucket")
	}
	if d := h.req(time.Second, banned, "default"); d.Allow || d.Reason != stats.Banned {
		t.Fatalf("reload lifted a ban: %+v", d)
	}
	if r, b := def.Limit(); r != 10 || b != 10 {
		t.Fatalf("Limit() = %v, %d", r, b)
	}
}

func TestReloadAdoptsNewRate(t *testing.T) {
	const yaml = `
limits:
  default: {rate: 10/s, burst: 10}
`
	h := newHarness(t, yaml)
	const empty, eight, three = "192.0.2.1", "192.0.2.2", "192.0.2.3"
	for range 10 {
		h.req(0, empty, "default") // 0 tokens left
	}
	for range 2 {
		h.req(0, eight, "default") // 8 left
	}
	for range 7 {
		h.req(0, three, "default") // 3 left
	}
	h.update(t, strings.Replace(yaml, "{rate: 10/s, burst: 10}", "{rate: 1/s, burst: 5}", 1))

	ms := time.Millisecond
	tests := []struct {
		client        string
		at            time.Duration
		wantAllow     bool
		wantRemaining int
	}{
		{empty, 0, false, 0},
		{empty, 999 * ms, false, 0},
		{empty, 1000 * ms, true, 0}, // one token a second now
		{eight, 0, true, 4},         // 8 tokens capped at the new burst of 5
		{three, 0, true, 2},         // 3 tokens kept
		{"192.0.2.9", 0, true, 4},   // a new client gets the new burst
	}
	for i, tt := range tests {
		d := h.req(tt.at, tt.client, "default")
		if d.Allow != tt.wantAllow || (d.Allow && d.Remaining != tt.wantRemaining) {
			t.Fatalf("step %d (%s at %v): allow %v remaining %d, want %v %d",
				i, tt.client, tt.at, d.Allow, d.Remaining, tt.wantAllow, tt.wantRemaining)
		}
	}
}

func TestReloadRemovesPolicy(t *testing.T) {
	h := newHarness(t, reloadYAML)
	login := h.Policy("login")
	const c = "192.0.2.1"
	h.req(0, c, "login")
	h.req(0, c, "login")
	h.update(t, strings.Replace(reloadYAML, "  login: {rate: 1/m, burst: 2}\n", "", 1))
	if h.Policy("login") != nil {
		t.Fatal("removed policy still found")
	}
	// A route still holding the old *Policy is no longer limited.
	for range 5 {
		if d := h.Admit(t0, netip.MustParseAddr(c), login); !d.Allow || d.Remaining != -1 {
			t.Fatalf("removed policy still limits: %+v", d)
		}
		h.Done(t0, netip.MustParseAddr(c), 200, false)
	}
	if r, b := login.Limit(); r != 0 || b != 0 {
		t.Fatal("removed policy reports a limit")
	}
	// Added back, it is a new policy with fresh buckets.
	h.update(t, reloadYAML)
	if p := h.Policy("login"); p == nil || p == login {
		t.Fatal("re-added policy")
	}
	if d := h.req(0, c, "login"); !d.Allow || d.Remaining != 1 {
		t.Fatalf("re-added policy: %+v", d)
	}
}

func TestReloadSwitchesLists(t *testing.T) {
	h := newHarness(t, reloadYAML)
	const c = "192.0.2.1"
	if d := h.req(0, c, ""); !d.Allow {
		t.Fatal("refused")
	}
	h.update(t, reloadYAML+"  deny: [192.0.2.0/24]\n")
	if d := h.req(0, c, ""); d.Allow || d.Reason != stats.Denied {
		t.Fatalf("deny not applied: %+v", d)
	}
	h.update(t, reloadYAML)
	if d := h.req(0, c, ""); !d.Allow {
		t.Fatal("deny not lifted")
	}
}

func TestReloadRejectsTooManyPolicies(t *testing.T) {
	h := newHarness(t, reloadYAML)
	var b strings.Builder
	b.WriteString("limits:\n")
	for i := range maxPolicies + 1 {
		fmt.Fprintf(&b, "  p%d: {rate: 1/s}\n", i)
	}
	if err := h.Update(loadConfig(t, b.String())); err == nil {
		t.Fatal("256 policies accepted")
	}
	if h.Policy("default") == nil || h.Policy("p1") != nil {
		t.Fatal("failed Update changed the policies")
	}
}

func TestReloadPerNetwork(t *testing.T) {
	yaml := `
limits:
  default: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, rate: 1/s, burst: 4}}
`
	h := newHarness(t, yaml)
	for i := range 4 {
		if d := h.req(0, fmt.Sprintf("192.0.2.%d", i), "default"); !d.Allow {
			t.Fatal("refused")
		}
	}
	// Same prefix length, new rate: the network stays drained.
	h.update(t, strings.Replace(yaml, "rate: 1/s, burst: 4", "rate: 2/s, burst: 4", 1))
	if d := h.req(0, "192.0.2.50", "default"); d.Allow {
		t.Fatal("reload refilled a network bucket")
	}
	if d := h.req(500*time.Millisecond, "192.0.2.50", "default"); !d.Allow {
		t.Fatal("network bucket ignores the new rate")
	}
	// New prefix length: network buckets start over.
	h.update(t, strings.Replace(yaml, "ipv4_prefix: 24", "ipv4_prefix: 16", 1))
	if d := h.req(500*time.Millisecond, "192.0.2.51", "default"); !d.Allow {
		t.Fatal("network bucket kept across a prefix change")
	}
}

// TestReloadConcurrent reloads while requests run (for the race detector).
func TestReloadConcurrent(t *testing.T) {
	h := newHarness(t, reloadYAML)
	alt := strings.Replace(reloadYAML, "{rate: 10/s, burst: 10}", "{rate: 5/s, burst: 3}", 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				c := ip4(g*10 + i%10)
				at := t0.Add(time.Duration(i) * time.Millisecond)
				if d := h.Admit(at, c, h.Policy("default")); d.Allow {
					h.Done(at, c, 200, false)
				}
			}
		})
	}
	for i := range 50 {
		if i%2 == 0 {
			h.update(t, alt)
		} else {
			h.update(t, reloadYAML)
		}
	}
	wg.Wait()
	if s := h.Snapshot(0); s.Overload.InFlight != 0 {
		t.Fatalf("in flight %d after every request ended", s.Overload.InFlight)
	}
}
