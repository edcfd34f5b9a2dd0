package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/health"
	"github.com/bulwark-router/bulwark/limitkey"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/router/clientip"
	"github.com/bulwark-router/bulwark/rules"
	"github.com/bulwark-router/bulwark/stats"
)

// BuildInfo is what /__version__ reports.
type BuildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

// Options are a Router's collaborators. Zero values are usable: a no-op
// logger and recorder.
type Options struct {
	Logger   *zap.Logger
	Recorder stats.Recorder
	Info     BuildInfo
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Admission holds options for the per-client admission beyond the
	// config file (reputation, attack detection); nil means defaults.
	Admission []ratelimit.Option
	// AccessSampler samples the access log before a line is built, for a
	// Logger from stats.NewLogger, whose own sampling leaves access lines
	// alone; nil means every line goes to Logger.
	AccessSampler *stats.LineSampler
}

// Router is the public http.Handler. It is safe for concurrent use; Update
// swaps its table atomically while requests are in flight.
type Router struct {
	log  *zap.Logger
	rec  stats.Recorder
	info BuildInfo
	now  func() time.Time
	// realClock: now is the system's clock (clock.Now), so its readings
	// may set deadlines.
	realClock bool
	clock     clock
	bufs      *bufferPool        // the relay's copy buffers
	access    *stats.LineSampler // nil: no sampling of its own
	date      dateCache          // the front's Date field

	table    atomic.Pointer[table]
	draining atomic.Bool
	inFlight atomic.Int64
	early    atomic.Uint64 // requests the connection front refused
	h2abuse  h2Counts      // HTTP/2 connections closed for abuse, per kind
	answers  answers       // the front's refusals, formatted
	version  atomic.Uint64

	adm      *ratelimit.Admission
	rules    *rules.Engine
	classify func(netip.Addr) string // rt.classOf, made once
	// rulesFleet shares the live rules through limit_store; nil without.
	rulesFleet *rules.Fleet
	// keyedBuckets are the keyed policies' buckets (keyed.go), hasher
	// what their keys are hashed with; both change under updateMu.
	keyedBuckets map[keyedID]*limitkey.Buckets
	hasher       atomic.Pointer[limitkey.Hasher]
	keySecret    string
	// keys decides keyed buckets through limit_store (keyedstore.go); nil without.
	keys      *keyStore
	std       *standing    // reputation tokens (abuse.token)
	ch        *challenger  // abuse.challenge; nil when off
	decisions decisionRing // recent refusals, for the explain API
	checker   *health.Checker
	heartbeat *health.Heartbeat
	updateMu  sync.Mutex // serialises Update
}

// table is one generation of the configuration, compiled. It is never mutated
// after it is published.
type table struct {
	cfg      *config.Config
	version  uint64
	loadedAt time.Time
	routes   []*route
	backends map[string]*Backend
	clientIP *clientip.Extractor
	maxBody  int64
	// server.body_buffer, min_body_rate (bytes/s, 0: none) and
	// read_timeout, for request bodies (body.go).
	bodyBuffer  int64
	minBodyRate float64
	readTimeout time.Duration
	accessLog   bool
	redact      redactSet // log.redact_query
	early       bool      // server.early_refusal
	path        pathRules
}

