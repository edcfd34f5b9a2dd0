package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

const (
	allow   = ratelimit.ClassAllowlisted
	known   = ratelimit.ClassKnown
	newC    = ratelimit.ClassNew
	suspect = ratelimit.ClassSuspect
)

// qstep is one event at a fixed instant (ms) and what the queue looks like
// after it: "in=N new=N wait=N" plus the waiters granted or displaced by it.
type qstep struct {
	at    int64 // ms
	op    string
	id    string // waiter name for enter and cancel
	class ratelimit.Class
	give  string // enter: granted|queued|refused
	state string
	woken string // waiters whose ready closed in this step, "id+" granted, "id-" refused
}

func runQueueSteps(t *testing.T, q *admitQueue, steps []qstep) {
	t.Helper()
	waiters := map[string]*waiter{}
	woke := map[string]bool{}
	for i, s := range steps {
		ns := (s.at + 1000) * int64(time.Millisecond)
		switch s.op {
		case "enter":
			v, w := q.enter(rankOf(s.class), ns)
			if got := []string{"granted", "queued", "refused"}[v]; got != s.give {
				t.Fatalf("step %d (%s %s): got %s, want %s", i, s.op, s.id, got, s.give)
			}
			if w != nil {
				waiters[s.id] = w
			}
		case "leave":
			q.leave(rankOf(s.class), ns)
		case "cancel":
			q.cancel(waiters[s.id])
		}
		var now []string
		for id, w := range waiters {
			select {
			case <-w.ready:
				if !woke[id] {
					woke[id] = true
					now = append(now, id+map[bool]string{true: "+", false: "-"}[w.granted])
				}
			default:
			}
		}
		slices.Sort(now)
		if got := strings.Join(now, ","); got != s.woken {
			t.Fatalf("step %d (%s %s): woken %q, want %q", i, s.op, s.id, got, s.woken)
		}
		q.mu.Lock()
		got := fmt.Sprintf("in=%d new=%d wait=%d", q.inFlight, q.newInFlight, q.nWaiting)
		q.mu.Unlock()
		if got != s.state {
			t.Fatalf("step %d (%s %s): %s, want %s", i, s.op, s.id, got, s.state)
		}
	}
}

func testQueue(share float64) *admitQueue {
	return newAdmitQueue(&config.Backend{MaxInFlight: 4,
		Queue: config.Queue{MaxLen: 3, MaxWait: config.Duration(100 * time.Millisecond)}}, share, share)
}

