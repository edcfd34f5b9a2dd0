package breaker

// State is a breaker's state, as exported in bulwark_circuit_state: 0
// closed, 1 half-open, 2 open.
type State uint8

const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return "unknown"
}
