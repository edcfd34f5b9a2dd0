package breaker

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	closed = StateClosed
	half   = StateHalfOpen
	open   = StateOpen
)

// step is one action at a fixed instant (time since the breaker was made)
// and the state it must leave behind.
//
//	do: "+" allow then Done(Success); "-" allow then Done(Failure) (both
//	    must be admitted); "allow" Allow and hold the token; "ok", "fail",
//	    "ign" end the oldest held token with Success, Failure, Ignore.
//
// For "allow", admitted says whether Allow let it through; a refusal's
// OpenError.RetryAfter must equal refusedFor. state and retry
// (RetryAfter()) are checked after every step.
type step struct {
	at         time.Duration
	do         string
	admitted   bool
	refusedFor time.Duration
	state      State
	retry      time.Duration
}

func brk(consecutive int, ratio float64, minRequests, halfOpen int) Config {
	return Config{
		ConsecutiveFailures: consecutive,
		FailureRatio:        ratio,
		MinRequests:         minRequests,
		Window:              10 * time.Second,
		OpenFor:             5 * time.Second,
		HalfOpenRequests:    halfOpen,
	}
}

func runSteps(t *testing.T, cfg Config, steps []step) {
	t.Helper()
	clk := testutil.NewClock(t0)
	b := New(cfg, WithClock(clk.Now))
	var held []Token
	for i, s := range steps {
		clk.Set(t0.Add(s.at))
		where := fmt.Sprintf("step %d (at %v, %q)", i, s.at, s.do)
		switch s.do {
		case "+", "-":
			tok, err := b.Allow()
			if err != nil {
				t.Fatalf("%s: Allow = %v, want admitted", where, err)
			}
			r := Success
			if s.do == "-" {
				r = Failure
			}
			b.Done(tok, r)
		case "allow":
			tok, err := b.Allow()
			if got := err == nil; got != s.admitted {
				t.Fatalf("%s: admitted = %v (err %v), want %v", where, got, err, s.admitted)
			}
			if err == nil {
				held = append(held, tok)
				break
			}
			var oe *OpenError
			if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
				t.Fatalf("%s: err = %#v, want *OpenError matching ErrOpen", where, err)
			}
			if oe.RetryAfter != s.refusedFor {
				t.Errorf("%s: refusal RetryAfter = %v, want %v", where, oe.RetryAfter, s.refusedFor)
			}
		case "ok", "fail", "ign":
			r := map[string]Result{"ok": Success, "fail": Failure, "ign": Ignore}[s.do]
			b.Done(held[0], r)
			held = held[1:]
		default:
			t.Fatalf("%s: unknown op", where)
		}
		if got := b.State(); got != s.state {
			t.Fatalf("%s: State = %v, want %v", where, got, s.state)
		}
		if got := b.RetryAfter(); got != s.retry {
			t.Errorf("%s: RetryAfter = %v, want %v", where, got, s.retry)
		}
	}
}

func TestConsecutiveFailuresTrip(t *testing.T) {
	runSteps(t, brk(3, 0, 20, 1), []step{
		{at: 0, do: "-", state: closed},
		{at: 0, do: "-", state: closed},
		{at: 0, do: "+", state: closed}, // a success resets the run
		{at: 1 * time.Second, do: "-", state: closed},
		{at: 1 * time.Second, do: "-", state: closed},
		{at: 2 * time.Second, do: "-", state: open, retry: 5 * time.Second},
		{at: 3 * time.Second, do: "allow", refusedFor: 4 * time.Second, state: open, retry: 4 * time.Second},
		{at: 7*time.Second - 1, do: "allow", refusedFor: 1, state: open, retry: 1},
		{at: 7 * time.Second, do: "allow", admitted: true, state: half},
		{at: 7 * time.Second, do: "ok", state: closed},
		// Counts start over after the close.
		{at: 8 * time.Second, do: "-", state: closed},
		{at: 8 * time.Second, do: "-", state: closed},
		{at: 8 * time.Second, do: "-", state: open, retry: 5 * time.Second},
	})
}

func TestIgnoreDoesNotCount(t *testing.T) {
	runSteps(t, brk(2, 0, 20, 1), []step{
		{at: 0, do: "-", state: closed},
		{at: 0, do: "allow", admitted: true, state: closed},
		{at: 0, do: "ign", state: closed}, // neither breaks nor extends the run
		{at: 0, do: "-", state: open, retry: 5 * time.Second},
	})
}

