package ratelimit

import (
	"net/netip"
	"time"
)

// ClassOf is client's class at now (IPv6 grouped by prefix, or a
// TokenKey) without counting a request: what rules read as client.class.
// StandingOf also gives the score.
func (a *Admission) ClassOf(now time.Time, client netip.Addr) Class {
	return a.StandingOf(now, client).Class
}
