package stats

import "time"

// Options says what a Stats exports besides its Prometheus registry. The
// zero value sends no statsd and serves no /metrics.
type Options struct {
	Statsd StatsdOptions
	// Prometheus makes Handler serve /metrics; when false it answers 404.
	Prometheus bool
}

// StatsdOptions is the statsd sink; it is off when Address is empty.
type StatsdOptions struct {
	Address string // host:port of the statsd daemon (UDP)
	// Prefix begins every name; empty means DefaultPrefix.
	Prefix string
	// FlushInterval is how long counters add up and lines wait before a
	// packet goes; zero or less means DefaultFlushInterval.
	FlushInterval time.Duration
}

// LogOptions is the process logger's.
type LogOptions struct {
	Level  string // debug, info, warn or error; empty means info
	Format string // json or console; empty means json
	Sample SampleOptions
}

// SampleOptions samples log lines of the same level and message within
// each second: the first Initial pass, then one in Thereafter. Initial 0
// samples nothing.
type SampleOptions struct {
	Initial, Thereafter int
}
