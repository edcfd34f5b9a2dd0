package main

import (
	"strconv"
	"sync"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
	"github.com/prometheus/client_golang/prometheus"
)

// storeMetrics exports the limit store's state, when there is one:
// bulwark_limit_store_up and bulwark_limit_store_errors_total{kind} to
// Prometheus, PREFIX.limit_store.up (gauge) and
// PREFIX.limit_store.error.KIND (counter) to statsd.
func storeMetrics(reg prometheus.Registerer, s *stats.Stats, adm *ratelimit.Admission) {
	if _, ok := adm.StoreUp(); !ok {
		return
	}
	up := func() float64 {
		if u, _ := adm.StoreUp(); u {
			return 1
		}
		return 0
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bulwark_limit_store_up",
		Help: "1 while the limit store (limit_store) answers; 0 from three failed commands in a row until one succeeds.",
	}, up))
	adm.StoreErrorsByKind(func(kind string, _ uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "bulwark_limit_store_errors_total",
			Help:        "Failed limit-store commands, by kind: timeout, connection, cluster, busy, reply.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 {
			var n uint64
			adm.StoreErrorsByKind(func(k string, c uint64) {
				if k == kind {
					n = c
				}
			})
			return float64(n)
		}))
	})
	var mu sync.Mutex
	sent := map[string]uint64{}
	s.AddStatsdSource(func(b []byte, prefix string) []byte {
		b = append(b, prefix+".limit_store.up:"...)
		b = strconv.AppendInt(b, int64(up()), 10)
		b = append(b, "|g\n"...)
		mu.Lock()
		defer mu.Unlock()
		adm.StoreErrorsByKind(func(kind string, n uint64) {
			if d := n - sent[kind]; d > 0 {
				b = append(b, prefix+".limit_store.error."+kind+":"...)
				b = strconv.AppendUint(b, d, 10)
				b = append(b, "|c\n"...)
				sent[kind] = n
			}
		})
		return b
	})
}
