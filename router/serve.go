package router

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/router/clientip"
	"github.com/bulwark-router/bulwark/rules"
	"github.com/bulwark-router/bulwark/stats"
)

// requestState travels with one request through the proxy, so the
// transport, the error handler and the access log see the same facts.
type requestState struct {
	w          responseWriter
	backend    *Backend
	route      *route
	target     *Target
	attempts   int
	failed     *Target // the target of the last failed attempt, nil if none failed
	trusted    bool
	client     netip.Addr
	key        netip.Addr // the admission key (IPv6 grouped by prefix)
	admitted   bool       // Admit let it in: Done is owed
	requestID  string
	rawID      []byte                      // a trusted incoming request id not yet made a string
	newID      [clientip.RequestIDLen]byte // the front's own id for rawID, made in place
	ridValue   [1]string                   // the answer's X-Request-Id value (setAnswerID)
	host       string                      // for the access line: Host, User-Agent and the raw query
	userAgent  string
	query      string
	reason     string // refusal reason, "" when forwarded
	rule       string // the rule the access line names, "" when none
	ruleDeny   *rules.Rule
	ruleWait   time.Duration // a limit rule's Retry-After
	req        *http.Request // the request net/http read, for rules; nil in the front
	path       string        // its normalised path, for rules
	failKey    uint64        // the keyed value auth failures count under; 0: none
	forwarded  bool          // handed to the proxy: not recycled
	body       *countingBody
	trailer    http.Header // the forwarded request's trailer (relay)
	bs         *bodyState  // the body as the router takes it (body.go); nil when none
	abort      bool        // the client left mid-body: close without an answer
	cookies    []string    // the Cookie fields, for a reputation token
	conn       *connTokens // the connection's verified token, nil when unknown
	token      uint64      // the reputation token's id, when hasToken
	hasToken   bool        // admitted under a valid reputation token
	verified   bool        // carries a solved challenge nonce
	proven     bool        // verified, within its nonce's own bucket: rankProven
	challenged bool        // back from a challenge's redirect (the mark was on the URL)
	std        *standing   // non-nil: give the client a token with the answer
	https      bool        // the request came over HTTPS (for the token's Secure)

	upstreamStart time.Time
	upstreamDur   time.Duration
	bodyBroke     bool // the backend's answer broke off mid-body
	err           error
	stat          stats.Request

	// What record owes back (steps.go).
	queue       *admitQueue   // the backend queue whose slot it holds, nil when none
	rank        int           // the rank it entered queue at
	tok         breaker.Token // the backend breaker's token, when breakerHeld
	breakerHeld bool          // the backend's breaker let it go: Done is owed
}

// accessFields backs an access line's fields, so logging one allocates no
// slice. They are pooled apart from requestState: most requests are not
// logged (sampling), and a forwarded request's state is not recycled.
type accessFields [16]zapcore.Field

var accessFieldsPool = sync.Pool{New: func() any { return new(accessFields) }}

// statePool recycles the state of requests the router answered itself (the
// refusal path); a forwarded request's state may still be referenced by the
// transport's context after ServeHTTP returns, so it is left to the GC.
var statePool = sync.Pool{New: func() any { return new(requestState) }}

func (st *requestState) release() {
	if st.forwarded {
		return
	}
	*st = requestState{}
	statePool.Put(st)
}

// id returns the request id, generating one the first time it is needed.
func (st *requestState) id() string {
	if st.requestID == "" && st.rawID != nil {
		st.requestID = string(st.rawID)
	}
	if st.requestID == "" {
		st.requestID = clientip.NewRequestID()
	}
	return st.requestID
}

type ctxKey struct{}

func stateFrom(ctx context.Context) *requestState {
	s, _ := ctx.Value(ctxKey{}).(*requestState)
	return s
}

