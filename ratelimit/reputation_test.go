package ratelimit

import (
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/bulwark-router/bulwark/stats"
)

// The reputation record lives in what was padding: a client still costs a
// 96-byte record.
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n != 96 {
		t.Fatalf("entry is %d bytes, want 96", n)
	}
}

const repYAML = `
limits:
  default: {rate: 1/s, burst: 2}
abuse:
  allow: [198.51.100.0/24]
  deny: [203.0.113.0/24]
  ban: {after_rejections: 3, within: 1m, duration: 1m, max_duration: 10m}
`

func TestReputationSteps(t *testing.T) {
	tests := []struct {
		name  string
		steps []struct {
			at     time.Duration
			client string
			status int // the answer's status for Done; 0: none (refused)
			want   Class
			allow  bool
		}
	}{
		{"new, then known after 3 good answers and 10s; refusals make it suspect", []struct {
			at     time.Duration
			client string
			status int
			want   Class
			allow  bool
		}{
			{0, "192.0.2.1", 200, ClassNew, true},
			{1 * time.Second, "192.0.2.1", 200, ClassNew, true},
			{2 * time.Second, "192.0.2.1", 304, ClassNew, true},
			{3 * time.Second, "192.0.2.1", 200, ClassNew, true}, // 3 good, but only 3s old
			{10 * time.Second, "192.0.2.1", 200, ClassKnown, true},
			{20 * time.Second, "192.0.2.1", 200, ClassKnown, true},
			{20 * time.Second, "192.0.2.1", 200, ClassKnown, true},
			{20 * time.Second, "192.0.2.1", 0, ClassKnown, false},   // one refusal: still known
			{20 * time.Second, "192.0.2.1", 0, ClassSuspect, false}, // two within ban.within
			{50 * time.Second, "192.0.2.1", 200, ClassSuspect, true},
			{81 * time.Second, "192.0.2.1", 200, ClassKnown, true}, // the strikes' window is over
		}},
		{"5xx says nothing, mostly 4xx is suspect", []struct {
			at     time.Duration
			client string
			status int
			want   Class
			allow  bool
		}{
			{0, "192.0.2.2", 503, ClassNew, true},
			{1 * time.Second, "192.0.2.2", 503, ClassNew, true},
			{2 * time.Second, "192.0.2.2", 200, ClassNew, true},
			{3 * time.Second, "192.0.2.2", 200, ClassNew, true},
			{4 * time.Second, "192.0.2.2", 200, ClassNew, true},
			{10 * time.Second, "192.0.2.2", 404, ClassKnown, true},
			{11 * time.Second, "192.0.2.2", 404, ClassKnown, true},
			{12 * time.Second, "192.0.2.2", 404, ClassKnown, true},
			{13 * time.Second, "192.0.2.2", 404, ClassKnown, true},
			{14 * time.Second, "192.0.2.2", 404, ClassKnown, true},
			{15 * time.Second, "192.0.2.2", 404, ClassKnown, true}, // 3 good, 5 bad: 8 answers
			{16 * time.Second, "192.0.2.2", 200, ClassKnown, true}, // 9 answers, 6 bad
			{17 * time.Second, "192.0.2.2", 200, ClassSuspect, true},
		}},
		{"banned: suspect until max_duration after the ban", []struct {
			at     time.Duration
			client string
			status int
			want   Class
			allow  bool
		}{
			{0, "192.0.2.3", 200, ClassNew, true},
			{0, "192.0.2.3", 200, ClassNew, true},
			{0, "192.0.2.3", 0, ClassNew, false},
			{0, "192.0.2.3", 0, ClassSuspect, false},
			{0, "192.0.2.3", 0, ClassSuspect, false}, // third strike: banned for 1m
			{30 * time.Second, "192.0.2.3", 0, ClassSuspect, false},
			{2 * time.Minute, "192.0.2.3", 200, ClassSuspect, true},
			{10*time.Minute + 59*time.Second, "192.0.2.3", 200, ClassSuspect, true},
			{11 * time.Minute, "192.0.2.3", 200, ClassKnown, true}, // the ban is forgotten
		}},
		{"lists", []struct {
			at     time.Duration
			client string
			status int
			want   Class
			allow  bool
		}{
			{0, "198.51.100.7", 200, ClassAllowlisted, true},
			{0, "203.0.113.7", 0, ClassSuspect, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, repYAML, WithReputation(3, 10*time.Second))
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				c := netip.MustParseAddr(s.client)
				d := h.Admit(now, c, h.Policy("default"))
				if d.Class != s.want || d.Allow != s.allow {
					t.Fatalf("step %d (%v): class %v allow %v, want %v %v (%+v)", i, s.at, d.Class, d.Allow, s.want, s.allow, d)
				}
				if d.Allow {
					h.Done(now, c, s.status, false)
				}
			}
		})
	}
}

// Good and bad answers are halved together at 255: the ratio follows the
// recent past, and a known client stays known.
func TestReputationDecay(t *testing.T) {
	var e entry
	for range 300 {
		e.note(200)
	}
	if e.good < 128 || e.good == 255 && e.bad != 0 {
		t.Fatalf("good %d bad %d", e.good, e.bad)
	}
	for range 300 {
		e.note(404)
	}
	if e.bad < 128 || int(e.bad) < int(e.good) {
		t.Fatalf("good %d bad %d after many errors", e.good, e.bad)
	}
}

