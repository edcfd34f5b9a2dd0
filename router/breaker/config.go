package breaker

import "time"

// Config is a breaker's policy (the package doc tells it). The zero value
// is a breaker that always allows.
type Config struct {
	ConsecutiveFailures int           // trip on this many failures in a row; 0: never
	FailureRatio        float64       // trip when failures reach this share of the window; 0: never
	MinRequests         int           // finished requests in the window before the ratio counts; at least 1
	Window              time.Duration // the ratio's rolling window; zero or less: 10s
	OpenFor             time.Duration // how long open lasts first; zero or less: 5s
	HalfOpenRequests    int           // probes half-open admits; at least 1
	Disabled            bool          // always allow
}