// ServeHTTP serves one request, in the order of doc.go's tour: the client
// and the checks before admission (identify), the router's own endpoints,
// the checks' refusals, the body, the backend's queue and breaker, then
// forwarding. However the request ends, one deferred record accounts for
// it.
func (rt *Router) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := rt.now()
	rt.enter()
	defer rt.leave()
	st := statePool.Get().(*requestState)
	defer st.release()
	st.w.reset(rw)
	t := rt.table.Load()

	path, d, found := rt.identify(t, st, r, start)
	if found == checkOwn {
		rt.serveOwn(rw, r, path) // counted in flight, not recorded
		return
	}
	st.setAnswerID(st.w.Header())
	defer rt.record(t, st, r, start)
	if rt.refusedAtCheckIn(st, r, found, &d) {
		return
	}
	if !rt.takeRequestBody(t, rw, r, st, start) {
		return
	}
	if !rt.passKeyedLimit(r, st, start) {
		return
	}
	rank := rankFor(d.Class, d.Score)
	if st.proven && belowKnown(rank) && rank != rankSuspect {
		rank = rankProven // its nonce came with this request
	}
	if !rt.enterQueue(r, st, rank) {
		return
	}
	if !rt.passBreaker(st) {
		return
	}
	st.forwarded = true
	st.id() // the backend is told the request id
	rt.relay(&st.w, r, st)
}

// abortIf closes the connection without an answer when the client left
// mid-body (net/http would otherwise answer 200 to whoever still listens).
func abortIf(st *requestState) {
	if st.abort {
		panic(http.ErrAbortHandler)
	}
}

// serveOwn serves the router's own endpoint at path (normalised).
func (rt *Router) serveOwn(rw http.ResponseWriter, r *http.Request, path string) {
	switch path {
	case "/__lbheartbeat__":
		rt.serveLBHeartbeat(rw)
	case "/__version__":
		rt.serveVersion(rw)
	case "/__heartbeat__":
		rt.heartbeat.ServeHTTP(rw, r)
	}
}

// outcome judges a forwarded request for the backend-level breaker: the
// backend failed when it answered 5xx or could not be reached; a client
// going away, or the router refusing, says nothing about it.
func outcome(st *requestState) breaker.Result {
	code := st.w.code()
	switch {
	case st.bodyFault(nil) != bodyOK:
		return breaker.Ignore // the client's body failed, not the backend
	case st.bodyBroke:
		return breaker.Failure
	case code == StatusClientClosed || st.reason != "":
		return breaker.Ignore
	case code >= 500:
		return breaker.Failure
	}
	return breaker.Success
}

// refuse answers a request the router itself turns away.
func (rt *Router) refuse(st *requestState, reason stats.Reason, code int) {
	rt.markRefusal(st, reason, code)
	st.reason = reason.String()
	rt.rec.Rejected(reason)
	writeSmall(&st.w, code, http.StatusText(code))
}

// finish records the request: stats and the access log. method and path
// are only read during the call. It returns the time it took as the end.
func (rt *Router) finish(t *table, st *requestState, method, path string, start time.Time) (end time.Time) {
	var dur time.Duration
	if rt.realClock {
		dur = time.Since(start) // one clock reading, not time.Now's two
		end = start.Add(dur)
	} else {
		end = rt.now()
		dur = end.Sub(start)
	}
	code := st.w.code()
	rt.admissionDone(st, code, end)
	s := &st.stat
	if st.route != nil {
		s.Route = st.route.name
		if st.route.perAPI {
			s.API = st.route.apiName(path)
		}
	}
	if st.backend != nil {
		// A refusal counts under its route's backend, as its access line says.
		s.Backend = st.backend.name
	}
	if st.backend != nil && st.reason == "" {
		s.BackendLatency = st.upstreamDur
		s.BackendError = st.err != nil && code != StatusClientClosed && !st.retried()
		if st.target != nil && st.upstreamDur > 0 {
			st.target.lat.observe(st.upstreamDur)
		}
	}
	s.Code, s.Duration = code, dur
	rt.rec.Request(s)

	if st.err != nil && code != StatusClientClosed {
		rt.logForwardError(st, code)
	}
	if !t.accessLog || !rt.access.Allow(end) {
		return
	}
	rt.logAccess(t, st, method, path, code, dur)
	return end
}

