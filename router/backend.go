package router

import (
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
)

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
}

// URL returns the target as written in the config.
func (t *Target) String() string { return t.raw }

// ready reports whether the balancer may pick t now.
func (t *Target) ready() bool { return !t.down.Load() }

// Backend is a pool of targets behind one name, with its own transport.
// It is built from config and replaced, never mutated, on reload; the
// counters are safe for concurrent use.
type Backend struct {
	name    string
	cfg     *config.Backend
	targets []*Target
	policy  balancePolicy
	rr      atomic.Uint64

	transport http.RoundTripper
	inFlight  atomic.Int64
}

// Name returns the backend's config name.
func (b *Backend) Name() string { return b.name }

func newBackend(name string, cfg *config.Backend) (*Backend, error) {
	b := &Backend{name: name, cfg: cfg}
	for i, raw := range cfg.Targets {
		u, err := config.ParseTarget(raw)
		if err != nil {
			return nil, err
		}
		b.targets = append(b.targets, &Target{index: i, raw: raw, url: u})
	}
	b.policy = balancePolicyFor(cfg.Balance)
	b.transport = newStandardTransport(cfg)
	return b, nil
}

// newStandardTransport builds the tuned net/http transport used for a
// backend: a keep-alive pool sized for a proxy, connect and response-header
// timeouts from the config, no proxy from the environment, no compression
// (bodies pass through untouched).
func newStandardTransport(cfg *config.Backend) *http.Transport {
	d := &net.Dialer{Timeout: cfg.ConnectTimeout.D(), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
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
	}
}

// close releases idle connections of a backend that left the table.
func (b *Backend) close() {
	if c, ok := b.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// sameAs reports whether b was built from a config equal to cfg, so a reload
// can keep b (its pools, counters and breakers) as it is.
func (b *Backend) sameAs(cfg *config.Backend) bool {
	return backendConfigEqual(b.cfg, cfg)
}
