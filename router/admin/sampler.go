// Package admin serves bulwark's live status: /admin/api/status (JSON) and
// the /admin/ page that shows it. A Sampler goroutine reads the router's
// atomic counters once a second, off the request path, and keeps five
// minutes of history; the handlers only read what it kept.
package admin

import (
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/router"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/stats"
)

// Sampler owns the goroutine that samples a Server's router every second.
// Its methods are safe for concurrent use; Close stops it.
type Sampler struct {
	srv     *router.Server
	rt      *router.Router
	rec     *Recorder
	now     func() time.Time
	started time.Time

	mu       sync.Mutex // guards everything below
	last     time.Time  // when the last sample was taken; zero before the first
	buf      []router.BackendStatus
	backends map[string]*backendHist
	refusals series // all refusals, per second
	reasons  [maxReasons]series
	prevRej  [maxReasons]uint64

	stop chan struct{}
	done chan struct{}
}

// backendHist is what the sampler remembers about one backend.
type backendHist struct {
	cur     router.BackendStatus
	req     series // attempts per second, all targets
	errs    series // failed attempts per second
	brk     breakerHist
	targets map[string]*targetHist
}

// targetHist is what the sampler remembers about one target.
type targetHist struct {
	cur       router.TargetStatus
	prevReq   uint64
	prevFail  uint64
	req, errs series
	lat       latRing
	brk       breakerHist
}

// breakerHist tracks how long a breaker has been in its state.
type breakerHist struct {
	state breaker.State
	since time.Time
	seen  bool
}

// Option configures a Sampler.
type Option func(*Sampler)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Sampler) { s.now = now } }

// WithStarted sets the process start time reported as uptime's origin
// (default: when the Sampler was built).
func WithStarted(t time.Time) Option { return func(s *Sampler) { s.started = t } }

// NewSampler starts sampling srv's router every second. rec may be nil
// (refusals and breaker change times then go unreported); when set it must
// be the Recorder the router was built with.
func NewSampler(srv *router.Server, rec *Recorder, opts ...Option) *Sampler {
	s := newSampler(srv, rec, opts...)
	go s.run()
	return s
}

// newSampler takes the first sample; the caller drives the rest.
func newSampler(srv *router.Server, rec *Recorder, opts ...Option) *Sampler {
	s := &Sampler{srv: srv, rt: srv.Router(), rec: rec, now: time.Now,
		backends: map[string]*backendHist{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.started.IsZero() {
		s.started = s.now()
	}
	s.sample(s.now())
	return s
}

func (s *Sampler) run() {
	defer close(s.done)
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tk.C:
			s.sample(s.now())
		}
	}
}

// Close stops the sampler and waits for its goroutine. It may be called
// more than once.
func (s *Sampler) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}

// sample reads the router's counters at now and adds one second of history.
func (s *Sampler) sample(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.last.IsZero()
	elapsed := now.Sub(s.last).Seconds()
	if first || elapsed <= 0 {
		elapsed = 1
	}
	s.last = now
	s.buf = s.rt.Status(s.buf[:0])
	seen := make(map[string]bool, len(s.buf))
	for i := range s.buf {
		bs := &s.buf[i]
		seen[bs.Name] = true
		bh := s.backends[bs.Name]
		if bh == nil {
			bh = &backendHist{targets: map[string]*targetHist{}}
			s.backends[bs.Name] = bh
		}
		bh.cur = *bs
		s.trackBreaker(&bh.brk, bs.Name, "", bs.Breaker, now)
		var req, errs float64
		tseen := make(map[string]bool, len(bs.Targets))
		for j := range bs.Targets {
			ts := &bs.Targets[j]
			tseen[ts.URL] = true
			th := bh.targets[ts.URL]
			if th == nil || ts.Requests < th.prevReq || ts.Failures < th.prevFail {
				// New, or rebuilt by a reload: start its history now.
				th = &targetHist{prevReq: ts.Requests, prevFail: ts.Failures}
				bh.targets[ts.URL] = th
			} else {
				r := float64(ts.Requests-th.prevReq) / elapsed
				e := float64(ts.Failures-th.prevFail) / elapsed
				th.req.add(r)
				th.errs.add(e)
				req += r
				errs += e
			}
			th.prevReq, th.prevFail = ts.Requests, ts.Failures
			th.cur = *ts
			th.lat.add(&ts.Latency)
			s.trackBreaker(&th.brk, bs.Name, ts.URL, ts.Breaker, now)
		}
		for url := range bh.targets {
			if !tseen[url] {
				delete(bh.targets, url)
			}
		}
		if !first {
			bh.req.add(req)
			bh.errs.add(errs)
		}
	}
	for name := range s.backends {
		if !seen[name] {
			delete(s.backends, name)
		}
	}
	if s.rec != nil {
		var total float64
		for r := range maxReasons {
			n := s.rec.Rejections(stats.Reason(r))
			if !first {
				d := float64(n-s.prevRej[r]) / elapsed
				s.reasons[r].add(d)
				total += d
			}
			s.prevRej[r] = n
		}
		if !first {
			s.refusals.add(total)
		}
	}
}

// trackBreaker notes a breaker's state at now, taking the exact change time
// from the recorder when it saw the change.
func (s *Sampler) trackBreaker(h *breakerHist, backend, target string, st breaker.State, now time.Time) {
	if h.seen && h.state == st {
		return
	}
	h.state, h.since, h.seen = st, now, true
	if s.rec != nil {
		if at, ok := s.rec.lastChange(backend, target, st); ok && !at.After(now) {
			h.since = at
		}
	}
}
