package router

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// pressureHold is how long a backend stays "under pressure" after its
// last saturation (every slot taken, or a new client turned away by its
// share): the new-client share applies meanwhile, so a flood held at its
// share does not look like a calm backend the moment it is held.
const pressureHold = int64(time.Second)

// Priority ranks, lower first, from the client's class and score (see
// ratelimit.Score). Proven, verified, new and suspect clients are below
// known: they share new_client_share of a saturated backend, proven ones
// first.
const (
	rankAllow   = iota
	rankRegular // served well before the pressure began
	rankKnown
	rankProven   // new, and solved a challenge on this request (a nonce)
	rankVerified // new, but with a score a stranger does not have
	rankNew
	rankSuspect
	numRanks
)

// verifiedScore is the new-band score from which a new client ranks as
// verified: some good answers and age, or a solved challenge.
const verifiedScore = 32

// rankOf is the rank of a client of class c with a middling score.
func rankOf(c ratelimit.Class) int { return rankFor(c, 0) }

// rankFor is the rank of a client of class c and score sc.
func rankFor(c ratelimit.Class, sc ratelimit.Score) int {
	switch c {
	case ratelimit.ClassAllowlisted:
		return rankAllow
	case ratelimit.ClassKnown:
		if sc >= ratelimit.ScoreRegular {
			return rankRegular
		}
		return rankKnown
	case ratelimit.ClassSuspect:
		return rankSuspect
	}
	if sc >= verifiedScore {
		return rankVerified
	}
	return rankNew
}

// queueVerdict is what enter decided.
type queueVerdict uint8

const (
	granted queueVerdict = iota // a slot is the caller's: leave it when done
	queued                      // wait on the waiter
	refused                     // 503 queue_full, at once
)

// waiter is one request waiting for a slot. ready is closed when it is
// granted a slot or displaced (then refused is set); both are read after
// ready is closed, or under the queue's lock.
type waiter struct {
	rank       int
	ready      chan struct{}
	granted    bool
	refused    bool
	prev, next *waiter
}

type waitList struct{ head, tail *waiter }