// New builds a Router from a validated config.
func New(cfg *config.Config, opts Options) (*Router, error) {
	rt := &Router{log: opts.Logger, rec: opts.Recorder, info: opts.Info, now: opts.Now, access: opts.AccessSampler}
	if rt.log == nil {
		rt.log = zap.NewNop()
	}
	if rt.rec == nil {
		rt.rec = stats.Nop{}
	}
	if rt.now == nil {
		rt.now = rt.clock.Now
		rt.realClock = true
	}
	if rt.info.Go == "" {
		rt.info.Go = runtime.Version()
	}
	rt.bufs = newBufferPool()
	adm, err := ratelimit.New(cfg, rt.rec, rt.log.Named("admission"),
		append([]ratelimit.Option{
			ratelimit.WithClock(rt.now),
			ratelimit.WithReputation(cfg.Abuse.Reputation.KnownAfterGood, cfg.Abuse.Reputation.KnownAfterAge.D()),
			ratelimit.WithAttackDetection(cfg.Abuse.Attack.MinNewPerSecond, cfg.Abuse.Attack.Factor, cfg.Abuse.Attack.Calm.D()),
			ratelimit.WithStateFile(cfg.Abuse.StateFile),
		}, opts.Admission...)...)
	if err != nil {
		return nil, err
	}
	rt.adm = adm
	if rt.std, err = newStanding(cfg.Abuse, adm); err != nil {
		adm.Close()
		return nil, err
	}
	rt.ch = newChallenger(cfg.Abuse.Challenge, rt.std)
	rt.rules = rules.NewEngine(rt.log.Named("rules"), rt.rec, rt.now)
	rt.classify = rt.classOf
	rt.checker = health.NewChecker(nil, rt.rec, rt.log.Named("health"), rt.setTargetUp)
	rt.heartbeat = health.NewHeartbeat(rt.probe, rt.state, health.WithHeartbeatClock(rt.now))
	if err := rt.Update(cfg); err != nil {
		rt.checker.Close()
		rt.adm.Close()
		return nil, err
	}
	if err := rt.shareLiveRules(cfg); err != nil {
		rt.Close()
		return nil, fmt.Errorf("rules: %w", err)
	}
	if err := rt.openKeyStore(cfg); err != nil {
		rt.Close()
		return nil, fmt.Errorf("limit_store: %w", err)
	}
	return rt, nil
}

// Update compiles cfg and swaps it in. Backends whose config did not change
// are kept as they are (connection pools, counters); requests in flight
// finish on the table they started with; idle connections of replaced
// backends are closed.
func (rt *Router) Update(cfg *config.Config) error {
	rt.updateMu.Lock()
	defer rt.updateMu.Unlock()
	old := rt.table.Load()
	ext, err := clientip.New(cfg.ClientIP)
	if err != nil {
		return fmt.Errorf("client_ip: %w", err)
	}
	if old != nil {
		// Policies that did not change keep their buckets and bans.
		if err := rt.adm.Update(cfg); err != nil {
			return fmt.Errorf("limits: %w", err)
		}
	}
	t := &table{
		cfg:         cfg,
		version:     rt.version.Add(1),
		loadedAt:    rt.now(),
		backends:    make(map[string]*Backend, len(cfg.Backends)),
		maxBody:     int64(cfg.Server.MaxBodyBytes),
		bodyBuffer:  int64(cfg.Server.BodyBuffer),
		minBodyRate: cfg.Server.MinBodyRate.PerSecond(),
		readTimeout: cfg.Server.ReadTimeout.D(),
		clientIP:    ext,
		accessLog:   cfg.Log.Access,
		redact:      newRedactSet(cfg.Log.RedactQuery),
		early:       cfg.Server.EarlyRefusal,
		path:        compilePathRules(cfg.Server.Path),
	}
	for _, name := range cfg.BackendNames() {
		bc := cfg.Backends[name]
		if old != nil {
			if b, ok := old.backends[name]; ok && b.sameAs(bc) {
				t.backends[name] = b
				continue
			}
		}
		b, err := newBackend(name, bc, rt.breakerChanged, rt.now)
		if err != nil {
			return fmt.Errorf("backends.%s: %w", name, err)
		}
		b.nextCheck = func(target string) time.Time { return rt.checker.NextCheck(name, target) }
		t.backends[name] = b
	}
	for _, b := range t.backends {
		if b.queue != nil {
			b.queue.setShare(cfg.Abuse.NewClientShare, cfg.Abuse.Challenge.Share)
		}
	}
	keyed, err := rt.compileRoutes(cfg, t)
	if err != nil {
		return err
	}
	// New targets start as the active checks last saw them.
	for name, b := range t.backends {
		for _, tg := range b.targets {
			tg.down.Store(!rt.checker.Up(name, tg.raw))
		}
	}
	if err := rt.rules.Update(cfg); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	rt.keyedBuckets = keyed
	rt.declareSeries(t, old)
	rt.table.Store(t)
	rt.checker.Update(cfg.Backends)
	rt.heartbeat.Update(cfg)
	if old != nil {
		for name, b := range old.backends {
			if t.backends[name] != b {
				b.close()
				rt.forgetRemovedTargets(b, t.backends[name])
			}
		}
	}
	return nil
}

