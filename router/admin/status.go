package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/router"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/stats"
)

// TopClients is how many clients the status lists, by recent request rate.
const TopClients = 20

// Status is the document served at /admin/api/status.
type Status struct {
	Build     router.BuildInfo `json:"build"`
	Config    ConfigInfo       `json:"config"`
	Now       time.Time        `json:"now"`
	StartedAt time.Time        `json:"started_at"`
	UptimeS   float64          `json:"uptime_s"`
	Listeners Listeners        `json:"listeners"`
	Draining  bool             `json:"draining"`
	InFlight  int64            `json:"in_flight"`
	// SampledAt is when the counters below were read (once a second).
	SampledAt time.Time `json:"sampled_at"`
	Backends  []Backend `json:"backends"`
	Admission Admission `json:"admission"`
}

// ConfigInfo names the config generation being served.
type ConfigInfo struct {
	Version  uint64    `json:"version"` // 1, then one more per successful reload
	LoadedAt time.Time `json:"loaded_at"`
	File     string    `json:"file,omitempty"`
}

// Listeners are the bound addresses; "" when not listening.
type Listeners struct {
	Public string `json:"public"`
	Admin  string `json:"admin"`
}

// Breaker is one breaker's state.
type Breaker struct {
	State string    `json:"state"` // closed, half-open, open
	Since time.Time `json:"since"` // when it entered State (as seen; ≤1s late without a Recorder)
	ForS  float64   `json:"for_s"` // seconds in State
	// RetryAfterS is the time until half-open, 0 unless open.
	RetryAfterS float64 `json:"retry_after_s"`
}

// Traffic is what was sent to a target, or a backend's targets together.
// Requests and errors are attempts (a retried request counts twice);
// errors are attempts that failed to connect or broke off mid-answer.
type Traffic struct {
	Requests     uint64  `json:"requests"` // cumulative
	Failures     uint64  `json:"failures"` // cumulative
	ReqPerSec    float64 `json:"req_per_sec"`
	ErrorsPerSec float64 `json:"errors_per_sec"` // over the last 10 s, like req_per_sec
	// ErrorRate is failed attempts / attempts over the last minute, 0..1.
	ErrorRate float64 `json:"error_rate"`
	// P50Ms and P99Ms are upstream latency quantiles over the last minute;
	// null when nothing was sent.
	P50Ms *float64 `json:"p50_ms"`
	P99Ms *float64 `json:"p99_ms"`
}

// Backend is one backend and its targets.
type Backend struct {
	Name string `json:"name"`
	// Up is true while at least one target is up by the health checks and
	// its breaker is not open, and the backend's breaker is not open.
	Up bool `json:"up"`
	// Down says why a backend is not up, "" while it is: "breaker open"
	// (the backend's own breaker), "targets down" (every target failed its
	// health checks; the backend's breaker may well be closed), "targets'
	// breakers open", or "targets down or open" (some of each).
	Down        string  `json:"down,omitempty"`
	Breaker     Breaker `json:"breaker"`
	InFlight    int64   `json:"in_flight"`
	MaxInFlight int     `json:"max_in_flight"` // 0: unbounded
	Traffic
	Targets []Target `json:"targets"`
	// Series are the last five minutes, one value a second, oldest first.
	Series BackendSeries `json:"series"`
}

// BackendSeries are a backend's per-second histories, oldest first.
type BackendSeries struct {
	ReqPerSec    []float64 `json:"req_per_sec"`
	ErrorsPerSec []float64 `json:"errors_per_sec"`
}

// Target is one target of a backend.
type Target struct {
	URL      string  `json:"url"`
	Weight   int     `json:"weight"` // backends.NAME.targets[].weight
	Backup   bool    `json:"backup"` // serves only while no primary is ready
	Up       bool    `json:"up"`     // by the active health checks
	Breaker  Breaker `json:"breaker"`
	InFlight int64   `json:"in_flight"`
	Traffic
}

// Admission is the per-client admission state.
type Admission struct {
	TrackedClients int `json:"tracked_clients"`
	Capacity       int `json:"capacity"`
	ActiveBans     int `json:"active_bans"`
	// RefusalsPerSec is every reason's refusals per second over the last
	// 10 s; RefusalsTotal the counts since start.
	RefusalsPerSec map[string]float64 `json:"refusals_per_sec"`
	RefusalsTotal  map[string]uint64  `json:"refusals_total"`
	// RefusalsSeries is all refusals per second, five minutes, oldest first.
	RefusalsSeries []float64 `json:"refusals_series"`
	UnderAttack    bool      `json:"under_attack"`
	// Top is the TopClients clients with the highest recent request rate.
	Top      []ratelimit.ClientInfo  `json:"top"`
	Overload ratelimit.OverloadState `json:"overload"`
}

