package stats

// Series is implemented by recorders that keep series per route, backend
// and target. The router declares what its configuration holds, so every
// series is in the first scrape at zero (a dashboard's rate() then sees a
// request's first increment), and forgets the targets that left it.
type Series interface {
	// DeclareRoute creates the series of a route and its backend:
	// bulwark_request_duration_seconds and bulwark_requests_total with
	// code 200.
	DeclareRoute(route, backend string)
	// DeclareBackend creates a backend's bulwark_queue_wait_seconds series.
	DeclareBackend(backend string)
	// Forget deletes the series of a target that left a backend (target ""
	// for a backend that left).
	Forget(backend, target string)
}

var _ Series = (*Stats)(nil)

// DeclareRoute creates the route's series at zero.
func (s *Stats) DeclareRoute(route, backend string) {
	s.pairs.get(route, backend).counter(codeIndex(200))
}

// DeclareBackend creates the backend's queue wait series at zero.
func (s *Stats) DeclareBackend(backend string) { s.queueWait.get(backend) }
