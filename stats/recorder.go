// Package stats records what the router does and fans it out to statsd and
// Prometheus. The request path, admission, breakers and health checks call it
// through the Recorder interface; it imports no other bulwark package: its
// caller turns the config into Options and LogOptions.
//
// statsd counters on the request path (request, response.CODE, ROUTE.API,
// backend.NAME.error, rejected.REASON) are summed in memory and sent once
// per flush interval (stats.statsd.flush_interval, default 100ms) as
// PREFIX.NAME:N|c; timers (response_time, backend.NAME.latency) are sent one
// line per request, and rare events (breaker, health, attack) at once. A
// statsd daemon computes the same either way, from far fewer packets.
package stats

import (
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
)

// Reason is why the router refused a request itself. Its String form is the
// Prometheus label value and the statsd segment (PREFIX.rejected.REASON).
type Reason uint8

// Refusal reasons; the set is fixed so labels stay bounded.
const (
	RateLimit Reason = iota
	NetworkLimit
	Banned
	Denied
	TooManyConns
	Overload
	QueueFull
	CircuitOpen
	NoTarget
	BodyTooLarge
	TooManyInFlight
	// BadRequest is a request whose body framing is broken (a malformed
	// chunk): the client's fault, never the backend's.
	BadRequest
	// SlowBody is a client that sent its request body below
	// server.min_body_rate (408).
	SlowBody
	// H2Abuse is an HTTP/2 connection closed for crossing one of
	// server.http2's bounds (Rapid Reset, floods).
	H2Abuse
	// Rule is a request a deny rule turned away (package rules).
	Rule
	numReasons
)

var reasonNames = [...]string{
	RateLimit:       "rate_limit",
	NetworkLimit:    "network_limit",
	Banned:          "banned",
	Denied:          "denied",
	TooManyConns:    "too_many_conns",
	Overload:        "overload",
	QueueFull:       "queue_full",
	CircuitOpen:     "circuit_open",
	NoTarget:        "no_target",
	BodyTooLarge:    "body_too_large",
	TooManyInFlight: "too_many_in_flight",
	BadRequest:      "bad_request",
	SlowBody:        "slow_body",
	H2Abuse:         "h2_abuse",
	Rule:            "rule",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// contractReasons are the reason labels the product contract lists for
// bulwark_rejections_total and statsd PREFIX.rejected.REASON; each is
// exported from the start, at 0 until a refusal gives it.
var contractReasons = []string{"rate_limit", "network_limit", "banned", "denied", "too_many_conns",
	"overload", "queue_full", "circuit_open", "no_target", "body_too_large", "bad_request",
	"slow_body", "challenge", "rule", "h2_abuse"}

// Reasons returns every reason, in order.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// Request describes one finished request for Recorder.Request.
type Request struct {
	Route string // route stats name; "" when no route matched
	// Backend is the route's backend, also when the router refused the
	// request itself; "" when no route matched.
	Backend string
	Code    int
	// Duration is the whole request as the client saw it.
	Duration time.Duration
	// API is the per_api segment (PREFIX.ROUTE.API), "" when the route does
	// not count per API. The recorder bounds and sanitises it.
	API string
	// BackendLatency is the time the backend took, 0 when it was not asked.
	BackendLatency time.Duration
	// BackendError is true for 502/503/504 answers made by the router.
	BackendError bool
}

// Recorder receives every event the router reports. Implementations must be
// safe for concurrent use, must never block, and must bound the cardinality of
// everything they are given (route and backend names come from the config;
// API names come from clients).
type Recorder interface {
	Request(r *Request)
	Rejected(reason Reason)
	BreakerState(backend, target string, s breaker.State)
	BackendUp(backend, target string, up bool)
	HealthFail(backend string)
	InFlight(delta int)
	QueueWait(backend string, d time.Duration)
	TrackedClients(n int)
	BansActive(n int)
	UnderAttack(on bool)
}

// Nop is a Recorder that records nothing. Its zero value is ready to use.
type Nop struct{}

func (Nop) Request(*Request)                           {}
func (Nop) Rejected(Reason)                            {}
func (Nop) BreakerState(string, string, breaker.State) {}
func (Nop) BackendUp(string, string, bool)             {}
func (Nop) HealthFail(string)                          {}
func (Nop) InFlight(int)                               {}
func (Nop) QueueWait(string, time.Duration)            {}
func (Nop) TrackedClients(int)                         {}
func (Nop) BansActive(int)                             {}
func (Nop) UnderAttack(bool)                           {}
