package router

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/router/clientip"
	"github.com/bulwark-router/bulwark/stats"
)

// The steps of ServeHTTP, in its order. Each that may end the request
// answers it itself and reports whether it goes on; record then accounts
// for it.

// enter and leave count the requests in the router (InFlight), which
// Shutdown's callers wait on.
func (rt *Router) enter() { rt.inFlight.Add(1); rt.rec.InFlight(1) }
func (rt *Router) leave() { rt.inFlight.Add(-1); rt.rec.InFlight(-1) }

// identify runs the checks before admission on r (checkIn: the client,
// the router's own endpoints, the route, admission) and keeps what the
// access line and the backend need of r: whether the peer is trusted, the
// host, query and user agent, a trusted request id, and what the
// reputation token and a challenge need (cookies, HTTPS, the challenge's
// mark taken off the query). It returns the
// normalised path, admission's decision and what the checks found.
func (rt *Router) identify(t *table, st *requestState, r *http.Request, start time.Time) (string, ratelimit.Decision, checkResult) {
	path, pathOK := rt.normalizePath(r)
	peer, _ := clientip.ParsePeer(r.RemoteAddr)
	// The map is indexed with the canonical name directly: Header.Values
	// would canonicalise it again on every request.
	in := arrival{method: r.Method, host: r.Host, path: path, badPath: !pathOK, fwd: r.Header[t.clientIP.Header()]}
	st.req, st.path = r, path
	if rt.std != nil {
		st.cookies, st.conn = r.Header["Cookie"], connTokensOf(r.Context())
	}
	d, found := rt.checkIn(t, &in, peer, st, start, false)
	st.trusted = t.clientIP.Trusted(peer)
	if rt.ch != nil && r.URL.RawQuery != "" {
		r.URL.RawQuery, st.challenged = stripMark(r.URL.RawQuery)
	}
	if st.std != nil {
		st.https = r.TLS != nil || st.trusted && r.Header.Get("X-Forwarded-Proto") == "https"
	}
	st.host, st.query = r.Host, r.URL.RawQuery
	if ua := r.Header["User-Agent"]; len(ua) > 0 {
		st.userAgent = ua[0]
	}
	if st.trusted {
		if id := r.Header.Get(clientip.RequestIDHeader); clientip.ValidRequestID(id) {
			st.requestID = id
		}
	}
	return path, d, found
}

// refusedAtCheckIn answers a request the checks before admission turned
// away (an overload refusal with a challenge when abuse.challenge says
// so), and reports whether it did.
func (rt *Router) refusedAtCheckIn(st *requestState, r *http.Request, found checkResult, d *ratelimit.Decision) bool {
	w := &st.w
	switch found {
	case checkConnect:
		// The router is no forward proxy. What follows the head may be a
		// tunnel's bytes, not a request: the connection closes (nginx
		// answers CONNECT so too).
		w.Header()["Connection"] = connClose
		rt.refuse(st, stats.BadRequest, http.StatusMethodNotAllowed)
	case checkBadPath:
		rt.refuse(st, stats.BadRequest, http.StatusBadRequest)
	case checkNoRoute:
		writeSmall(w, http.StatusNotFound, "no route")
	case checkRefused:
		if d.Reason == stats.Overload && !d.DryRun && rt.ch.answer(rt, st, r, d.Reason) {
			return true
		}
		if !d.DryRun {
			rt.markRefusal(st, d.Reason, d.Status)
		}
		writeRefusal(w, d)
	case checkRuleDenied, checkRuleLimited, checkRuleChallenged:
		rt.refuseByRule(st, r, found)
	default:
		return false
	}
	return true
}

// takeRequestBody refuses a body over max_body_bytes and takes one the
// request has (takeBody) before the queue, so a slow body never holds a
// backend slot. It reports whether the request goes on.
func (rt *Router) takeRequestBody(t *table, rw http.ResponseWriter, r *http.Request, st *requestState, start time.Time) bool {
	if r.ContentLength > t.maxBody {
		rt.refuse(st, stats.BodyTooLarge, http.StatusRequestEntityTooLarge)
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if f := rt.takeBody(t, rw, r, st, start); f != bodyOK {
		rt.refuseBody(st, f)
		return false
	}
	return true
}

// passKeyedLimit applies the route's limit by key (limit_key), after the
// body (a key may be read from it), and answers a request over it. It
// reports whether the request goes on.
func (rt *Router) passKeyedLimit(r *http.Request, st *requestState, start time.Time) bool {
	skip, ok := rt.passBodyRules(r, st, start)
	if !ok {
		return false
	}
	k := st.route.keyed
	if k == nil || skip {
		return true
	}
	if code := rt.admitKeyed(k, r, st, start); code != 0 {
		rt.refuseKeyed(st, code)
		return false
	}
	return true
}

// enterQueue takes a slot of the backend's concurrency cap, waiting in its
// queue when it is full at rank (rankFor: known clients first under
// pressure). It answers a request that gets none in time (with a challenge
// when abuse.challenge says so), and reports whether the request goes on.
func (rt *Router) enterQueue(r *http.Request, st *requestState, rank int) bool {
	b := st.backend
	q := b.queue
	if q == nil {
		return true
	}
	ok, waited, err := q.acquire(r.Context(), rank, rt.now)
	if !ok || waited >= q.pressureWait() {
		rt.adm.NotePressure()
	}
	if waited > 0 {
		rt.rec.QueueWait(b.name, waited)
	}
	if !ok {
		if err != nil {
			writeSmall(&st.w, StatusClientClosed, "client closed request")
		} else if !rt.ch.answer(rt, st, r, stats.QueueFull) {
			st.w.Header().Set("Retry-After", "1")
			rt.refuse(st, stats.QueueFull, http.StatusServiceUnavailable)
		}
		return false
	}
	b.inFlight.Add(1)
	st.queue, st.rank = q, rank
	return true
}

// passBreaker asks the backend's breaker whether the request may go. It
// answers one the open breaker stops (503, Retry-After when it will try
// again), and reports whether the request goes on.
func (rt *Router) passBreaker(st *requestState) bool {
	tok, err := st.backend.breaker.Allow()
	if err != nil {
		var oe *breaker.OpenError
		if errors.As(err, &oe) {
			st.w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(oe.RetryAfter)))
		}
		rt.refuse(st, stats.CircuitOpen, http.StatusServiceUnavailable)
		return false
	}
	st.tok, st.breakerHeld = tok, true
	return true
}

// record ends every request ServeHTTP does not serve as its own endpoint,
// however it ended, a panic out of the relay included (ReverseProxy's
// http.ErrAbortHandler when copying the answer broke off): the backend's
// breaker hears how it went, finish records it, the queue slot and the
// body's buffers go back, and a client that left mid-body is cut off.
func (rt *Router) record(t *table, st *requestState, r *http.Request, start time.Time) {
	if st.breakerHeld {
		st.backend.breaker.Done(st.tok, outcome(st))
	}
	rt.finish(t, st, r.Method, r.URL.Path, start)
	if q := st.queue; q != nil {
		st.backend.inFlight.Add(-1)
		q.leave(st.rank, rt.now().UnixNano())
	}
	if st.bs != nil {
		st.bs.end()
	}
	abortIf(st)
}
