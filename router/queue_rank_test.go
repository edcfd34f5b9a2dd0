package router

import (
	"testing"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// Under pressure a freed slot goes by score: a regular (served before the
// pressure began) before a known client, a verified stranger before a
// plain one.
func TestQueueRanksByScore(t *testing.T) {
	q := newAdmitQueue(&config.Backend{MaxInFlight: 4, Queue: config.Queue{MaxLen: 8}}, 0.99)
	ms := func(n int64) int64 { return (1000 + n) * 1e6 }
	for range 4 {
		if v, _ := q.enter(rankFor(ratelimit.ClassKnown, 150), ms(0)); v != granted {
			t.Fatal("first requests not granted")
		}
	}
	order := []struct {
		name  string
		class ratelimit.Class
		score ratelimit.Score
	}{
		{"new", ratelimit.ClassNew, 10},
		{"verified", ratelimit.ClassNew, 60},
		{"known", ratelimit.ClassKnown, 140},
		{"regular", ratelimit.ClassKnown, 200},
	}
	ws := map[string]*waiter{}
	for i, o := range order {
		v, w := q.enter(rankFor(o.class, o.score), ms(int64(i+1)))
		if v != queued {
			t.Fatalf("%s: %v, want queued", o.name, v)
		}
		ws[o.name] = w
	}
	for i, want := range []string{"regular", "known", "verified", "new"} {
		q.leave(rankKnown, ms(int64(10+i)))
		w := ws[want]
		select {
		case <-w.ready:
		default:
			t.Fatalf("slot %d: %s not granted", i, want)
		}
		if !w.granted {
			t.Fatalf("slot %d: %s refused", i, want)
		}
		delete(ws, want)
	}
}

// With the new-client share used up, a stranger that solved a challenge
// waits for the share's next slot; plain strangers, however many and
// however well they score, are turned away and cannot take it first.
func TestQueueProvenWaitsForShare(t *testing.T) {
	q := newAdmitQueue(&config.Backend{MaxInFlight: 4, Queue: config.Queue{MaxLen: 8}}, 0.25)
	ms := func(n int64) int64 { return (1000 + n) * 1e6 }
	for range 3 {
		if v, _ := q.enter(rankKnown, ms(0)); v != granted {
			t.Fatal("known not granted")
		}
	}
	if v, _ := q.enter(rankNew, ms(1)); v != granted {
		t.Fatal("the share's one slot not granted")
	}
	if v, _ := q.enter(rankKnown, ms(2)); v != queued { // saturated: pressure
		t.Fatalf("known on a full backend: %v, want queued", v)
	}
	q.leave(rankKnown, ms(2)) // to the known waiter
	q.leave(rankKnown, ms(2)) // a slot free, the share used up
	v, proven := q.enter(rankProven, ms(3))
	if v != queued {
		t.Fatalf("proven stranger: %v, want queued", v)
	}
	for _, r := range []int{rankNew, rankVerified} {
		if v, _ := q.enter(r, ms(4)); v != refused {
			t.Fatalf("rank %d with the share used up and a proven one waiting: %v, want refused", r, v)
		}
	}
	q.leave(rankNew, ms(5))
	if !proven.granted {
		t.Fatal("the share's freed slot did not go to the proven stranger")
	}
}