func TestFailureRatioOverRollingWindow(t *testing.T) {
	t.Run("min_requests", func(t *testing.T) {
		runSteps(t, brk(0, 0.5, 4, 1), []step{
			{at: 0, do: "-", state: closed},
			{at: 0, do: "-", state: closed}, // 2 of 2 failed, but under min_requests
			{at: 0, do: "+", state: closed}, // 2 of 3
			{at: 1 * time.Second, do: "+", state: closed},
			{at: 1 * time.Second, do: "-", state: open, retry: 5 * time.Second}, // 3 of 5 ≥ 0.5
		})
	})
	t.Run("old failures roll out", func(t *testing.T) {
		runSteps(t, brk(0, 0.5, 4, 1), []step{
			{at: 0, do: "-", state: closed},
			{at: 0, do: "-", state: closed},
			{at: 0, do: "-", state: closed},
			// 10s later the first bucket has left the window: 0 of 3 failed.
			{at: 10 * time.Second, do: "+", state: closed},
			{at: 10 * time.Second, do: "+", state: closed},
			{at: 10 * time.Second, do: "+", state: closed},
			{at: 11 * time.Second, do: "-", state: closed},                       // 1 of 4 (4 of 7 without rolling)
			{at: 12 * time.Second, do: "-", state: closed},                       // 2 of 5
			{at: 12 * time.Second, do: "-", state: open, retry: 5 * time.Second}, // 3 of 6
		})
	})
	t.Run("exact ratio at min_requests", func(t *testing.T) {
		runSteps(t, brk(0, 0.5, 4, 1), []step{
			{at: 0, do: "+", state: closed},
			{at: 1 * time.Second, do: "-", state: closed},
			{at: 9 * time.Second, do: "+", state: closed},
			{at: 9*time.Second + 999*time.Millisecond, do: "-", state: open, retry: 5 * time.Second}, // 2 of 4
		})
	})
	t.Run("below ratio stays closed", func(t *testing.T) {
		runSteps(t, brk(0, 0.5, 4, 1), []step{
			{at: 0, do: "+", state: closed},
			{at: 0, do: "+", state: closed},
			{at: 0, do: "+", state: closed},
			{at: 0, do: "-", state: closed},               // 1 of 4
			{at: 1 * time.Second, do: "-", state: closed}, // 2 of 5 < 0.5
			{at: 1 * time.Second, do: "+", state: closed},
		})
	})
}

func TestHalfOpenAdmitsExactlyN(t *testing.T) {
	runSteps(t, brk(1, 0, 20, 3), []step{
		{at: 0, do: "-", state: open, retry: 5 * time.Second},
		{at: 5 * time.Second, do: "allow", admitted: true, state: half},
		{at: 5 * time.Second, do: "allow", admitted: true, state: half},
		{at: 5 * time.Second, do: "allow", admitted: true, state: half},
		{at: 5 * time.Second, do: "allow", refusedFor: 5 * time.Second, state: half},
		{at: 6 * time.Second, do: "ok", state: half},
		{at: 6 * time.Second, do: "allow", refusedFor: 5 * time.Second, state: half}, // slots are not reused
		{at: 6 * time.Second, do: "ign", state: half},                                // but an ignored probe frees one
		{at: 6 * time.Second, do: "allow", admitted: true, state: half},
		{at: 6 * time.Second, do: "ok", state: half},
		{at: 7 * time.Second, do: "ok", state: closed}, // all three probes succeeded
		{at: 7 * time.Second, do: "allow", admitted: true, state: closed},
		{at: 7 * time.Second, do: "ok", state: closed},
	})
}

func TestHalfOpenFailureReopensWithGrowingOpenTime(t *testing.T) {
	s := time.Second
	runSteps(t, brk(1, 0, 20, 1), []step{
		{at: 0, do: "-", state: open, retry: 5 * s},
		{at: 5 * s, do: "-", state: open, retry: 10 * s}, // probe failed: 2×
		{at: 14 * s, do: "allow", refusedFor: 1 * s, state: open, retry: 1 * s},
		{at: 15 * s, do: "-", state: open, retry: 20 * s}, // 4×
		{at: 35 * s, do: "-", state: open, retry: 40 * s}, // 8×
		{at: 75 * s, do: "-", state: open, retry: 40 * s}, // capped at 8×
		{at: 115 * s, do: "allow", admitted: true, state: half},
		{at: 115 * s, do: "allow", refusedFor: 5 * s, state: half},
		{at: 116 * s, do: "ok", state: closed},
		{at: 117 * s, do: "-", state: open, retry: 5 * s}, // growth reset on close
	})
}