func TestQueueSteps(t *testing.T) {
	tests := []struct {
		name  string
		share float64
		steps []qstep
	}{
		{"nothing saturated: new clients use every slot", 0.5, []qstep{
			{0, "enter", "k", known, "granted", "in=1 new=0 wait=0", ""},
			{1, "enter", "a", newC, "granted", "in=2 new=1 wait=0", ""},
			{2, "enter", "b", newC, "granted", "in=3 new=2 wait=0", ""},
			{3, "enter", "c", newC, "granted", "in=4 new=3 wait=0", ""},
			// Saturated with a known client around: new ones are over their
			// share (2 of 4), refused at once.
			{4, "enter", "d", newC, "refused", "in=4 new=3 wait=0", ""},
			// A known client waits and gets the next slot.
			{5, "enter", "k2", known, "queued", "in=4 new=3 wait=1", ""},
			{6, "leave", "", newC, "", "in=4 new=2 wait=0", "k2+"},
			// Under pressure, a free slot is not for a new client over its
			// share ...
			{7, "leave", "", newC, "", "in=3 new=1 wait=0", ""},
			{8, "enter", "e", newC, "granted", "in=4 new=2 wait=0", ""},
			{9, "leave", "", known, "", "in=3 new=2 wait=0", ""},
			{10, "enter", "f", newC, "refused", "in=3 new=2 wait=0", ""},
			// ... until the pressure has been gone for a second.
			{1011, "enter", "g", newC, "granted", "in=4 new=3 wait=0", ""},
		}},
		{"priority: allow-listed, known, new, suspect; displacement", 0.5, []qstep{
			{0, "enter", "k1", known, "granted", "in=1 new=0 wait=0", ""},
			{0, "enter", "k2", known, "granted", "in=2 new=0 wait=0", ""},
			{0, "enter", "k3", known, "granted", "in=3 new=0 wait=0", ""},
			{0, "enter", "k4", known, "granted", "in=4 new=0 wait=0", ""},
			{1, "enter", "s", suspect, "queued", "in=4 new=0 wait=1", ""},
			{2, "enter", "n", newC, "queued", "in=4 new=0 wait=2", ""},
			{3, "enter", "n2", newC, "refused", "in=4 new=0 wait=2", ""}, // share: 2 waiting
			{4, "enter", "a", allow, "queued", "in=4 new=0 wait=3", ""},
			// The queue is full: a known client displaces the suspect.
			{5, "enter", "k5", known, "queued", "in=4 new=0 wait=3", "s-"},
			{6, "enter", "k6", known, "queued", "in=4 new=0 wait=3", "n-"},
			{7, "enter", "k7", known, "refused", "in=4 new=0 wait=3", ""},
			{8, "leave", "", known, "", "in=4 new=0 wait=2", "a+"},
			{9, "leave", "", known, "", "in=4 new=0 wait=1", "k5+"},
			{10, "cancel", "k6", 0, "", "in=4 new=0 wait=0", ""},
		}},
		{"share 1: one FIFO, no displacement", 1, []qstep{
			{0, "enter", "n1", newC, "granted", "in=1 new=0 wait=0", ""},
			{0, "enter", "n2", newC, "granted", "in=2 new=0 wait=0", ""},
			{0, "enter", "k1", known, "granted", "in=3 new=0 wait=0", ""},
			{0, "enter", "n3", newC, "granted", "in=4 new=0 wait=0", ""},
			{1, "enter", "s", suspect, "queued", "in=4 new=0 wait=1", ""},
			{2, "enter", "n", newC, "queued", "in=4 new=0 wait=2", ""},
			{3, "enter", "k", known, "queued", "in=4 new=0 wait=3", ""},
			{4, "enter", "a", allow, "refused", "in=4 new=0 wait=3", ""},
			{5, "leave", "", newC, "", "in=4 new=0 wait=2", "s+"},
			{6, "leave", "", newC, "", "in=4 new=0 wait=1", "n+"},
		}},
		{"cold start: no known client, no share", 0.5, []qstep{
			{0, "enter", "n1", newC, "granted", "in=1 new=1 wait=0", ""},
			{0, "enter", "n2", newC, "granted", "in=2 new=2 wait=0", ""},
			{0, "enter", "n3", newC, "granted", "in=3 new=3 wait=0", ""},
			{0, "enter", "n4", newC, "granted", "in=4 new=4 wait=0", ""},
			{1, "enter", "a", newC, "queued", "in=4 new=4 wait=1", ""},
			{2, "enter", "b", suspect, "queued", "in=4 new=4 wait=2", ""},
			{3, "enter", "c", newC, "queued", "in=4 new=4 wait=3", ""},
			{4, "enter", "d", newC, "queued", "in=4 new=4 wait=3", "b-"}, // displaces the suspect
			{5, "leave", "", newC, "", "in=4 new=4 wait=2", "a+"},
			// The first known client: new ones are held to their share
			// from now on, and it goes first.
			{6, "enter", "k", known, "queued", "in=4 new=4 wait=3", ""},
			{7, "leave", "", newC, "", "in=4 new=3 wait=2", "k+"},
			{8, "leave", "", newC, "", "in=3 new=2 wait=2", ""},
			{9, "leave", "", newC, "", "in=3 new=2 wait=1", "c+"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runQueueSteps(t, testQueue(tt.share), tt.steps)
		})
	}
}

func TestQueueAcquireWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := testQueue(0.5)
		for range 4 {
			if ok, _, _ := q.acquire(t.Context(), rankOf(known), time.Now); !ok {
				t.Fatal("slot refused")
			}
		}
		// Full: the wait runs out after max_wait.
		ok, waited, err := q.acquire(t.Context(), rankOf(known), time.Now)
		if ok || err != nil || waited != 100*time.Millisecond {
			t.Fatalf("got %v %v %v, want a refusal after 100ms", ok, waited, err)
		}
		// A slot freed during the wait is taken.
		go func() {
			time.Sleep(30 * time.Millisecond)
			q.leave(rankOf(known), time.Now().UnixNano())
		}()
		ok, waited, _ = q.acquire(t.Context(), rankOf(known), time.Now)
		if !ok || waited != 30*time.Millisecond {
			t.Fatalf("got %v %v, want a slot after 30ms", ok, waited)
		}
		// A client that goes away leaves the queue.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		ok, _, err = q.acquire(ctx, rankOf(known), time.Now)
		if ok || err == nil {
			t.Fatalf("got %v %v, want the context's error", ok, err)
		}
		if q.nWaiting != 0 {
			t.Fatalf("%d waiters left", q.nWaiting)
		}
	})
}
