package router

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/limitkey"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/rules"
	"github.com/bulwark-router/bulwark/stats"
)

// keyedLimit is a route's policy whose buckets belong to a value of the
// request (limits.POLICY.key other than client): an account, an API key.
// Immutable; its buckets survive reloads that keep the policy.
type keyedLimit struct {
	policy  string
	spec    limitkey.Spec
	inspect int // max_inspect_bytes
	dryRun  bool
	buckets *limitkey.Buckets
	// fails counts auth failures per value on an abuse: auth route
	// (abuse.auth_failures.max within .within); nil when not counted.
	fails    *limitkey.Buckets
	statuses []int
	// rates of buckets and fails, for the limit store (keyedstore.go).
	perSec, failPerSec float64
	burst, failBurst   int
	// expr computes the key (limits.POLICY.key: expr:...); nil otherwise.
	expr *rules.KeyExpr
}

type keyedID struct {
	policy, key, fold string
	perSec            float64
	burst             int
}

// keyedFor returns the keyed limit of policy name in cfg, nil when the
// policy is keyed by client (or absent). Called under updateMu.
func (rt *Router) keyedFor(cfg *config.Config, name string, keep map[keyedID]*limitkey.Buckets) *keyedLimit {
	p := cfg.Limits[name]
	if p == nil {
		return nil
	}
	spec, err := limitkey.ParseSpec(p.Key)
	if err != nil || spec.Kind == limitkey.Client {
		return nil
	}
	spec.Fold = p.KeyFold == "lower"
	id := keyedID{name, p.Key, p.KeyFold, p.Rate.PerSecond(), p.Burst}
	b := rt.bucketsFor(id, keep)
	k := &keyedLimit{policy: name, spec: spec, inspect: int(p.MaxInspectBytes), dryRun: p.DryRun, buckets: b,
		perSec: id.perSec, burst: id.burst}
	if spec.Kind == limitkey.Expr {
		if k.expr, err = rules.CompileKey(spec.Name); err != nil {
			return nil // config validation compiled it already
		}
	}
	return k
}

// bucketsFor returns id's buckets: the running ones, so a reload keeps
// their counts, else those made earlier in this build, else new ones. It
// keeps them in keep.
func (rt *Router) bucketsFor(id keyedID, keep map[keyedID]*limitkey.Buckets) *limitkey.Buckets {
	b := rt.keyedBuckets[id]
	if b == nil {
		b = keep[id]
	}
	if b == nil {
		b = limitkey.NewBuckets(id.perSec, id.burst)
	}
	keep[id] = b
	return b
}

// withFailures returns k counting auth failures per value for route
// (abuse: auth) under abuse.auth_failures; k itself when they are off.
func (rt *Router) withFailures(cfg *config.Config, k *keyedLimit, route string, keep map[keyedID]*limitkey.Buckets) *keyedLimit {
	af := cfg.Abuse.AuthFailures
	if k == nil || af.Max <= 0 || af.Within <= 0 {
		return k
	}
	id := keyedID{policy: k.policy, key: "auth-failures " + route, perSec: float64(af.Max) / af.Within.D().Seconds(), burst: af.Max}
	b := rt.bucketsFor(id, keep)
	kk := *k
	kk.fails, kk.statuses = b, af.Statuses
	kk.failPerSec, kk.failBurst = id.perSec, id.burst
	return &kk
}

// countKeyFailure counts an auth failure against the request's value
// (admitKeyed set st.failKey) when its answer is one.
func (rt *Router) countKeyFailure(st *requestState, code int, end time.Time) {
	if st.failKey == 0 || st.route == nil || st.route.keyed == nil || st.route.keyed.fails == nil {
		return
	}
	k := st.route.keyed
	for _, s := range k.statuses {
		if s == code {
			rt.takeKeyFailure(k, st.failKey, end)
			return
		}
	}
}

// admitKeyed spends a token of the request's key; it returns 0 when the
// request may go on, else the status to refuse it with (400 for a JSON
// body with the field twice, 429 for an empty bucket). A known client of
// the value (an account's own user) has its own bucket for it, so
// strangers hammering the value do not lock it out.
func (rt *Router) admitKeyed(k *keyedLimit, r *http.Request, st *requestState, start time.Time) int {
	var key uint64
	h := rt.hasher.Load()
	switch k.spec.Kind {
	case limitkey.Network:
		p, _ := st.client.Prefix(map[bool]int{true: 24, false: 48}[st.client.Is4()])
		key = h.Sum(k.policy, p.String())
	default:
		var body []byte
		if k.readsBody() && st.bs != nil {
			body = st.bs.held.b
			if len(body) > k.inspect {
				body = body[:k.inspect]
			}
		}
		var v string
		var res limitkey.Result
		if k.expr != nil {
			v, res = rt.exprKey(k, r, st, body)
		} else {
			v, res = limitkey.Extract(k.spec, r.Header, r.URL.RawQuery, body)
		}
		switch res {
		case limitkey.Duplicate:
			return http.StatusBadRequest
		case limitkey.Missing:
			key = h.Missing(k.policy, st.key)
		default:
			known := false
			switch rt.adm.ClassOf(start, st.key) {
			case ratelimit.ClassKnown, ratelimit.ClassAllowlisted:
				known = true
			}
			if k.fails != nil {
				// Too many failures on the value: strangers are
				// refused until they age out; its known clients are not.
				st.failKey = h.Sum("auth "+k.policy, v)
				if !known && !k.dryRun && rt.keyFailuresSpent(k, st.failKey, start) {
					return http.StatusForbidden
				}
			}
			if known {
				b := st.key.As16()
				v += "\x00" + string(b[:])
			}
			key = h.Sum(k.policy, v)
		}
	}
	ok, wait := rt.takeKey(k, key, start)
	if ok || k.dryRun {
		return 0
	}
	st.ruleWait = wait
	return http.StatusTooManyRequests
}

// refuseKeyed answers a request admitKeyed refused with code.
func (rt *Router) refuseKeyed(st *requestState, code int) {
	if code == http.StatusForbidden {
		rt.refuse(st, stats.Banned, code)
		return
	}
	if code == http.StatusBadRequest {
		st.w.Header()["Connection"] = connClose
		rt.refuse(st, stats.BadRequest, code)
		return
	}
	st.w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(st.ruleWait)))
	rt.refuse(st, stats.RateLimit, code)
}

// readsBody reports whether k's key is read from the body: json:, form:,
// or an expression reading request.json or request.form.
func (k *keyedLimit) readsBody() bool {
	return k.spec.Body() || k.expr != nil && k.expr.ReadsBody()
}

// exprKey is the value of k's expression key for r (body: the start of
// its body when the expression reads it).
func (rt *Router) exprKey(k *keyedLimit, r *http.Request, st *requestState, body []byte) (string, limitkey.Result) {
	req := &rules.Request{Method: r.Method, Host: r.Host, Path: st.path,
		Header: r.Header, RawQuery: r.URL.RawQuery, BodySize: r.ContentLength,
		Client: st.client, Classify: rt.classify, Verified: st.hasToken || st.verified, Body: body}
	v, ok := k.expr.Value(req)
	if !ok {
		return "", limitkey.Missing
	}
	return limitkey.Normalize(k.spec, v)
}
