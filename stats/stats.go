package stats

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/router/breaker"
)

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("stats: closed")

// BuildInfo labels bulwark_build_info. Empty fields are exported as
// "unknown".
type BuildInfo struct {
	Version string
	Commit  string
}

// Stats is the Recorder that fans out to statsd and Prometheus. Build it
// with New; it is safe for concurrent use. Its recording methods never block
// on the network: statsd lines are buffered and sent over UDP by a goroutine
// that Close stops.
//
// statsd counters (request, response.CODE, ROUTE.API, backend.NAME.error,
// rejected.REASON) are summed in memory and sent once per flush interval
// (stats.statsd.flush_interval, default 100ms) as PREFIX.NAME:N|c, the
// count since the last flush; a name counted zero times is not sent.
// Timers (response_time, backend.NAME.latency) are sent one line per
// request, since statsd computes their percentiles from every value. Rare
// events (breaker.NAME.open, health.NAME.fail, attack.start and .stop) are
// sent at once. What a statsd daemon computes is the same either way.
type Stats struct {
	log     *zap.Logger
	reg     *prometheus.Registry
	prom    *promMetrics
	handler http.Handler
	promOn  atomic.Bool // stats.prometheus.enabled

	pairs     pairTable
	queueWait observerTable
	rules     ruleTable // per-rule matches (rules.go)

	sd atomic.Pointer[statsdSink] // nil: statsd off; read by every event
	_  [64]byte                   // keeps rejected's writes off sd's cache line
	// rejected counts PREFIX.rejected.REASON since the last statsd flush,
	// out-of-range reasons last; the other counters live in pairs.
	rejected [numReasons + 1]atomic.Int64

	bmu      sync.Mutex                  // guards breakers and attack
	breakers map[targetKey]breaker.State // last state reported per target
	attack   bool

	mu     sync.Mutex // serialises Update and Close
	closed bool

	src sources // statsd lines of parts with counts of their own
}

type targetKey struct{ backend, target string }

var _ Recorder = (*Stats)(nil)

// New builds the recorder. Metrics are registered on reg, and the Go and
// process collectors too unless reg already has them; a nil reg means a
// fresh private registry. statsd is on when cfg.Statsd.Address is set; an
// address that is not host:port is an error, but a name that does not
// resolve or a statsd that is down is not: the sender resolves and dials off
// the request path, drops and counts what it cannot send
// (bulwark_statsd_dropped_total) and logs the failure at most once a minute.
// A nil log discards logs.
func New(cfg Options, reg *prometheus.Registry, info BuildInfo, log *zap.Logger) (*Stats, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Statsd.Address != "" {
		// Before registering anything, so a failed New leaves reg as it was.
		if err := checkStatsdAddress(cfg.Statsd.Address); err != nil {
			return nil, err
		}
	}
	prom, err := newPromMetrics(reg, info)
	if err != nil {
		return nil, err
	}
	ruleVec, err := newRuleVec(reg)
	if err != nil {
		return nil, err
	}
	s := &Stats{
		log:      log,
		reg:      reg,
		prom:     prom,
		handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		breakers: map[targetKey]breaker.State{},
	}
	s.pairs.prom = prom
	s.rules.vec = ruleVec
	s.queueWait.vec = prom.queueWait
	s.promOn.Store(cfg.Prometheus)
	if cfg.Statsd.Address != "" {
		k, err := s.newSink(cfg.Statsd)
		if err != nil {
			return nil, err
		}
		s.sd.Store(k)
	}
	return s, nil
}

func (s *Stats) newSink(cfg StatsdOptions) (*statsdSink, error) {
	k, err := newStatsdSink(cfg, s.appendCounters, s.statsdDropped, s.statsdFailing(cfg.Address))
	if err != nil {
		return nil, err
	}
	s.log.Info("statsd on", zap.String("address", cfg.Address), zap.String("prefix", k.prefix))
	return k, nil
}

// appendCounters is the sinks' flush hook: it takes the counts since the
// last flush and appends their lines under prefix.
func (s *Stats) appendCounters(b []byte, prefix string) []byte {
	b = s.appendRuleLines(b, prefix)
	b = s.src.appendLines(b, prefix)
	return s.takeCounts().appendLines(b, prefix)
}

func (s *Stats) statsdDropped(n int) { s.prom.sdDropped.Add(float64(n)) }

func (s *Stats) statsdFailing(addr string) func(error, int) {
	return func(err error, n int) {
		s.log.Warn("statsd send failing; dropping packets",
			zap.String("address", addr), zap.Int("errors", n), zap.Error(err))
	}
}

// Update applies a reloaded configuration. A change of statsd address,
// prefix or flush interval replaces the statsd client: the new one is built
// first (an error leaves the old one in place), then the old one is flushed
// and closed. Counters recorded during the swap are sent by one sink or the
// other, exactly once; timer lines recorded during the swap may be dropped
// and counted. Turning statsd on again starts the counters from zero.
func (s *Stats) Update(cfg Options) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.promOn.Store(cfg.Prometheus)
	old := s.sd.Load()
	if old != nil && old.cfg == cfg.Statsd || old == nil && cfg.Statsd.Address == "" {
		return nil
	}
	var k *statsdSink
	if cfg.Statsd.Address != "" {
		var err error
		if k, err = s.newSink(cfg.Statsd); err != nil {
			return err
		}
	}
	if old == nil {
		// Drop what requests that raced the last switch-off counted.
		s.takeCounts()
	}
	s.sd.Store(k)
	if old != nil {
		if k == nil {
			s.log.Info("statsd off")
		}
		return old.close()
	}
	return nil
}

