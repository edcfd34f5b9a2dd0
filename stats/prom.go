package stats

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// DurationBuckets are the bounds, in seconds, of the request duration
// histogram: from half a millisecond to the 30 s a backend may take.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// QueueWaitBuckets are the bounds, in seconds, of the queue wait histogram:
// queues wait 100 ms by default, so the low end is finer.
var QueueWaitBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// promMetrics holds every Prometheus metric. Safe for concurrent use.
type promMetrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rejections  *prometheus.CounterVec
	rejected    [numReasons]prometheus.Counter
	backendUp   *prometheus.GaugeVec
	circuit     *prometheus.GaugeVec
	inFlight    atomic.Int64
	tracked     prometheus.Gauge
	bans        prometheus.Gauge
	underAttack prometheus.Gauge
	queueWait   *prometheus.HistogramVec
	buildInfo   *prometheus.GaugeVec
	logDropped  prometheus.Counter
	sdDropped   prometheus.Counter
}

// newPromMetrics makes the metrics and registers them on reg.
//
//house:long a declarative table of metrics, one entry each.
func newPromMetrics(reg prometheus.Registerer, info BuildInfo) (*promMetrics, error) {
	m := &promMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_requests_total",
			Help: "Requests answered, by route, backend and status code.",
		}, []string{"route", "backend", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bulwark_request_duration_seconds",
			Help:    "Time from request to response as the client saw it.",
			Buckets: DurationBuckets,
		}, []string{"route", "backend"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_rejections_total",
			Help: "Requests the router refused itself, by reason.",
		}, []string{"reason"}),
		backendUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_backend_up",
			Help: "1 when the target passes its health checks, else 0.",
		}, []string{"backend", "target"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_circuit_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, []string{"backend", "target"}),
		tracked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_tracked_clients",
			Help: "Clients in the admission table.",
		}),
		bans: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_bans_active",
			Help: "Clients currently banned.",
		}),
		underAttack: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_under_attack",
			Help: "1 while attack mode is on, else 0.",
		}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bulwark_queue_wait_seconds",
			Help:    "Time requests waited in a backend's admission queue.",
			Buckets: QueueWaitBuckets,
		}, []string{"backend"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bulwark_build_info",
			Help: "Always 1; the labels say which build is running.",
		}, []string{"version", "commit"}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulwark_log_dropped_total",
			Help: "Log lines dropped by sampling.",
		}),
		sdDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bulwark_statsd_dropped_total",
			Help: "statsd packets or messages lost: send errors, full queue, or sent while closing.",
		}),
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bulwark_in_flight_requests",
		Help: "Requests being served.",
	}, func() float64 { return float64(m.inFlight.Load()) })

	for _, r := range Reasons() {
		m.rejected[r] = m.rejections.WithLabelValues(r.String())
	}
	for _, name := range contractReasons {
		m.rejections.WithLabelValues(name) // at 0 until this build gives it
	}
	m.buildInfo.WithLabelValues(orUnknown(info.Version), orUnknown(info.Commit)).Set(1)

	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.rejections, m.backendUp, m.circuit, inFlight,
		m.tracked, m.bans, m.underAttack, m.queueWait, m.buildInfo, m.logDropped, m.sdDropped,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("stats: register metrics: %w", err)
		}
	}
	// The runtime collectors may already be registered by the caller.
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, fmt.Errorf("stats: register runtime metrics: %w", err)
		}
	}
	return m, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return labelValue(s)
}

// rejectedCounter returns the counter of reason; out-of-range reasons share
// one "unknown" series.
func (m *promMetrics) rejectedCounter(r Reason) prometheus.Counter {
	if r < numReasons {
		return m.rejected[r]
	}
	return m.rejections.WithLabelValues(Reason(numReasons).String())
}
