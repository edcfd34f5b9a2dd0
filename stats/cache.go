package stats

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// cowMap is a read-mostly map: lookups are one atomic load and a map read,
// with no lock and no allocation; insertions copy the map under a mutex.
// It suits tables bounded by the configuration (routes × backends). Its
// zero value is empty and ready; safe for concurrent use.
type cowMap[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serialises insertions
}

// snapshot returns the current map, nil while empty. It must not be
// modified; later insertions do not show in it.
func (c *cowMap[K, V]) snapshot() map[K]V {
	if m := c.m.Load(); m != nil {
		return *m
	}
	return nil
}

func (c *cowMap[K, V]) load(k K) (v V, ok bool) {
	if m := c.m.Load(); m != nil {
		v, ok = (*m)[k]
	}
	return v, ok
}

// loadOrAdd returns the value under k, or calls add with the current number
// of entries to make one. add returns the key to store under (it may map an
// excess key to an overflow key) and the value; when that key is already
// present its value is returned instead.
func (c *cowMap[K, V]) loadOrAdd(k K, add func(k K, n int) (K, V)) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[K]V
	if m := c.m.Load(); m != nil {
		old = *m
	}
	if v, ok := old[k]; ok {
		return v
	}
	k2, v := add(k, len(old))
	if v2, ok := old[k2]; ok {
		return v2
	}
	m := make(map[K]V, len(old)+1)
	for kk, vv := range old {
		m[kk] = vv
	}
	m[k2] = v
	c.m.Store(&m)
	return v
}

// pairKey is a (route, backend) pair as the caller passes it.
type pairKey struct{ route, backend string }

// pair holds everything resolved once per (route, backend): the Prometheus
// children, the statsd segments and the statsd counters of the pair (see
// Stats.takeCounts). Safe for concurrent use.
type pair struct {
	route, backend string // label values
	requests       *prometheus.CounterVec
	dur            prometheus.Observer
	codes          [numCodes]atomic.Pointer[counterRef]
	sdRoute        string       // statsd segment of the route
	sdBackend      string       // statsd segment of the backend, "" for none
	apis           *apiSet      // per_api names of the route; nil without a route
	sdErrors       atomic.Int64 // PREFIX.backend.NAME.error since the last flush
}

// counterRef is one status code of a pair: its bulwark_requests_total child
// and its PREFIX.response.CODE count since the last statsd flush.
type counterRef struct {
	c  prometheus.Counter
	sd atomic.Int64
}

// counter returns the counters of code index i.
func (p *pair) counter(i int) *counterRef {
	if r := p.codes[i].Load(); r != nil {
		return r
	}
	// Concurrent first uses resolve to the same Prometheus child, but only
	// one counterRef may win, or a statsd count would be lost.
	r := &counterRef{c: p.requests.WithLabelValues(p.route, p.backend, codeNames[i])}
	if !p.codes[i].CompareAndSwap(nil, r) {
		return p.codes[i].Load()
	}
	return r
}

// pairTable resolves (route, backend) to its pair; at most maxPairs pairs
// exist, later ones share the (other, other) pair.
type pairTable struct {
	prom  *promMetrics
	pairs cowMap[pairKey, *pair]
	apis  map[string]*apiSet // by route; guarded by pairs.mu
}

func (t *pairTable) get(route, backend string) *pair {
	if p, ok := t.pairs.load(pairKey{route, backend}); ok {
		return p
	}
	return t.pairs.loadOrAdd(pairKey{route, backend}, t.add)
}

// add makes a pair; called with t.pairs.mu held.
func (t *pairTable) add(k pairKey, n int) (pairKey, *pair) {
	overflow := n >= maxPairs
	if overflow {
		k = pairKey{Other, Other}
	} else {
		k = pairKey{labelValue(k.route), labelValue(k.backend)}
	}
	p := &pair{
		route:     k.route,
		backend:   k.backend,
		requests:  t.prom.requests,
		dur:       t.prom.duration.WithLabelValues(k.route, k.backend),
		sdRoute:   statsdSegment(k.route),
		sdBackend: statsdSegment(k.backend),
	}
	if k.route != "" && !overflow {
		if t.apis == nil {
			t.apis = map[string]*apiSet{}
		}
		if t.apis[k.route] == nil {
			t.apis[k.route] = newAPISet()
		}
		p.apis = t.apis[k.route]
	}
	return k, p
}

// observerTable resolves a backend to its child of a histogram vector; at
// most maxBackends exist, later ones share the "other" child.
type observerTable struct {
	vec *prometheus.HistogramVec
	obs cowMap[string, prometheus.Observer]
}

func (t *observerTable) get(backend string) prometheus.Observer {
	if o, ok := t.obs.load(backend); ok {
		return o
	}
	return t.obs.loadOrAdd(backend, func(k string, n int) (string, prometheus.Observer) {
		if n >= maxBackends {
			k = Other
		} else {
			k = labelValue(k)
		}
		return k, t.vec.WithLabelValues(k)
	})
}
