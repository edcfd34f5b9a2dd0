package stats

import (
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
)

// Multi is a Recorder that passes every event to each of its Recorders in
// order. It is safe for concurrent use when they all are.
type Multi []Recorder

var _ Recorder = Multi(nil)

func (m Multi) Request(r *Request) {
	for _, x := range m {
		x.Request(r)
	}
}

func (m Multi) Rejected(reason Reason) {
	for _, x := range m {
		x.Rejected(reason)
	}
}

func (m Multi) BreakerState(backend, target string, s breaker.State) {
	for _, x := range m {
		x.BreakerState(backend, target, s)
	}
}

func (m Multi) BackendUp(backend, target string, up bool) {
	for _, x := range m {
		x.BackendUp(backend, target, up)
	}
}

func (m Multi) HealthFail(backend string) {
	for _, x := range m {
		x.HealthFail(backend)
	}
}

func (m Multi) InFlight(delta int) {
	for _, x := range m {
		x.InFlight(delta)
	}
}

func (m Multi) QueueWait(backend string, d time.Duration) {
	for _, x := range m {
		x.QueueWait(backend, d)
	}
}

func (m Multi) TrackedClients(n int) {
	for _, x := range m {
		x.TrackedClients(n)
	}
}

func (m Multi) BansActive(n int) {
	for _, x := range m {
		x.BansActive(n)
	}
}

func (m Multi) UnderAttack(on bool) {
	for _, x := range m {
		x.UnderAttack(on)
	}
}