// Status builds the status document: the last sample, and the admission
// table read now (so a lifted ban leaves at once).
func (s *Sampler) Status() Status {
	now := s.now()
	snap := s.rt.Admission().Snapshot(TopClients)
	version, loadedAt := s.rt.ConfigVersion()
	pub, adm := s.srv.Listeners()
	out := Status{
		Build:     s.rt.Info(),
		Config:    ConfigInfo{Version: version, LoadedAt: loadedAt, File: s.srv.ConfigFile()},
		Now:       now,
		StartedAt: s.started,
		UptimeS:   now.Sub(s.started).Seconds(),
		Listeners: Listeners{Public: pub, Admin: adm},
		Draining:  s.rt.Draining(),
		InFlight:  s.rt.InFlight(),
		Backends:  []Backend{},
	}
	if out.Admission.Top = snap.Top; out.Admission.Top == nil {
		out.Admission.Top = []ratelimit.ClientInfo{}
	}
	out.Admission.TrackedClients = snap.TrackedClients
	out.Admission.Capacity = snap.Capacity
	out.Admission.ActiveBans = snap.ActiveBans
	out.Admission.Overload = snap.Overload
	out.Admission.RefusalsPerSec = map[string]float64{}
	out.Admission.RefusalsTotal = map[string]uint64{}

	s.mu.Lock()
	defer s.mu.Unlock()
	out.SampledAt = s.last
	for i := range s.buf {
		bh := s.backends[s.buf[i].Name]
		if bh != nil {
			out.Backends = append(out.Backends, bh.status(now))
		}
	}
	if s.rec != nil {
		for _, r := range stats.Reasons() {
			out.Admission.RefusalsPerSec[r.String()] = s.reasons[r].mean(rateWindow)
			out.Admission.RefusalsTotal[r.String()] = s.rec.Rejections(r)
		}
		out.Admission.UnderAttack = s.rec.Attacked()
	}
	out.Admission.RefusalsSeries = s.refusals.values()
	return out
}

func (bh *backendHist) status(now time.Time) Backend {
	b := Backend{Name: bh.cur.Name, MaxInFlight: bh.cur.MaxInFlight,
		Breaker: breakerOf(&bh.brk, bh.cur.RetryAfter, now), Targets: []Target{}}
	var lat router.LatencyCounts
	anyUp, down, open := false, 0, 0
	for i := range bh.cur.Targets {
		ts := &bh.cur.Targets[i]
		th := bh.targets[ts.URL]
		if th == nil {
			continue
		}
		t := Target{URL: ts.URL, Weight: ts.Weight, Backup: ts.Backup, Up: ts.Up, InFlight: ts.InFlight,
			Breaker: breakerOf(&th.brk, ts.RetryAfter, now)}
		var tl router.LatencyCounts
		th.lat.window(&tl)
		t.Traffic = traffic(ts.Requests, ts.Failures, &th.req, &th.errs, &tl)
		for j := range lat {
			lat[j] += tl[j]
		}
		b.Requests += ts.Requests
		b.Failures += ts.Failures
		b.InFlight += ts.InFlight
		switch {
		case !ts.Up:
			down++
		case ts.Breaker == breaker.StateOpen:
			open++
		default:
			anyUp = true
		}
		b.Targets = append(b.Targets, t)
	}
	b.Up = anyUp && bh.cur.Breaker != breaker.StateOpen
	switch {
	case b.Up:
	case bh.cur.Breaker == breaker.StateOpen:
		b.Down = "breaker open"
	case open == 0:
		b.Down = "targets down"
	case down == 0:
		b.Down = "targets' breakers open"
	default:
		b.Down = "targets down or open"
	}
	b.Traffic = traffic(b.Requests, b.Failures, &bh.req, &bh.errs, &lat)
	b.Series = BackendSeries{ReqPerSec: bh.req.values(), ErrorsPerSec: bh.errs.values()}
	return b
}

func traffic(requests, failures uint64, req, errs *series, lat *router.LatencyCounts) Traffic {
	t := Traffic{Requests: requests, Failures: failures,
		ReqPerSec: req.mean(rateWindow), ErrorsPerSec: errs.mean(rateWindow)}
	r, _ := req.sum(latWindow)
	f, _ := errs.sum(latWindow)
	if r > 0 {
		t.ErrorRate = min(f/r, 1)
	}
	if p, ok := quantile(lat, 0.5); ok {
		t.P50Ms = &p
	}
	if p, ok := quantile(lat, 0.99); ok {
		t.P99Ms = &p
	}
	return t
}

func breakerOf(h *breakerHist, retryAfter time.Duration, now time.Time) Breaker {
	return Breaker{State: h.state.String(), Since: h.since,
		ForS: max(now.Sub(h.since).Seconds(), 0), RetryAfterS: retryAfter.Seconds()}
}

// StatusHandler serves GET /admin/api/status. Authentication is the admin
// listener's job.
func (s *Sampler) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		enc.Encode(s.Status())
	})
}
