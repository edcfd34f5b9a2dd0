package router

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/router/upstream"
	"github.com/bulwark-router/bulwark/stats"
)

// maxTargets bounds a backend's targets: the balancer tracks tried targets in
// a 64-bit set.
const maxTargets = 64

// Target is one address of a backend. Its counters are safe for concurrent use.
type Target struct {
	index int
	raw   string
	url   *url.URL

	inFlight atomic.Int64
	// down is set by active health checks; a down target leaves rotation.
	down atomic.Bool
	// requests and failures count attempts, for the status page.
	requests atomic.Uint64
	failures atomic.Uint64
	lat      latencyHist // upstream latency, for the status page (status.go)

	breaker *breaker.Breaker

	weight int64 // config weight, 1..1000
	backup bool  // serves only while no primary is ready
	cw     int64 // smooth weighted round robin's current weight; guarded by Backend.wmu
}

// String returns the target as written in the config.
func (t *Target) String() string { return t.raw }

// ready reports whether the balancer may pick t now: up by the active
// checks and its breaker not open.
func (t *Target) ready() bool { return !t.down.Load() && t.breaker.Ready() }

// Backend is a pool of targets behind one name, with its own transport.
// It is built from config and replaced, never mutated, on reload; the
// counters are safe for concurrent use.
type Backend struct {
	name    string
	cfg     *config.Backend
	targets []*Target
	policy  balancePolicy
	rr      atomic.Uint64
	// weighted is set when a target has a weight other than 1 or is a
	// backup: pick then goes through pickWeighted (weighted.go).
	weighted           bool
	primaries, backups []*Target
	wmu                sync.Mutex // guards the targets' cw

	transport http.RoundTripper
	inFlight  atomic.Int64
	// queue guards max_in_flight; nil when the backend has no cap.
	queue *admitQueue
	// breaker watches the backend as a whole (every target failing, or the
	// app answering 5xx everywhere).
	breaker *breaker.Breaker

	// nextCheck is when the active checks probe a target next, by the
	// system clock (zero when they do not); nil means unknown. Set before
	// the backend is served.
	nextCheck func(target string) time.Time
}

// Name returns the backend's config name.
func (b *Backend) Name() string { return b.name }

// stateHook reports a breaker's state change; target is "" for the
// backend-level breaker.
type stateHook func(backend, target string, from, to breaker.State)

func newBackend(name string, cfg *config.Backend, hook stateHook, now func() time.Time) (*Backend, error) {
	if len(cfg.Targets) > maxTargets {
		return nil, fmt.Errorf("at most %d targets per backend", maxTargets)
	}
	b := &Backend{name: name, cfg: cfg}
	for i, tc := range cfg.Targets {
		raw := tc.URL
		u, err := config.ParseTarget(raw)
		if err != nil {
			return nil, err
		}
		b.targets = append(b.targets, &Target{index: i, raw: raw, url: u,
			weight: int64(max(tc.Weight, 1)), backup: tc.Backup,
			breaker: breaker.New(breakerConfig(cfg.Breaker), breaker.WithClock(now),
				breaker.OnStateChange(func(from, to breaker.State) { hook(name, raw, from, to) }))})
	}
	b.setTiers()
	// A run of failures on one target (its requests in flight when it
	// dies) is that target's breaker's business; with more than one target
	// the backend as a whole trips only on the failure ratio over its window.
	bcfg := cfg.Breaker
	if len(cfg.Targets) > 1 {
		bcfg.ConsecutiveFailures = 0
	}
	b.breaker = breaker.New(breakerConfig(bcfg), breaker.WithClock(now),
		breaker.OnStateChange(func(from, to breaker.State) { hook(name, "", from, to) }))
	b.policy = balancePolicyFor(cfg.Balance)
	b.queue = newAdmitQueue(cfg, 1, 1) // the shares are set by Router.Update
	b.transport = newTransport(cfg, b.targets)
	tlsCfg, err := backendTLSConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("backend %s: tls: %w", name, err)
	}
	setBackendTLS(b.transport, tlsCfg)
	return b, nil
}

