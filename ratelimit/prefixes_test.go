package ratelimit

import (
	"net/netip"
	"testing"

	"github.com/bulwark-router/bulwark/stats"
)

func TestPrefixLists(t *testing.T) {
	pl, err := newPrefixLists(
		[]string{"10.0.0.0/8", "10.9.9.9", "2001:db8::/32", "::ffff:192.0.2.0/120"},
		[]string{"10.9.0.0/16", "2001:db8:bad::/48", "198.51.100.0/24", "198.51.100.0/24", "::/0"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		give string
		want verdict
	}{
		{"10.1.2.3", allowed},
		{"10.9.1.1", denied},  // the /16 is more specific than the /8
		{"10.9.9.9", allowed}, // the /32 more specific still
		{"11.0.0.1", unlisted},
		{"198.51.100.4", denied},
		{"192.0.2.77", allowed}, // v4-mapped prefix is IPv4
		{"2001:db8::1", allowed},
		{"2001:db8:bad:1::", denied},
		{"2001:db9::1", denied},  // ::/0 covers IPv6 only
		{"172.16.0.1", unlisted}, // not IPv4
	}
	for _, tt := range tests {
		if got := pl.lookup(keyOf(netip.MustParseAddr(tt.give))); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.give, got, tt.want)
		}
	}
	both, _ := newPrefixLists([]string{"192.0.2.0/24"}, []string{"192.0.2.0/24"})
	if got := both.lookup(keyOf(netip.MustParseAddr("192.0.2.1"))); got != denied {
		t.Errorf("prefix in both lists: %v, want denied", got)
	}
	if _, err := newPrefixLists([]string{"nope"}, nil); err == nil {
		t.Error("bad CIDR accepted")
	}
	var none *prefixLists
	if none.lookup(key{}) != unlisted {
		t.Error("nil list")
	}
}

func TestAllowDeny(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 1/s, burst: 1}
abuse:
  allow: [192.0.2.0/24]
  deny: [198.51.100.0/24]
  max_in_flight_per_client: 1
  overload: {max_in_flight: 1, max_queue_wait: 1ms}
  ban: {after_rejections: 1, duration: 1h}
`)
	ok := netip.MustParseAddr("192.0.2.5")
	for range 100 { // no rate limit, no in-flight cap, no ban, no shedding
		if d := h.Admit(t0, ok, h.Policy("default")); !d.Allow || d.Status != 0 || d.Remaining != -1 {
			t.Fatalf("allow-listed client: %+v", d)
		}
	}
	if s := h.Snapshot(0); s.TrackedClients != 0 || s.Overload.InFlight != 100 {
		t.Fatalf("allow-listed client tracked: %+v", s)
	}
	for range 100 {
		h.Done(t0, ok, 401, true)
	}
	d := h.req(0, "198.51.100.9", "default")
	if d.Allow || d.Status != 403 || d.Reason != stats.Denied {
		t.Fatalf("denied client: %+v", d)
	}
	if h.rec.count(stats.Denied) != 1 || h.Snapshot(0).TrackedClients != 0 {
		t.Fatal("denied refusal not counted, or the client was tracked")
	}
}

func TestPerNetworkLimit(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, ipv6_prefix: 48, rate: 1/s, burst: 3}}
`)
	tests := []struct {
		client     string
		wantAllow  bool
		wantReason stats.Reason
	}{
		{"192.0.2.1", true, 0},
		{"192.0.2.2", true, 0},
		{"192.0.2.3", true, 0},
		{"192.0.2.4", false, stats.NetworkLimit}, // the /24 spent its burst
		{"192.0.3.1", true, 0},                   // another /24
		{"2001:db8:1:1::", true, 0},
		{"2001:db8:1:2::", true, 0},
		{"2001:db8:1:3::", true, 0},
		{"2001:db8:1:4::", false, stats.NetworkLimit}, // same /48
		{"2001:db8:2::", true, 0},
	}
	for i, tt := range tests {
		d := h.req(0, tt.client, "default")
		if d.Allow != tt.wantAllow || (!d.Allow && (d.Reason != tt.wantReason || d.Status != 429 || d.RetryAfter <= 0)) {
			t.Fatalf("step %d (%s): %+v", i, tt.client, d)
		}
	}
	// A network refusal does not spend the client's own token.
	if d := h.req(0, "192.0.2.4", "default"); d.Allow {
		t.Fatal("admitted")
	}
	if d := h.req(1e9, "192.0.2.4", "default"); !d.Allow || d.Remaining != 99 {
		t.Fatalf("client bucket after network refusals: %+v", d)
	}
}

// FuzzPrefixLookup checks the masked-key lookup against a plain scan with
// netip.Prefix.Contains: the longest matching prefix decides, deny on ties.
func FuzzPrefixLookup(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0}, uint8(8), []byte{10, 9, 0, 0}, uint8(16), []byte{10, 9, 1, 1})
	f.Add([]byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(32),
		[]byte{0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(48),
		[]byte{0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, allowIP []byte, allowBits uint8, denyIP []byte, denyBits uint8, client []byte) {
		mk := func(b []byte, bits uint8) (netip.Prefix, bool) {
			a, ok := netip.AddrFromSlice(b)
			if !ok {
				return netip.Prefix{}, false
			}
			p, err := a.Unmap().Prefix(int(bits) % (a.Unmap().BitLen() + 1))
			return p, err == nil
		}
		ap, ok1 := mk(allowIP, allowBits)
		dp, ok2 := mk(denyIP, denyBits)
		c, ok3 := netip.AddrFromSlice(client)
		if !ok1 || !ok2 || !ok3 {
			return
		}
		c = c.Unmap()
		pl, err := newPrefixLists([]string{ap.String()}, []string{dp.String()})
		if err != nil {
			t.Fatal(err)
		}
		want := unlisted
		switch {
		case ap.Contains(c) && dp.Contains(c):
			want = allowed
			if dp.Bits() >= ap.Bits() {
				want = denied
			}
		case ap.Contains(c):
			want = allowed
		case dp.Contains(c):
			want = denied
		}
		if got := pl.lookup(keyOf(c)); got != want {
			t.Fatalf("allow %v deny %v client %v: got %v, want %v", ap, dp, c, got, want)
		}
	})
}
