package ratelimit

import (
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestAttackSteps(t *testing.T) {
	d := &attack{p: attackParams{minNew: 50, factor: 4, calm: int64(3 * time.Second)}}
	var newTotal, presTotal uint64
	tests := []struct {
		at         int64 // s
		newClients uint64
		pressure   uint64
		overloaded bool
		wantOn     bool
		wantChange bool
	}{
		{1, 0, 0, false, false, false},   // first sample
		{2, 40, 1, false, false, false},  // under minNew
		{3, 400, 0, false, false, false}, // many new clients, no pressure: a crowd, not an attack
		{4, 400, 3, false, true, true},   // both: attack
		{5, 900, 9, false, true, false},
		{6, 10, 0, false, true, false}, // calm for 1s, 2s ...
		{7, 10, 0, false, true, false},
		{8, 10, 1, false, false, true}, // ... 3s: over
		{9, 60, 0, true, true, true},   // the router's own overload is pressure
		{20, 0, 0, false, false, true},
	}
	for i, tt := range tests {
		newTotal += tt.newClients
		presTotal += tt.pressure
		d.newClients.Store(newTotal)
		d.pressure.Store(presTotal)
		ch := d.observe(tt.at*1e9, tt.overloaded)
		if d.on.Load() != tt.wantOn || ch.changed != tt.wantChange || ch.changed && ch.on != tt.wantOn {
			t.Fatalf("step %d (t=%ds): on %v changed %v, want %v %v", i, tt.at, d.on.Load(), ch.changed, tt.wantOn, tt.wantChange)
		}
	}
}

// The baseline learns ordinary seconds: a site that always sees 200 new
// clients a second is not under attack at 300 with a queue, but is at 1000.
func TestAttackBaseline(t *testing.T) {
	d := &attack{p: defaultAttackParams()}
	var total, pres uint64
	step := func(s int64, n uint64, p uint64) attackChange {
		total += n
		pres += p
		d.newClients.Store(total)
		d.pressure.Store(pres)
		return d.observe(s*1e9, false)
	}
	step(1, 0, 0)
	for s := int64(2); s < 300; s++ {
		step(s, 200, 0)
	}
	if ch := step(300, 300, 1); d.on.Load() || ch.changed {
		t.Fatalf("300/s on a 200/s baseline (%.0f) turned attack mode on", d.baseline)
	}
	if ch := step(301, 1000, 1); !ch.changed || !ch.on {
		t.Fatalf("1000/s on a 200/s baseline (%.0f) did not turn attack mode on", d.baseline)
	}
}

type attackRecorder struct {
	stats.Nop
	mu    sync.Mutex
	calls []bool
}

func (r *attackRecorder) UnderAttack(on bool) {
	r.mu.Lock()
	r.calls = append(r.calls, on)
	r.mu.Unlock()
}

// Through the Admission: new clients under pressure turn attack mode on,
// reported once to the recorder and in one log line at each end.
func TestAttackMode(t *testing.T) {
	clk := testutil.NewClock(t0)
	rec := &attackRecorder{}
	core, logs := observer.New(zap.InfoLevel)
	a, err := New(loadConfig(t, "limits: {default: {rate: 10/s}}\n"), rec, zap.New(core),
		WithClock(clk.Now), WithSweepInterval(0), WithSeed(1), WithAttackDetection(50, 4, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sweep := func(at time.Duration) { a.sweep(a.ns(t0.Add(at))) }
	sweep(0)
	for i := range 20 { // ordinary traffic
		a.Admit(t0.Add(500*time.Millisecond), ip4(i), a.Policy("default"))
	}
	sweep(time.Second)
	for i := range 500 { // the flood, with the backends under pressure
		a.Admit(t0.Add(1500*time.Millisecond), ip4(1000+i), a.Policy("default"))
		a.NotePressure()
	}
	sweep(2 * time.Second)
	if !a.UnderAttack() {
		t.Fatal("attack mode off during the flood")
	}
	sweep(3 * time.Second)
	sweep(4 * time.Second)
	if a.UnderAttack() {
		t.Fatal("attack mode still on after 2s of calm")
	}
	if len(rec.calls) != 2 || !rec.calls[0] || rec.calls[1] {
		t.Fatalf("recorder got %v, want [true false]", rec.calls)
	}
	if n, m := logs.FilterMessage("attack mode on: flood of new clients under pressure").Len(), logs.FilterMessage("attack mode off").Len(); n != 1 || m != 1 {
		t.Fatalf("%d start and %d end lines, want one each", n, m)
	}
}