// newTransport picks the upstream client: bulwark's pooled HTTP/1.1
// transport for plain-http targets (transport: fast, the default), net/http's
// Transport for https targets or when the config says standard.
func newTransport(cfg *config.Backend, targets []*Target) http.RoundTripper {
	fast := cfg.Transport != "standard"
	for _, t := range targets {
		if t.url.Scheme != "http" {
			fast = false
		}
	}
	if !fast {
		// The head's timeout is applied per request (a route may have its
		// own): see headTimeoutTransport.
		tr := newStandardTransport(cfg, targets)
		tr.ResponseHeaderTimeout = 0
		return &headTimeoutTransport{tr: tr, d: cfg.ResponseTimeout.D()}
	}
	return upstream.New(upstream.Options{
		ConnectTimeout:        cfg.ConnectTimeout.D(),
		ResponseHeaderTimeout: cfg.ResponseTimeout.D(),
		MaxIdlePerTarget:      256,
	})
}

// newStandardTransport builds the tuned net/http transport used for a
// backend: a keep-alive pool sized for a proxy, connect and response-header
// timeouts from the config, no proxy from the environment, no compression
// (bodies pass through untouched), connections guarded against bytes sent
// after an answer (guardConn).
func newStandardTransport(cfg *config.Backend, targets []*Target) *http.Transport {
	d := &net.Dialer{Timeout: cfg.ConnectTimeout.D(), KeepAlive: 30 * time.Second}
	plain := map[string]bool{} // the addresses net/http dials for http targets
	for _, t := range targets {
		if t.url.Scheme == "http" {
			port := t.url.Port()
			if port == "" {
				port = "80"
			}
			plain[net.JoinHostPort(t.url.Hostname(), port)] = true
		}
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           guardDialer(d, plain),
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.ConnectTimeout.D(),
		ResponseHeaderTimeout: cfg.ResponseTimeout.D(),
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
		// The pooled transport's bound on answer heads, not net/http's 10 MB.
		MaxResponseHeaderBytes: upstream.DefaultMaxResponseHeaderBytes,
	}
}

// close releases the connections of a backend that left the table: idle
// ones now, busy ones when their request ends.
func (b *Backend) close() {
	switch c := b.transport.(type) {
	case interface{ Close() error }:
		c.Close()
	case interface{ CloseIdleConnections() }:
		c.CloseIdleConnections()
	}
}

// sameAs reports whether b was built from a config equal to cfg, so a reload
// can keep b (its pools, counters and breakers) as it is.
func (b *Backend) sameAs(cfg *config.Backend) bool {
	return backendConfigEqual(b.cfg, cfg)
}

// unavailable explains why no target could be picked: every ready target
// already failed (lastErr), breakers are open (503 circuit_open), or active
// checks marked them all down (503 no_target). Retry-After is the time
// until the first target may serve again, as far as it is known: its
// breaker half-opens or its next health check; at least a second.
func (b *Backend) unavailable(lastErr error) error {
	if lastErr != nil {
		return lastErr
	}
	reason := stats.NoTarget
	var wait time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (wait == 0 || d < wait) {
			wait = d
		}
	}
	for _, t := range b.targets {
		if !t.down.Load() {
			if ra := t.breaker.RetryAfter(); ra > 0 {
				reason = stats.CircuitOpen
				soonest(ra)
			}
			continue
		}
		if b.nextCheck != nil {
			if at := b.nextCheck(t.raw); !at.IsZero() {
				soonest(time.Until(at))
			}
		}
	}
	return &unavailableError{reason: reason, retryAfter: max(wait, time.Second)}
}

// breakerConfig is a backend's breaker section as the breaker takes it.
func breakerConfig(c config.Breaker) breaker.Config {
	return breaker.Config{
		ConsecutiveFailures: c.ConsecutiveFailures,
		FailureRatio:        c.FailureRatio,
		MinRequests:         c.MinRequests,
		Window:              c.Window.D(),
		OpenFor:             c.OpenFor.D(),
		HalfOpenRequests:    c.HalfOpenRequests,
		Disabled:            c.Disabled,
	}
}