func (l *waitList) push(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

// admitQueue is a backend's capacity guard: at most max requests in flight
// (backends.NAME.max_in_flight); those over it wait in a bounded queue
// (queue.max_len, for at most queue.max_wait) and are refused with 503
// queue_full when it is full or the wait runs out.
//
// Under pressure (a request found every slot taken, or a new client was
// turned away, within pressureHold) the queue is a priority queue: a freed
// slot goes to allow-listed clients first, then known, new and suspect ones,
// FIFO within a class; a known client finding the queue full displaces the
// newest waiter of a lower class. And while known or allow-listed clients
// use the backend (any within pressureHold), new and suspect clients
// together may hold or wait for at most new_client_share of max slots: what
// does not fit is refused at once, not after a wait. With no known client
// around (a cold start) the share does not apply: reserving slots for
// nobody would only idle the backend. When the backend is not under
// pressure, nothing of this changes anything: every request gets a slot as
// long as one is free. new_client_share 1 turns priority off: one FIFO.
//
// Safe for concurrent use. The zero value is not usable: newAdmitQueue.
type admitQueue struct {
	mu        sync.Mutex
	max       int
	maxLen    int
	maxWait   time.Duration
	newCap    int  // slots new and suspect clients may hold or wait for
	provenCap int  // slots they may hold with proven ones among them (≥ newCap)
	priority  bool // false: share 1, one FIFO

	inFlight    int
	newInFlight int // held by new and suspect clients
	waiting     [numRanks]waitList
	nWaiting    int
	newWaiting  int
	pressureAt  int64 // last saturation, ns of the router clock; 0 never
	knownAt     int64 // last known or allow-listed request; 0 never

	// peak is the most slots ever held at once, for tests and the
	// status page; refusals counts queue_full answers.
	peak     atomic.Int64
	refusals atomic.Uint64
}

// newAdmitQueue builds the guard for a backend with max_in_flight > 0, nil
// otherwise.
func newAdmitQueue(cfg *config.Backend, share, proven float64) *admitQueue {
	if cfg.MaxInFlight <= 0 {
		return nil
	}
	q := &admitQueue{max: cfg.MaxInFlight, maxLen: cfg.Queue.MaxLen, maxWait: cfg.Queue.MaxWait.D()}
	q.setShare(share, proven)
	return q
}

// setShare applies abuse.new_client_share and abuse.challenge.share (a
// reload may change them while the backend is kept).
func (q *admitQueue) setShare(share, proven float64) {
	slots := func(share float64) int {
		n := int(math.Floor(share * float64(q.max)))
		if share > 0 && n == 0 {
			n = 1
		}
		return n
	}
	q.mu.Lock()
	q.newCap, q.priority = slots(share), share < 1
	q.provenCap = max(q.newCap, slots(proven))
	q.mu.Unlock()
}

// capOf is how many slots clients below known may hold when one of rank
// takes one under the share: proven strangers may use the slots known
// clients leave idle, up to provenCap; the others keep to newCap.
func (q *admitQueue) capOf(rank int) int {
	if rank == rankProven {
		return q.provenCap
	}
	return q.newCap
}

// belowKnown reports whether rank is a verified, new or suspect client's:
// below the known ones, which new_client_share holds back under pressure.
func belowKnown(rank int) bool { return rank >= rankProven }

// shareApplies reports whether new clients are held to their share at t:
// the backend is under pressure and known clients are using it. Called with
// q.mu held.
func (q *admitQueue) shareApplies(t int64) bool {
	return q.priority && q.knownAt != 0 && t-q.knownAt < pressureHold &&
		q.pressureAt != 0 && t-q.pressureAt < pressureHold
}

// enter asks for a slot for a client of the given rank at t (ns, the
// router's clock). granted: the slot is taken, call leave when done. queued: wait
// on w.ready (or give up with cancel). refused: answer 503 at once.
func (q *admitQueue) enter(rank int, t int64) (queueVerdict, *waiter) {
	if !q.priority {
		rank = rankNew
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !belowKnown(rank) {
		q.knownAt = t
	}
	low := q.priority && belowKnown(rank)
	q.handOff(t) // waiters first; a no-op when nobody waits
	// Waiters left with a slot free are new clients held to their share.
	// A stranger that solved a challenge waits for the share's next slot
	// where others are turned away: a flood of plain strangers, arriving
	// faster, would otherwise take every slot the share frees.
	proven := rank == rankProven
	if q.inFlight < q.max && (q.nWaiting == 0 || !low) {
		full := low && q.shareApplies(t) && q.newInFlight >= q.capOf(rank)
		if !full {
			q.take(rank)
			return granted, nil
		}
		if !proven {
			q.pressureAt = t
			return q.refuse()
		}
	}
	q.pressureAt = t
	// A full share still makes room for a better-ranked stranger (one
	// with some good answers and age) by turning away a worse one's wait.
	if low && !proven && q.shareApplies(t) && q.newInFlight+q.newWaiting >= q.newCap &&
		!(rank == rankVerified && q.displace(rank)) {
		return q.refuse()
	}
	if q.nWaiting >= q.maxLen && !q.displace(rank) {
		return q.refuse()
	}
	w := &waiter{rank: rank, ready: make(chan struct{})}
	q.waiting[rank].push(w)
	q.nWaiting++
	if low {
		q.newWaiting++
	}
	return queued, w
}

func (q *admitQueue) refuse() (queueVerdict, *waiter) {
	q.refusals.Add(1)
	return refused, nil
}

// take gives a slot to a request of rank. Called with q.mu held.
func (q *admitQueue) take(rank int) {
	q.inFlight++
	if q.priority && belowKnown(rank) {
		q.newInFlight++
	}
	if n := int64(q.inFlight); n > q.peak.Load() {
		q.peak.Store(n)
	}
}

// displace refuses the newest waiter of the lowest class below rank, to
// make room for rank. Called with q.mu held.
func (q *admitQueue) displace(rank int) bool {
	if !q.priority {
		return false
	}
	for r := numRanks - 1; r > rank; r-- {
		if w := q.waiting[r].tail; w != nil {
			q.unlink(w)
			w.refused = true
			q.refusals.Add(1)
			close(w.ready)
			return true
		}
	}
	return false
}

// unlink takes w off its list. Called with q.mu held.
func (q *admitQueue) unlink(w *waiter) {
	q.waiting[w.rank].remove(w)
	q.nWaiting--
	if q.priority && belowKnown(w.rank) {
		q.newWaiting--
	}
}

// leave gives back the slot of a request of the given rank at t and hands
// free slots to waiters, best rank first.
func (q *admitQueue) leave(rank int, t int64) {
	if !q.priority {
		rank = rankNew
	}
	q.mu.Lock()
	q.inFlight--
	if q.priority && belowKnown(rank) && q.newInFlight > 0 {
		q.newInFlight--
	}
	q.handOff(t)
	q.mu.Unlock()
}

// handOff grants free slots to waiters. Called with q.mu held.
func (q *admitQueue) handOff(t int64) {
	for q.inFlight < q.max && q.nWaiting > 0 {
		var w *waiter
		for r := range numRanks {
			if w = q.waiting[r].head; w != nil {
				break
			}
		}
		if q.priority && belowKnown(w.rank) && q.shareApplies(t) && q.newInFlight >= q.capOf(w.rank) {
			return // the rest of the slots are kept for known clients
		}
		q.unlink(w)
		q.take(w.rank)
		w.granted = true
		close(w.ready)
	}
}

// cancel withdraws a waiter that gave up (its wait ran out, or the client
// went away). It reports whether the waiter got a slot meanwhile, which the
// caller then owns (and may use or leave).
func (q *admitQueue) cancel(w *waiter) (got bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.granted || w.refused {
		return w.granted
	}
	q.unlink(w)
	return false
}

// acquire takes a slot for a client of the given rank, waiting at most
// queue.max_wait. ok false: refused (queue full, share used up, wait ran
// out, or ctx done: then err is ctx's error). waited is the time spent in
// the queue, 0 when a slot was free.
func (q *admitQueue) acquire(ctx context.Context, rank int, now func() time.Time) (ok bool, waited time.Duration, err error) {
	start := now()
	v, w := q.enter(rank, start.UnixNano())
	switch v {
	case granted:
		return true, 0, nil
	case refused:
		return false, 0, nil
	}
	timer := time.NewTimer(q.maxWait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return w.granted, now().Sub(start), nil
	case <-timer.C:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if q.cancel(w) {
		return true, now().Sub(start), nil
	}
	return false, now().Sub(start), err
}

// pressureWait is the wait in the queue that is a sign of pressure: half
// of max_wait. Shorter waits are a busy app's ordinary bursts, not a
// flood (counted as pressure, they would keep a merely busy router under
// pressure for good, and nobody would ever become a regular).
func (q *admitQueue) pressureWait() time.Duration {
	return max(q.maxWait/2, time.Nanosecond)
}
