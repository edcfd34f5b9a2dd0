package router

import (
	"net/netip"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
)

// arrival is a request as the checks before admission read it, whether
// net/http read it (ServeHTTP) or the connection front did (frontDecider).
// Its strings are read only during checkIn. (The socket peer goes apart:
// the client found from it is kept, and escape analysis would then keep
// all that arrival points to, the front's forwarded chain on its stack
// included.)
type arrival struct {
	method, host string
	path         string   // the path routes match (normalised, see server.path)
	badPath      bool     // the path cannot be normalised: 400
	fwd          []string // the forwarded-chain field's values
}

// checkResult is what the checks before admission found.
type checkResult uint8

const (
	// checkOwn: one of the router's own endpoints, which it serves itself.
	checkOwn checkResult = iota
	// checkConnect: a CONNECT, which the router does not forward (405).
	checkConnect
	// checkBadPath: the path cannot be normalised (400).
	checkBadPath
	// checkNoRoute: no route matches (404).
	checkNoRoute
	// checkRefused: admission turned the request away; the decision says
	// how, st.reason why.
	checkRefused
	// checkAdmitted: admitted (st.admitted: Done is owed).
	checkAdmitted
	// checkUndecided: with look, admission did not refuse the request: the
	// full path decides it (nothing was admitted).
	checkUndecided
	// checkRuleDenied: a deny rule refused it (st.ruleDeny says how).
	checkRuleDenied
	// checkRuleLimited: a limit rule's bucket was empty (429).
	checkRuleLimited
	// checkRuleChallenged: a challenge rule matched a client without a
	// token or a solved challenge.
	checkRuleChallenged
)

// checkIn runs the checks before admission, the one copy ServeHTTP and the
// connection front share: the client's identity, the router's own
// endpoints, a path that cannot be normalised, the route, then admission's
// decision, for a request from the socket peer peer (zero when not an IP
// address). It fills st's client, key and route as it goes; whether the
// peer is trusted (for request ids and forwarding) is the caller's.
//
// With look false (ServeHTTP) admission decides and admits. With look true
// (the front, which answers only refusals) it refuses what it can tell
// from a look under its lock and admits nothing.
func (rt *Router) checkIn(t *table, a *arrival, peer netip.Addr, st *requestState, start time.Time, look bool) (ratelimit.Decision, checkResult) {
	st.client = t.clientIP.Client(peer, a.fwd)

	if a.method == "CONNECT" { // not even the router's own endpoints
		return ratelimit.Decision{}, checkConnect
	}
	switch a.path {
	case "/__lbheartbeat__", "/__version__", "/__heartbeat__":
		return ratelimit.Decision{}, checkOwn
	}
	if a.badPath {
		return ratelimit.Decision{}, checkBadPath
	}

	rte := t.route(a.method, a.host, a.path)
	if rte == nil {
		return ratelimit.Decision{}, checkNoRoute
	}
	st.route, st.backend = rte, rte.backend

	st.key = t.clientIP.Key(st.client)
	if !look && st.cookies != nil && rt.std != nil {
		rt.std.identify(st, start)
		if !st.hasToken && rt.ch != nil {
			rt.ch.identify(st, start)
		}
	}
	policy := rte.limit
	if rs := rt.rules.Current(); !rs.Empty() && rs.MayMatch(a.method, a.host, a.path) {
		if look || st.req == nil {
			return ratelimit.Decision{}, checkUndecided // rules need the whole request
		}
		var found checkResult
		var refused bool
		// From st, not a: nothing a holds may reach the rules (which keep
		// what they see), or the front's arrival would leave the stack.
		if policy, found, refused = rt.applyRules(rs, st, start, policy); refused {
			return ratelimit.Decision{}, found
		}
	}
	if look {
		d, ok := rt.adm.Refuse(start, st.key, policy)
		if !ok {
			return d, checkUndecided
		}
		if d.Allow {
			// A check the look leaves to the decision admitted it: the
			// request goes the full way, which admits it again.
			rt.adm.Done(start, st.key, StatusClientClosed, false)
			return d, checkUndecided
		}
		st.reason = d.Reason.String()
		return d, checkRefused
	}
	d := rt.adm.Admit(start, st.key, policy)
	if !d.Allow {
		st.reason = d.Reason.String()
		return d, checkRefused
	}
	st.admitted = true
	if rt.std != nil && !st.hasToken && d.Score >= minIssueScore {
		st.std = rt.std // earned standing: a token goes with the answer
	}
	return d, checkAdmitted
}
