package health

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/bulwark-router/bulwark/config"
)

// ProbeResult is what one heartbeat probe of a backend's health path saw.
// The zero value is "no answer, no error": it fails.
type ProbeResult struct {
	Status  int           // HTTP status; 0 when no answer came
	Body    string        // a short excerpt of the answer's body (the Heartbeat keeps 256 bytes)
	Err     string        // why no answer came, "" otherwise
	Latency time.Duration // from sending to the answer (or the error)
	// Targets are the backend's targets as the router saw them at the probe.
	Targets []TargetState
}

// TargetState is one target of a probed backend.
type TargetState struct {
	URL     string
	Up      bool   // by the active health checks (true when they are off)
	Breaker string // closed, half-open or open
}

// OK says whether the probe passed: a 2xx answer and no error.
func (r ProbeResult) OK() bool { return r.Err == "" && r.Status >= 200 && r.Status < 300 }

// Probe sends backend's own health path through the router's forwarding path.
// It must return when ctx ends (ctx carries health.timeout).
type Probe func(ctx context.Context, backend string) ProbeResult

// RouterState is the router's own condition, read on every heartbeat request
// (never cached). Draining or a missing config make the heartbeat "error";
// Overloaded and UnderAttack only "warning": the load balancer must not take
// the whole fleet out because it is under attack.
type RouterState struct {
	ConfigLoaded bool
	Draining     bool
	Overloaded   bool
	UnderAttack  bool
}

// HeartbeatOption configures NewHeartbeat.
type HeartbeatOption func(*Heartbeat)

// WithHeartbeatClock replaces time.Now for the result cache. Nil is ignored.
func WithHeartbeatClock(now func() time.Time) HeartbeatOption {
	return func(h *Heartbeat) {
		if now != nil {
			h.now = now
		}
	}
}

// Heartbeat is the /__heartbeat__ handler (also /__heartbeat__?deep, same
// meaning). It probes every backend that has a health path (critical ones
// decide between ok and error, the others between ok and warning), caches the
// results for health.cache_ttl and coalesces concurrent callers, so a flood
// of heartbeat requests reaches each backend at most once per cache_ttl. It
// starts no goroutine that outlives a request and is safe for concurrent use.
type Heartbeat struct {
	probe Probe
	state func() RouterState
	now   func() time.Time

	cfg   atomic.Pointer[hbConfig]
	group singleflight.Group

	mu    sync.Mutex
	cache *probeSet // last results, nil before the first
}

// hbConfig is what the Heartbeat needs from a config.Config.
type hbConfig struct {
	gen      uint64
	backends []hbBackend // by name
	ttl      time.Duration
	timeout  time.Duration
	summary  bool // health.details: summary
}

type hbBackend struct {
	name     string
	critical bool
}

// probeSet is one round of probes, in hbConfig.backends order.
type probeSet struct {
	gen     uint64
	at      time.Time // when the round finished
	results []ProbeResult
}

// NewHeartbeat returns a Heartbeat with no backends until Update. probe nil
// means no backend is probed; state nil means "config loaded, serving"
// once Update has been called.
func NewHeartbeat(probe Probe, state func() RouterState, opts ...HeartbeatOption) *Heartbeat {
	h := &Heartbeat{probe: probe, state: state, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.cfg.Store(&hbConfig{ttl: time.Second, timeout: 3 * time.Second})
	return h
}

// Update switches to cfg's backends, cache_ttl and timeout. Cached results of
// the previous config are dropped.
func (h *Heartbeat) Update(cfg *config.Config) {
	next := &hbConfig{gen: h.cfg.Load().gen + 1, ttl: cfg.Health.CacheTTL.D(), timeout: cfg.Health.Timeout.D(),
		summary: cfg.Health.Details == "summary"}
	if next.timeout <= 0 {
		next.timeout = 3 * time.Second
	}
	for _, name := range cfg.BackendNames() {
		if b := cfg.Backends[name]; b != nil && b.Health.Path != "" {
			next.backends = append(next.backends, hbBackend{name: name, critical: b.Health.Critical})
		}
	}
	h.cfg.Store(next)
}

// results returns fresh-enough probe results for cfg, probing if needed.
// Concurrent callers share one round.
func (h *Heartbeat) results(cfg *hbConfig) *probeSet {
	if ps := h.cached(cfg); ps != nil {
		return ps
	}
	v, _, _ := h.group.Do(strconv.FormatUint(cfg.gen, 10), func() (any, error) {
		if ps := h.cached(cfg); ps != nil { // a round finished while we queued
			return ps, nil
		}
		ps := h.probeAll(cfg)
		h.mu.Lock()
		if h.cache == nil || h.cache.gen <= ps.gen {
			h.cache = ps
		}
		h.mu.Unlock()
		return ps, nil
	})
	return v.(*probeSet)
}

func (h *Heartbeat) cached(cfg *hbConfig) *probeSet {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ps := h.cache; ps != nil && ps.gen == cfg.gen && h.now().Sub(ps.at) < cfg.ttl {
		return ps
	}
	return nil
}

// probeAll probes every backend at once, bounded by cfg.timeout. The round is
// detached from any one request: a caller that leaves does not fail the
// others waiting on it.
func (h *Heartbeat) probeAll(cfg *hbConfig) *probeSet {
	ps := &probeSet{gen: cfg.gen, results: make([]ProbeResult, len(cfg.backends))}
	if h.probe != nil && len(cfg.backends) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
		var wg sync.WaitGroup
		for i, b := range cfg.backends {
			wg.Go(func() { ps.results[i] = h.probe(ctx, b.name) })
		}
		wg.Wait()
		cancel()
	}
	for i := range ps.results {
		if h.probe == nil {
			ps.results[i].Err = "no probe configured"
		}
		ps.results[i].Body = excerpt(ps.results[i].Body)
	}
	ps.at = h.now()
	return ps
}

// ServeHTTP answers GET and HEAD with the JSON report: 200 for ok and
// warning, 503 for error.
func (h *Heartbeat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cfg := h.cfg.Load()
	st := RouterState{ConfigLoaded: cfg.gen > 0}
	if h.state != nil {
		st = h.state()
	}
	rep := buildReport(cfg, h.results(cfg), st)
	body := rep.encode()
	code := http.StatusOK
	if rep.Status == levelError {
		code = http.StatusServiceUnavailable
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
