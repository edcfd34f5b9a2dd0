package router

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// queueRecorder counts refusals and keeps queue waits.
type queueRecorder struct {
	reasonCounter
	wmu   sync.Mutex
	waits map[string][]time.Duration
}

func (r *queueRecorder) QueueWait(backend string, d time.Duration) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.waits == nil {
		r.waits = map[string][]time.Duration{}
	}
	r.waits[backend] = append(r.waits[backend], d)
}

// TestBackendQueue: over max_in_flight a request waits in the backend's
// queue and goes through when a slot frees; past queue.max_len the router
// answers 503 queue_full with Retry-After at once. The backend never sees
// more than max_in_flight.
func TestBackendQueue(t *testing.T) {
	fb := newFaultyBackend(t)
	defer fb.releaseAll()
	fb.set(t, holding)
	rec := &queueRecorder{}
	srv, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], max_in_flight: 1, queue: {max_len: 1, max_wait: 10s}}
routes: [{backend: app}]
`, fb.url), Options{Recorder: rec})
	c := testClient(t)
	results := make(chan answer, 2)
	go func() { results <- send(c, base+"/") }()
	select {
	case <-fb.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request never reached the backend")
	}
	go func() { results <- send(c, base+"/") }()
	q := srv.Router().table.Load().backends["app"].queue
	for deadline := time.Now().Add(5 * time.Second); ; runtime.Gosched() {
		q.mu.Lock()
		n := q.nWaiting
		q.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second request never queued")
		}
	}
	a := send(c, base+"/")
	if a.code != http.StatusServiceUnavailable || a.hdr.Get("Retry-After") != "1" || a.took > maxRefusal {
		t.Fatalf("over max_len: %v Retry-After=%q, want 503 at once", a, a.hdr.Get("Retry-After"))
	}
	fb.releaseAll()
	for range 2 {
		if a := <-results; a.code != http.StatusOK {
			t.Fatalf("held or queued request: %v", a)
		}
	}
	if got := fb.hits.Load(); got != 2 {
		t.Fatalf("backend saw %d requests, want 2", got)
	}
	if got := q.peak.Load(); got != 1 {
		t.Fatalf("%d requests at once on the backend, max_in_flight 1", got)
	}
	if got := rec.count(stats.QueueFull); got != 1 {
		t.Fatalf("queue_full refusals: %d, want 1", got)
	}
	rec.wmu.Lock()
	defer rec.wmu.Unlock()
	if w := rec.waits["app"]; len(w) != 1 || w[0] <= 0 {
		t.Fatalf("queue waits recorded: %v, want one", w)
	}
}
