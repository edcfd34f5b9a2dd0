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
	q := newAdmitQueue(&config.Backend{MaxInFlight: 4, Queue: config.Queue{MaxLen: 8}}, 0.99, 0.99)
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
	q := newAdmitQueue(&config.Backend{MaxInFlight: 4, Queue: config.Queue{MaxLen: 8}}, 0.25, 0.25)
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

// Strangers who solved a challenge may use the slots known clients leave
// idle, up to abuse.challenge.share, where plain strangers keep to
// new_client_share; known clients still take the next freed slot first.
func TestQueueProvenShare(t *testing.T) {
	q := newAdmitQueue(&config.Backend{MaxInFlight: 8, Queue: config.Queue{MaxLen: 8}}, 0.25, 0.75)
	ms := func(n int64) int64 { return (1000 + n) * 1e6 }
	for range 8 {
		if v, _ := q.enter(rankKnown, ms(0)); v != granted {
			t.Fatal("known not granted")
		}
	}
	if v, _ := q.enter(rankKnown, ms(0)); v != queued { // saturated: pressure
		t.Fatalf("known on a full backend: %v, want queued", v)
	}
	for range 8 { // the first to the waiter: one known client is left
		q.leave(rankKnown, ms(0))
	}
	for i := range 2 { // the plain share: 2 of 8
		if v, _ := q.enter(rankNew, ms(1)); v != granted {
			t.Fatalf("plain stranger %d: %v, want granted", i, v)
		}
	}
	if v, _ := q.enter(rankNew, ms(1)); v != refused {
		t.Fatalf("a plain stranger past its share: %v, want refused", v)
	}
	for i := range 4 { // proven ones up to 6 of 8, with the plain ones
		if v, _ := q.enter(rankProven, ms(2)); v != granted {
			t.Fatalf("proven stranger %d: %v, want granted", i, v)
		}
	}
	v, proven := q.enter(rankProven, ms(3))
	if v != queued {
		t.Fatalf("a proven stranger past the proven share: %v, want queued", v)
	}
	if v, _ := q.enter(rankKnown, ms(3)); v != granted {
		t.Fatalf("known with a slot left: %v, want granted", v)
	}
	v, known := q.enter(rankKnown, ms(4))
	if v != queued {
		t.Fatalf("known on a full backend: %v, want queued", v)
	}
	q.leave(rankProven, ms(5))
	if !known.granted || proven.granted {
		t.Fatalf("a freed slot: known granted %v, proven granted %v; want the known one first", known.granted, proven.granted)
	}
	q.leave(rankProven, ms(6))
	if !proven.granted {
		t.Fatal("the next freed slot did not go to the waiting proven stranger")
	}
}
