// Package health holds bulwark's active backend checks (Checker) and the
// composite /__heartbeat__ (Heartbeat). It never imports the router: the
// router hands the Heartbeat a Probe that sends through its forwarding path.
package health

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// CheckFunc probes one target once; nil means the target passed. It must
// return when ctx ends. The default sends GET target+check.Path.
type CheckFunc func(ctx context.Context, target string, check config.Check) error

// CheckerOption configures NewChecker.
type CheckerOption func(*Checker)

// WithCheckFunc replaces the HTTP probe (tests, other protocols). Nil is
// ignored.
func WithCheckFunc(f CheckFunc) CheckerOption {
	return func(c *Checker) {
		if f != nil {
			c.check = f
		}
	}
}

// WithJitter sets how far each wait between probes may stray from Interval,
// as a fraction: 0.1 (the default) waits Interval ±10%. 0 turns jitter off;
// values are clamped to [0, 0.5].
func WithJitter(fraction float64) CheckerOption {
	return func(c *Checker) { c.jitter = min(max(fraction, 0), 0.5) }
}

// WithInitialUp sets the state of a target before its first Rise or Fall
// counts are reached. Default true: a new target takes traffic until Fall
// probes in a row fail.
func WithInitialUp(up bool) CheckerOption {
	return func(c *Checker) { c.initialUp = up }
}

// Checker runs one probing goroutine per target of every backend that has a
// health path. It is safe for concurrent use. Close stops every goroutine.
type Checker struct {
	client    *http.Client
	ownClient bool
	rec       stats.Recorder
	log       *zap.Logger
	onChange  func(backend, target string, up bool)
	check     CheckFunc
	jitter    float64
	initialUp bool

	updateMu sync.Mutex // serialises Update and Close
	wg       sync.WaitGroup

	mu      sync.Mutex
	targets map[key]*target
	closed  bool
}

type key struct{ backend, target string }

// target is one checked target. key is fixed; the rest is guarded by
// Checker.mu. The probing goroutine gets its config as an argument.
type target struct {
	key
	cfg           config.Check
	up            bool
	passes, fails int          // consecutive
	next          atomic.Int64 // unix ns of the next probe; written by the probing goroutine
	cancel        context.CancelFunc
	done          chan struct{}
}