// Close flushes and stops statsd. Prometheus keeps answering. Recording
// after Close is allowed and reaches Prometheus only.
func (s *Stats) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if k := s.sd.Swap(nil); k != nil {
		return k.close()
	}
	return nil
}

// Handler serves the registry in the Prometheus exposition formats, or 404
// while stats.prometheus.enabled is false.
func (s *Stats) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.promOn.Load() {
			http.NotFound(w, r)
			return
		}
		s.handler.ServeHTTP(w, r)
	})
}

// Registry returns the registry the metrics live in.
func (s *Stats) Registry() *prometheus.Registry { return s.reg }

// LogDropped counts one log line dropped by sampling; it is the dropped
// hook to give NewLogger.
func (s *Stats) LogDropped() { s.prom.logDropped.Inc() }

// Request records one finished request. It is the hot path: one map read
// (two on per_api routes), a few atomic updates and one buffered statsd
// message of timers, no allocation and no lock but the sender's.
func (s *Stats) Request(r *Request) {
	p := s.pairs.get(r.Route, r.Backend)
	c := p.counter(codeIndex(r.Code))
	c.c.Inc()
	p.dur.Observe(r.Duration.Seconds())
	k := s.sd.Load()
	if k == nil {
		return
	}
	// Timers first: a flush reads the counters before it sends what is
	// buffered, so a count never reaches statsd before its request's timers.
	k.timers(r, p)
	c.sd.Add(1)
	if r.API != "" && p.apis != nil {
		_, n := p.apis.counter(r.API)
		n.Add(1)
	}
	if r.BackendError && p.sdBackend != "" {
		p.sdErrors.Add(1)
	}
}

// Rejected counts a refusal by reason.
func (s *Stats) Rejected(reason Reason) {
	s.prom.rejectedCounter(reason).Inc()
	if s.sd.Load() != nil {
		s.rejected[min(reason, numReasons)].Add(1)
	}
}

// BreakerState sets bulwark_circuit_state and counts
// PREFIX.breaker.BACKEND.open each time a target's breaker goes to open from
// another state (a target never reported before counts as closed).
func (s *Stats) BreakerState(backend, target string, st breaker.State) {
	k := targetKey{backend, target}
	s.bmu.Lock()
	prev, seen := s.breakers[k]
	if !seen || prev != st {
		s.breakers[k] = st
		s.prom.circuit.WithLabelValues(labelValue(backend), labelValue(target)).Set(float64(st))
	}
	s.bmu.Unlock()
	if st == breaker.StateOpen && (!seen || prev != breaker.StateOpen) {
		if sd := s.sd.Load(); sd != nil {
			sd.inc("breaker." + statsdSegment(backend) + ".open")
		}
	}
}

// BackendUp sets bulwark_backend_up.
func (s *Stats) BackendUp(backend, target string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	s.prom.backendUp.WithLabelValues(labelValue(backend), labelValue(target)).Set(v)
}

// HealthFail counts PREFIX.health.BACKEND.fail.
func (s *Stats) HealthFail(backend string) {
	if k := s.sd.Load(); k != nil {
		k.inc("health." + statsdSegment(backend) + ".fail")
	}
}

// InFlight adds delta to bulwark_in_flight_requests.
func (s *Stats) InFlight(delta int) { s.prom.inFlight.Add(int64(delta)) }

// QueueWait observes a wait in a backend's admission queue.
func (s *Stats) QueueWait(backend string, d time.Duration) {
	s.queueWait.get(backend).Observe(d.Seconds())
}

// TrackedClients sets bulwark_tracked_clients.
func (s *Stats) TrackedClients(n int) { s.prom.tracked.Set(float64(n)) }

// BansActive sets bulwark_bans_active.
func (s *Stats) BansActive(n int) { s.prom.bans.Set(float64(n)) }

// UnderAttack sets bulwark_under_attack and counts PREFIX.attack.start or
// PREFIX.attack.stop when the state changes (it starts off).
func (s *Stats) UnderAttack(on bool) {
	s.bmu.Lock()
	if s.attack == on {
		s.bmu.Unlock()
		return
	}
	s.attack = on
	v, name := 0.0, "attack.stop"
	if on {
		v, name = 1, "attack.start"
	}
	s.prom.underAttack.Set(v)
	s.bmu.Unlock()
	if k := s.sd.Load(); k != nil {
		k.inc(name)
	}
}

// Forget deletes the per-target series of a target that left the
// configuration (bulwark_backend_up, bulwark_circuit_state), so a removed
// target does not show as down forever.
func (s *Stats) Forget(backend, target string) {
	s.bmu.Lock()
	delete(s.breakers, targetKey{backend, target})
	s.prom.circuit.DeleteLabelValues(labelValue(backend), labelValue(target))
	s.bmu.Unlock()
	s.prom.backendUp.DeleteLabelValues(labelValue(backend), labelValue(target))
}