func TestStaleTokenIgnored(t *testing.T) {
	runSteps(t, brk(1, 0, 20, 1), []step{
		{at: 0, do: "allow", admitted: true, state: closed}, // held from the closed state
		{at: 0, do: "-", state: open, retry: 5 * time.Second},
		{at: 5 * time.Second, do: "allow", admitted: true, state: half},
		{at: 5 * time.Second, do: "fail", state: half}, // the stale closed-state token: no effect
		{at: 5 * time.Second, do: "ok", state: closed},
	})
}

func TestAlwaysAllows(t *testing.T) {
	for name, cfg := range map[string]Config{
		"disabled":       {ConsecutiveFailures: 1, FailureRatio: 0.1, MinRequests: 1, Disabled: true},
		"no trip policy": {ConsecutiveFailures: 0, FailureRatio: 0, MinRequests: 1},
	} {
		t.Run(name, func(t *testing.T) {
			b := New(cfg)
			for range 100 {
				tok, err := b.Allow()
				if err != nil {
					t.Fatalf("Allow = %v", err)
				}
				b.Done(tok, Failure)
			}
			if b.State() != closed || !b.Ready() || b.RetryAfter() != 0 {
				t.Fatalf("State %v Ready %v RetryAfter %v", b.State(), b.Ready(), b.RetryAfter())
			}
		})
	}
}

func TestReady(t *testing.T) {
	clk := testutil.NewClock(t0)
	b := New(brk(1, 0, 20, 2), WithClock(clk.Now))
	tests := []struct {
		at   time.Duration
		do   func()
		want bool
	}{
		{at: 0, want: true},
		{at: 0, do: func() { tok, _ := b.Allow(); b.Done(tok, Failure) }, want: false},
		{at: 4 * time.Second, want: false},
		{at: 5 * time.Second, want: true}, // open but past open_for: pickable
		{at: 5 * time.Second, do: func() { b.Allow() }, want: true},
		{at: 5 * time.Second, do: func() { b.Allow() }, want: false}, // both probe slots taken
	}
	for i, tt := range tests {
		clk.Set(t0.Add(tt.at))
		if tt.do != nil {
			tt.do()
		}
		if got := b.Ready(); got != tt.want {
			t.Errorf("%d: Ready at %v = %v, want %v", i, tt.at, got, tt.want)
		}
	}
}

func TestOnStateChangeAfterUnlockInOrder(t *testing.T) {
	clk := testutil.NewClock(t0)
	var b *Breaker
	var got []string
	b = New(brk(1, 0, 20, 1), WithClock(clk.Now), OnStateChange(func(from, to State) {
		// These would deadlock if the callback ran under the lock.
		_ = b.State()
		_ = b.Ready()
		got = append(got, from.String()+">"+to.String())
		if to == open && len(got) == 1 {
			// Re-entrant change from inside the callback: delivered after this one.
			clk.Set(t0.Add(5 * time.Second))
			tok, err := b.Allow()
			if err != nil {
				t.Errorf("Allow in callback: %v", err)
			}
			b.Done(tok, Success)
		}
	}))
	tok, _ := b.Allow()
	b.Done(tok, Failure)
	want := []string{"closed>open", "open>half-open", "half-open>closed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
}

func TestOpenErrorMessage(t *testing.T) {
	err := error(&OpenError{RetryAfter: 1500 * time.Millisecond})
	if !errors.Is(err, ErrOpen) || err.Error() != "breaker: circuit open, retry after 1.5s" {
		t.Fatalf("err = %q", err)
	}
}

// TestConcurrent runs Allow/Done from many goroutines on the real clock for
// the race detector and checks the half-open slot count never goes wrong.
func TestConcurrent(t *testing.T) {
	cfg := brk(3, 0.5, 10, 2)
	cfg.OpenFor = time.Microsecond
	var changes sync.Map
	b := New(cfg, OnStateChange(func(from, to State) { changes.Store(to, true) }))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				tok, err := b.Allow()
				if err != nil {
					_ = b.Ready()
					continue
				}
				b.Done(tok, Result((i+g)%3))
			}
		})
	}
	wg.Wait()
	if n := b.probes.Load(); n < 0 || n > 2 {
		t.Fatalf("probe slots = %d", n)
	}
	if _, ok := changes.Load(open); !ok {
		t.Fatal("never opened")
	}
}
