package stats

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/etsystatsd"
)

// Etsy's statsd, fed through the Recorder, counts exactly what was recorded
// and finds no bad line.
func TestEtsyStatsdEndToEnd(t *testing.T) {
	d := etsystatsd.Start(t)
	s := newStats(t, statsdConfig(d.UDPAddr, ""))
	const rounds = 10
	for range rounds {
		recordMix(s)
		s.UnderAttack(false) // so the next round starts from the same state
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// What the daemon should hold: every counter and every timer value.
	wantCounters := map[string]float64{}
	wantTimers := map[string][]float64{}
	for range rounds {
		for _, line := range append(mixLines("bulwark"), "bulwark.attack.stop:1|c") {
			name, rest, _ := strings.Cut(line, ":")
			value, kind, _ := strings.Cut(rest, "|")
			v, _ := strconv.ParseFloat(value, 64)
			if kind == "ms" {
				wantTimers[name] = append(wantTimers[name], v)
			} else {
				wantCounters[name] += v
			}
		}
	}

	// UDP datagrams are already in the daemon's socket; it reads them on
	// its own schedule, so ask until the request count is complete.
	var counters map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var err error
		if counters, err = d.Counters(); err != nil {
			t.Fatal(err)
		}
		if counters["bulwark.request"] >= wantCounters["bulwark.request"] || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	if bad := counters["statsd.bad_lines_seen"]; bad != 0 {
		t.Errorf("statsd saw %v bad lines", bad)
	}
	got := map[string]float64{}
	for k, v := range counters {
		if strings.HasPrefix(k, "bulwark.") {
			got[k] = v
		}
	}
	if !maps.Equal(got, wantCounters) {
		t.Errorf("counters:\n got %v\nwant %v", got, wantCounters)
	}

	timers, err := d.Timers()
	if err != nil {
		t.Fatal(err)
	}
	gotTimers := map[string][]float64{}
	for name, vs := range timers {
		if strings.HasPrefix(name, "bulwark.") {
			gotTimers[name] = vs
		}
	}
	for name, want := range wantTimers {
		g := gotTimers[name]
		slices.Sort(g)
		slices.Sort(want)
		if !slices.Equal(g, want) {
			t.Errorf("timer %s:\n got %v\nwant %v", name, g, want)
		}
	}
	t.Logf("statsd %s holds %d bulwark counters (%v requests) and %d timers, as recorded",
		etsystatsd.Version, len(got), got["bulwark.request"], len(gotTimers))
	if len(gotTimers) != len(wantTimers) {
		t.Errorf("timers %v, want %v", slices.Sorted(maps.Keys(gotTimers)), slices.Sorted(maps.Keys(wantTimers)))
	}
}
