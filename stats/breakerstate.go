package stats

import "github.com/bulwark-router/bulwark/router/breaker"

// BreakerState is breaker.State, the type's home.
//
// Deprecated: use breaker.State; these names remain so that code written
// against them still builds.
type BreakerState = breaker.State

// The breaker's states under their former names.
//
// Deprecated: use breaker.StateClosed, breaker.StateHalfOpen and
// breaker.StateOpen.
const (
	StateClosed   = breaker.StateClosed
	StateHalfOpen = breaker.StateHalfOpen
	StateOpen     = breaker.StateOpen
)