// compileRoutes fills t's routes from cfg, with their limit policies, and
// returns the keyed policies' buckets (keyed.go). Called under updateMu.
func (rt *Router) compileRoutes(cfg *config.Config, t *table) (map[keyedID]*limitkey.Buckets, error) {
	if h := rt.hasher.Load(); h == nil || rt.keySecret != cfg.Abuse.KeySecret {
		rt.hasher.Store(limitkey.NewHasher([]byte(cfg.Abuse.KeySecret)))
		rt.keySecret = cfg.Abuse.KeySecret
	}
	keyed := map[keyedID]*limitkey.Buckets{}
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		b := t.backends[rc.Backend]
		if b == nil {
			return nil, fmt.Errorf("routes[%d].backend: unknown backend %q", i, rc.Backend)
		}
		rte := compileRoute(i, rc, b)
		rte.limit = rt.adm.Policy(rte.policy)
		if rte.keyed = rt.keyedFor(cfg, rte.policy, keyed); rte.keyed != nil {
			rte.limit = nil // no per-client bucket: the key's
			if rte.auth {
				rte.keyed = rt.withFailures(cfg, rte.keyed, rte.name, keyed)
			}
		}
		rte.inspect = inspectOf(cfg, rc, rte.keyed)
		t.routes = append(t.routes, rte)
	}
	return keyed, nil
}

// setTargetUp is the active checks' verdict on a target. The checker logs
// the change, with its cause.
func (rt *Router) setTargetUp(backend, target string, up bool) {
	t := rt.table.Load()
	if t == nil {
		return
	}
	if b := t.backends[backend]; b != nil {
		for _, tg := range b.targets {
			if tg.raw == target {
				tg.down.Store(!up)
			}
		}
	}
}

// breakerChanged logs a breaker's state change once and reports it.
func (rt *Router) breakerChanged(backend, target string, from, to breaker.State) {
	rt.rec.BreakerState(backend, target, to)
	lvl := zap.InfoLevel
	if to == breaker.StateOpen {
		lvl = zap.WarnLevel
	}
	if ce := rt.log.Check(lvl, "breaker "+to.String()); ce != nil {
		ce.Write(zap.String("backend", backend), zap.String("target", target),
			zap.Stringer("from", from))
	}
}

// state is the router's own condition for the composite heartbeat.
func (rt *Router) state() health.RouterState {
	ov := rt.adm.Snapshot(0).Overload
	return health.RouterState{
		ConfigLoaded: rt.table.Load() != nil,
		Draining:     rt.draining.Load(),
		Overloaded:   ov.Saturated,
		UnderAttack:  rt.adm.UnderAttack(),
	}
}

// Admission returns the per-client admission the router applies.
func (rt *Router) Admission() *ratelimit.Admission { return rt.adm }

// Close stops the active health checks and releases idle upstream
// connections.
func (rt *Router) Close() error {
	if rt.rulesFleet != nil {
		rt.rulesFleet.Close()
	}
	if rt.keys != nil {
		rt.keys.s.Close()
	}
	rt.checker.Close()
	rt.adm.Close()
	if t := rt.table.Load(); t != nil {
		for _, b := range t.backends {
			b.close()
		}
	}
	return nil
}

// SetDraining turns /__lbheartbeat__ to 503 so load balancers stop sending.
func (rt *Router) SetDraining(on bool) { rt.draining.Store(on) }

// Draining reports whether the router is draining.
func (rt *Router) Draining() bool { return rt.draining.Load() }

// InFlight is the number of requests being served.
func (rt *Router) InFlight() int64 { return rt.inFlight.Load() }

// Config returns the config currently served.
func (rt *Router) Config() *config.Config { return rt.table.Load().cfg }

// route returns the first route matching a request of method for host and
// path (decoded and, unless server.path.normalize is off, normalised), nil
// when none does.
func (t *table) route(method, host, path string) *route {
	for _, rte := range t.routes {
		if rte.match(method, host, path) {
			return rte
		}
	}
	return nil
}

func backendConfigEqual(a, b *config.Backend) bool { return reflect.DeepEqual(a, b) }

func (rt *Router) serveVersion(w http.ResponseWriter) {
	b, _ := json.Marshal(rt.info)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func (rt *Router) serveLBHeartbeat(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	if rt.draining.Load() {
		writeSmall(w, http.StatusServiceUnavailable, "draining")
		return
	}
	writeSmall(w, http.StatusOK, "ok")
}
