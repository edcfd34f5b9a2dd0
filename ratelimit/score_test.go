package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

const scoreYAML = `
limits:
  default: {rate: 1000/s, burst: 1000}
abuse:
  ban: {after_rejections: 100, within: 1m, duration: 1m, max_duration: 10m}
`

// served admits one request of c at at and answers it with status.
func (h *harness) served(at time.Duration, c string, status int) Decision {
	a := netip.MustParseAddr(c)
	d := h.Admit(t0.Add(at), a, h.Policy("default"))
	if d.Allow {
		h.Done(t0.Add(at), a, status, false)
	}
	return d
}

// A user served for ten seconds before pressure began outranks every
// client first seen during it, however well those are served and however
// long the pressure lasts; the pressure ends after pressureCalm.
func TestScoreRegularOutranksFlood(t *testing.T) {
	h := newHarness(t, scoreYAML)
	user, bot := "192.0.2.1", "192.0.2.66"
	for i := range 10 {
		h.served(time.Duration(i)*time.Second, user, 200)
	}
	if d := h.served(10*time.Second, user, 200); d.Class != ClassNew || d.Score >= ScoreKnown {
		t.Fatalf("before pressure: %v %d, want new", d.Class, d.Score)
	}
	h.NotePressureAt(t0.Add(10 * time.Second))
	var top Score
	for i := range 2000 { // 20 good answers a second for 100 s
		at := 10*time.Second + time.Duration(i)*50*time.Millisecond
		h.NotePressureAt(t0.Add(at))
		top = max(top, h.served(at, bot, 200).Score)
	}
	if top < ScoreKnown {
		t.Fatalf("bot served for 100s scores %d, want known by the reputation's rule", top)
	}
	d := h.served(110*time.Second, user, 200)
	if d.Class != ClassKnown || d.Score < ScoreRegular || d.Score <= top {
		t.Fatalf("regular during pressure: %v %d, want known, >= %d and above the bot's %d", d.Class, d.Score, ScoreRegular, top)
	}
	h.sweepAt(140 * time.Second) // 30 s since the last sign of pressure
	if h.UnderPressure() {
		t.Fatal("pressure did not settle")
	}
	if d := h.served(141*time.Second, user, 200); d.Score >= ScoreRegular {
		t.Fatalf("after the pressure: %d, want below the regular band", d.Score)
	}
}

// A burst in one moment before pressure earns no regular standing: the
// good answers must span regularLead.
func TestScoreBurstIsNoRegular(t *testing.T) {
	h := newHarness(t, scoreYAML)
	for range 10 {
		h.served(time.Second, "192.0.2.7", 200)
	}
	h.NotePressureAt(t0.Add(20 * time.Second))
	if d := h.served(20*time.Second, "192.0.2.7", 200); d.Score >= ScoreKnown {
		t.Fatalf("burst client: %d, want new", d.Score)
	}
}

// The new band grows with good answers and age and falls with client
// errors and refusals; verification lifts it.
func TestScoreNewBand(t *testing.T) {
	s := &abuseSettings{rep: repParams{good: 20, age: int64(time.Minute)}, banWithin: int64(time.Minute)}
	at := int64(30 * time.Second)
	tests := []struct {
		name string
		give entry
		want Score
	}{
		{"fresh", entry{first: 30}, 1},
		{"half the age, nothing good", entry{}, 16},
		{"10 good, half the age", entry{good: 10}, 36},
		{"15 good, 5 bad", entry{good: 15, bad: 5}, 30 + 16 - 8},
		{"10 good, a strike", entry{good: 10, strikes: 1, strikeAt: at}, 28},
		{"suspect: two strikes", entry{good: 10, strikes: 2, strikeAt: at}, 0},
		{"10 good, verified", entry{good: 10, flags: verified}, 68},
		{"suspect: mostly errors", entry{good: 2, bad: 10}, 0},
		{"many good, verified", entry{good: 200, flags: verified}, 112},
	}
	for _, tt := range tests {
		if got := tt.give.score(at, s, view{}); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
