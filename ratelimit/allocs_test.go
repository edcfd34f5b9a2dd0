package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// TestAllocs pins the request path's allocations: none for a decision.
func TestAllocs(t *testing.T) {
	a, err := New(loadConfig(t, `
limits:
  default: {rate: 1/s, burst: 1}
abuse:
  deny: [198.51.100.0/24]
  ban: {after_rejections: 5, duration: 1h}
  overload: {max_in_flight: 100000}
`), nil, nil, WithSweepInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := a.Policy("default")
	now := time.Now()
	hot, banned, denied := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("198.51.100.1")
	for range 10 {
		a.Admit(now, banned, p)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"admit+done", func() {
			now = now.Add(time.Second)
			if a.Admit(now, hot, p).Allow {
				a.Done(now, hot, 200, false)
			}
		}},
		{"rate limited", func() { a.Admit(now, hot, p); a.Admit(now, hot, p) }},
		{"banned", func() { a.Admit(now, banned, p) }},
		{"denied", func() { a.Admit(now, denied, p) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocs", tt.name, n)
		}
	}
}