// NewChecker returns a Checker with no targets; call Update to start. client
// nil means a client of its own (which does not follow redirects and whose
// idle connections Close closes); rec nil means stats.Nop; log nil means no
// logs. onChange, if not nil, is called after the Checker's lock is released
// whenever a target goes down or comes back; it must not call Update or
// Close.
func NewChecker(client *http.Client, rec stats.Recorder, log *zap.Logger, onChange func(backend, target string, up bool), opts ...CheckerOption) *Checker {
	c := &Checker{
		client:    client,
		rec:       rec,
		log:       log,
		onChange:  onChange,
		jitter:    0.1,
		initialUp: true,
		targets:   map[key]*target{},
	}
	if c.client == nil {
		c.client = &http.Client{
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		c.ownClient = true
	}
	if c.rec == nil {
		c.rec = stats.Nop{}
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	c.check = httpCheck(c.client)
	for _, o := range opts {
		o(c)
	}
	return c
}

// normalize fills the config defaults a hand-built Check may lack.
func normalize(ch config.Check) config.Check {
	if ch.Interval <= 0 {
		ch.Interval = config.Duration(5 * time.Second)
	}
	if ch.Timeout <= 0 {
		ch.Timeout = config.Duration(2 * time.Second)
	}
	ch.Rise, ch.Fall = max(ch.Rise, 1), max(ch.Fall, 1)
	ch.Critical = false // not the checker's business: changing it restarts nothing
	return ch
}

// Update makes the checked set match backends: targets of backends with a
// health path are checked, the rest stop. A target still present keeps its
// up/down state; if its check settings changed, its probing restarts with
// fresh Rise/Fall counts. New targets start in the initial state and are
// probed at once. Update after Close does nothing.
func (c *Checker) Update(backends map[string]*config.Backend) {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()

	want := map[key]config.Check{}
	for name, b := range backends {
		if b == nil || b.Health.Path == "" {
			continue
		}
		for _, t := range b.Targets {
			want[key{name, t.URL}] = normalize(b.Health)
		}
	}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	var stopping []chan struct{}
	var restart []*target
	for k, t := range c.targets {
		cfg, keep := want[k]
		if keep && cfg == t.cfg {
			delete(want, k) // unchanged: leave it running
			continue
		}
		t.cancel()
		stopping = append(stopping, t.done)
		if keep {
			restart = append(restart, t)
		} else {
			delete(c.targets, k)
		}
	}
	c.mu.Unlock()

	for _, done := range stopping {
		<-done
	}

	c.mu.Lock()
	for _, t := range restart {
		cfg := want[t.key]
		delete(want, t.key)
		t.cfg, t.passes, t.fails = cfg, 0, 0
		c.start(t)
	}
	added := make([]*target, 0, len(want))
	for k, cfg := range want {
		t := &target{key: k, cfg: cfg, up: c.initialUp}
		c.targets[k] = t
		c.start(t)
		added = append(added, t)
	}
	c.mu.Unlock()

	for _, t := range added {
		c.rec.BackendUp(t.backend, t.target, c.initialUp)
	}
}

// start launches t's probing goroutine. Call with mu held.
func (c *Checker) start(t *target) {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	c.wg.Add(1)
	go c.run(ctx, t, t.cfg, t.done)
}

// run probes t every cfg.Interval (±jitter) until ctx ends.
func (c *Checker) run(ctx context.Context, t *target, cfg config.Check, done chan struct{}) {
	defer c.wg.Done()
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	t.next.Store(time.Now().UnixNano())
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		pctx, cancel := context.WithTimeout(ctx, cfg.Timeout.D())
		err := c.check(pctx, t.target, cfg)
		cancel()
		c.record(ctx, t, cfg, err)
		w := c.wait(cfg.Interval.D())
		t.next.Store(time.Now().Add(w).UnixNano())
		timer.Reset(w)
	}
}

func (c *Checker) wait(interval time.Duration) time.Duration {
	if c.jitter == 0 {
		return interval
	}
	return time.Duration(float64(interval) * (1 + c.jitter*(2*rand.Float64()-1)))
}

// record applies one probe result and reports what changed after unlocking.
func (c *Checker) record(ctx context.Context, t *target, cfg config.Check, err error) {
	c.mu.Lock()
	if ctx.Err() != nil { // stopped by Update or Close meanwhile
		c.mu.Unlock()
		return
	}
	changed := false
	if err == nil {
		t.fails = 0
		t.passes++
		if !t.up && t.passes >= cfg.Rise {
			t.up, changed = true, true
		}
	} else {
		t.passes = 0
		t.fails++
		if t.up && t.fails >= cfg.Fall {
			t.up, changed = false, true
		}
	}
	up := t.up
	c.mu.Unlock()

	if err != nil {
		c.rec.HealthFail(t.backend)
		if ce := c.log.Check(zap.DebugLevel, "health check failed"); ce != nil {
			ce.Write(zap.String("backend", t.backend), zap.String("target", t.target), zap.Error(err))
		}
	}
	if !changed {
		return
	}
	c.rec.BackendUp(t.backend, t.target, up)
	if up {
		c.log.Info("target up", zap.String("backend", t.backend), zap.String("target", t.target),
			zap.Int("passes", cfg.Rise))
	} else {
		c.log.Warn("target down", zap.String("backend", t.backend), zap.String("target", t.target),
			zap.Int("failures", cfg.Fall), zap.Error(err))
	}
	if c.onChange != nil {
		c.onChange(t.backend, t.target, up)
	}
}

// Up says whether target of backend is up. Targets that are not checked
// (no health path, unknown, or after Close) are up.
func (c *Checker) Up(backend, target string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.targets[key{backend, target}]; ok {
		return t.up
	}
	return true
}

// NextCheck is when target of backend is probed next; zero when it is not
// checked.
func (c *Checker) NextCheck(backend, target string) time.Time {
	c.mu.Lock()
	t, ok := c.targets[key{backend, target}]
	c.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, t.next.Load())
}

// Close stops every probe and waits for the goroutines to end. It is
// idempotent and always returns nil.
func (c *Checker) Close() error {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for _, t := range c.targets {
		t.cancel()
	}
	clear(c.targets)
	c.mu.Unlock()
	c.wg.Wait()
	if c.ownClient {
		c.client.CloseIdleConnections()
	}
	return nil
}
