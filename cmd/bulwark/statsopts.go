package main

import (
	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// statsOptions is what the stats section of the config asks of stats.
func statsOptions(c config.Stats) stats.Options {
	return stats.Options{
		Statsd: stats.StatsdOptions{
			Address:       c.Statsd.Address,
			Prefix:        c.Statsd.Prefix,
			FlushInterval: c.Statsd.FlushInterval.D(),
		},
		Prometheus: c.Prometheus.Enabled,
	}
}

// logOptions is what the log section of the config asks of the logger.
func logOptions(c config.Log) stats.LogOptions {
	return stats.LogOptions{Level: c.Level, Format: c.Format, Sample: sampleOptions(c.Sample)}
}

func sampleOptions(c config.LogSample) stats.SampleOptions {
	return stats.SampleOptions{Initial: c.Initial, Thereafter: c.Thereafter}
}
