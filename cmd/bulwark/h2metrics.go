package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-router/bulwark/router"
)

// h2Abuse exports bulwark_h2_abuse_total{kind}: HTTP/2 connections closed
// for crossing a bound of server.http2, each kind at 0 from the start.
type h2Abuse struct {
	rt   *router.Router
	desc *prometheus.Desc
}

func newH2Abuse(rt *router.Router) *h2Abuse {
	return &h2Abuse{rt: rt, desc: prometheus.NewDesc("bulwark_h2_abuse_total",
		"HTTP/2 connections closed with GOAWAY for abuse (server.http2), per kind; also counted in bulwark_rejections_total{reason=\"h2_abuse\"}.",
		[]string{"kind"}, nil)}
}

func (h *h2Abuse) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *h2Abuse) Collect(ch chan<- prometheus.Metric) {
	counts := h.rt.H2Abuse()
	for i, kind := range router.H2AbuseKinds() {
		ch <- prometheus.MustNewConstMetric(h.desc, prometheus.CounterValue, float64(counts[i]), kind)
	}
}