// A known client's record outlives the idle TTL (a reader comes back
// known); a one-off client's does not.
func TestReputationKeptPastIdle(t *testing.T) {
	h := newHarness(t, repYAML, WithReputation(3, 10*time.Second))
	for i := range 4 {
		h.req(time.Duration(i)*4*time.Second, "192.0.2.1", "default") // known at 12s
	}
	h.req(12*time.Second, "192.0.2.9", "default")
	r := h.sweepAt(12*time.Second + 31*time.Second)
	if r.tracked != 1 {
		t.Fatalf("%d records after the idle TTL, want the known one", r.tracked)
	}
	if d := h.req(5*time.Minute, "192.0.2.1", "default"); d.Class != ClassKnown {
		t.Fatalf("after 5 minutes away: %v", d.Class)
	}
	if r := h.sweepAt(5*time.Minute + time.Duration(repKeep)); r.tracked != 0 {
		t.Fatalf("%d records after repKeep", r.tracked)
	}
}

// Per-network buckets (limits.POLICY.per_network) over time: a /24 and a
// /48 share 2 requests/s with a burst of 2, every client far under its own
// 100/s; other networks are untouched.
func TestPerNetworkSteps(t *testing.T) {
	h := newHarness(t, `
limits:
  default: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, ipv6_prefix: 48, rate: 2/s, burst: 2}}
`)
	ms := time.Millisecond
	tests := []struct {
		at        time.Duration
		client    string
		wantAllow bool
		wantWait  time.Duration // RetryAfter of a refusal
	}{
		{0, "192.0.2.1", true, 0},
		{0, "192.0.2.2", true, 0},
		{0, "192.0.2.3", false, 500 * ms},
		{0, "192.0.3.1", true, 0}, // another /24
		{250 * ms, "192.0.2.3", false, 250 * ms},
		{500 * ms, "192.0.2.3", true, 0},
		{500 * ms, "192.0.2.4", false, 500 * ms},
		{1500 * ms, "192.0.2.5", true, 0},
		{1500 * ms, "192.0.2.6", true, 0},
		{1500 * ms, "192.0.2.7", false, 500 * ms},
		{10 * time.Second, "192.0.2.8", true, 0}, // full again: burst 2
		{10 * time.Second, "192.0.2.9", true, 0},
		{10 * time.Second, "192.0.2.10", false, 500 * ms},
		{0, "2001:db8:1:1::1", true, 0},
		{0, "2001:db8:1:2::1", true, 0},
		{0, "2001:db8:1:3::1", false, 500 * ms}, // same /48
		{0, "2001:db8:2::1", true, 0},
		{500 * ms, "2001:db8:1:4::1", true, 0},
	}
	for i, tt := range tests {
		d := h.req(tt.at, tt.client, "default")
		if d.Allow != tt.wantAllow {
			t.Fatalf("step %d (%v %s): %+v", i, tt.at, tt.client, d)
		}
		if !d.Allow && (d.Reason != stats.NetworkLimit || d.Status != 429 || d.RetryAfter != tt.wantWait) {
			t.Fatalf("step %d (%v %s): %v %d retry %v, want network_limit 429 retry %v",
				i, tt.at, tt.client, d.Reason, d.Status, d.RetryAfter, tt.wantWait)
		}
	}
	if n := h.rec.count(stats.NetworkLimit); n != 6 {
		t.Fatalf("%d network_limit refusals counted, want 6", n)
	}
}

// Overload shedding spares known clients: a heavy client that earned its
// reputation keeps being served while an equally heavy new one is shed.
func TestOverloadSparesKnown(t *testing.T) {
	h := newHarness(t, overloadYAML, WithReputation(20, 500*time.Millisecond))
	known, stranger := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 100 { // both at 100/s for a second; only known's answers are good
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		h.Admit(at, known, nil)
		h.Done(at, known, 200, false)
		h.Admit(at, stranger, nil)
		h.Done(at, stranger, 503, false)
	}
	filler := netip.MustParseAddr("198.51.100.1")
	for range 10 {
		h.Admit(t0.Add(time.Second), filler, nil)
	}
	h.Admit(t0.Add(1004*time.Millisecond), filler, nil) // sample: at the cap
	at := t0.Add(1060 * time.Millisecond)               // saturated, threshold 50/s
	if d := h.Admit(at, stranger, nil); d.Allow || d.Reason != stats.Overload {
		t.Fatalf("heavy new client: %+v, want shed", d)
	}
	if d := h.Admit(at, known, nil); !d.Allow || d.Class != ClassKnown {
		t.Fatalf("heavy known client: %+v, want admitted", d)
	}
}

// During attack mode a client first seen after the attack began needs ten
// times the age to become known; clients known before stay known.
func TestReputationDuringAttack(t *testing.T) {
	h := newHarness(t, repYAML, WithReputation(3, 10*time.Second), WithAttackDetection(50, 4, time.Hour))
	old, late := "192.0.2.1", "192.0.2.50"
	h.sweepAt(0)
	for i := range 4 {
		h.req(time.Duration(i)*time.Second, old, "default")
	}
	h.sweepAt(10 * time.Second)
	for i := range 500 { // the flood, under pressure
		h.req(10*time.Second, ip4(i).String(), "default")
		h.NotePressure()
	}
	h.sweepAt(11 * time.Second)
	if !h.UnderAttack() {
		t.Fatal("no attack mode")
	}
	for i := range 4 {
		h.req(time.Duration(12+i)*time.Second, late, "default")
	}
	tests := []struct {
		at     time.Duration
		client string
		want   Class
	}{
		{30 * time.Second, old, ClassKnown},
		{30 * time.Second, late, ClassNew}, // 18s old: enough without an attack
		{111 * time.Second, late, ClassNew},
		{112 * time.Second, late, ClassKnown}, // 100s old
	}
	for i, tt := range tests {
		if d := h.req(tt.at, tt.client, "default"); d.Class != tt.want {
			t.Fatalf("step %d (%v %s): %v, want %v", i, tt.at, tt.client, d.Class, tt.want)
		}
	}
}