// logAccess writes the request's access line, when the logger takes it.
func (rt *Router) logAccess(t *table, st *requestState, method, path string, code int, dur time.Duration) {
	if ce := rt.log.Check(zap.InfoLevel, stats.AccessMessage); ce != nil {
		var bytesIn int64
		if st.body != nil {
			bytesIn = st.body.n
		}
		backend := ""
		if st.backend != nil {
			backend = st.backend.name
		}
		af := accessFieldsPool.Get().(*accessFields)
		route := ""
		if st.route != nil {
			route = st.route.name
		}
		fields := append(af[:0],
			zap.String("method", method),
			zap.String("path", truncate(path, 256)),
			zap.String("query", truncate(t.redact.redactQuery(st.query), 512)),
			zap.String("host", truncate(st.host, 256)),
			zap.Int("status", code),
			zap.String("route", route),
			zap.String("backend", backend),
			rt.targetField(st),
			zap.Float64("duration_ms", float64(dur.Microseconds())/1000),
			zap.Int64("bytes_in", bytesIn),
			zap.Int64("bytes_out", st.w.bytes),
			zap.Stringer("client", st.client),
			zap.String("user_agent", truncate(st.userAgent, 256)),
			zap.String("request_id", st.id()),
		)
		fields = st.verdictFields(fields)
		ce.Write(fields...)
		*af = accessFields{} // drop the strings and values it points to
		accessFieldsPool.Put(af)
	}
}

// admissionDone tells admission how an admitted request ended, and counts
// an auth failure against its keyed value (keyed.go).
func (rt *Router) admissionDone(st *requestState, code int, end time.Time) {
	if st.admitted {
		dc := code
		if st.reason != "" {
			dc = StatusClientClosed // the router's own answer says nothing of the client
		}
		rt.adm.Done(end, st.key, dc, st.route.auth)
	}
	rt.countKeyFailure(st, code, end)
}

// verdictFields appends the access line's fields that only some requests
// have: why the router refused it, the rule that decided it.
func (st *requestState) verdictFields(fields []zapcore.Field) []zapcore.Field {
	if st.reason != "" {
		fields = append(fields, zap.String("refused", st.reason))
	}
	if st.rule != "" {
		fields = append(fields, zap.String("rule", st.rule))
	}
	return fields
}

// retried reports whether a failed attempt was retried on another target
// that answered: the client was served.
func (st *requestState) retried() bool {
	return st.failed != nil && st.target != st.failed
}

// logForwardError logs a request whose forwarding went wrong: at error level
// when the client got the failure, as a warning naming both targets when a
// retry on another target served it.
func (rt *Router) logForwardError(st *requestState, code int) {
	if st.retried() {
		if ce := rt.log.Check(zap.WarnLevel, "forward retried"); ce != nil {
			ce.Write(zap.String("backend", st.backend.name), zap.String("failed_target", st.failed.raw),
				rt.targetField(st), zap.Int("status", code), zap.Int("attempts", st.attempts),
				zap.String("request_id", st.id()), zap.Error(st.err))
		}
		return
	}
	if ce := rt.log.Check(zap.ErrorLevel, "forward failed"); ce != nil {
		ce.Write(zap.String("backend", st.backend.name), rt.targetField(st),
			zap.Int("status", code), zap.Int("attempts", st.attempts),
			zap.String("request_id", st.id()), zap.Error(st.err))
	}
}

func (rt *Router) targetField(st *requestState) zapcore.Field {
	if st.target == nil {
		return zap.String("target", "")
	}
	return zap.String("target", st.target.raw)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
