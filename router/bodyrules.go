package router

import (
	"net/http"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/rules"
	"github.com/bulwark-router/bulwark/stats"
)

// inspectOf is how much of a body rules may read on route rc: its keyed
// policy's max_inspect_bytes when the key reads the body, else with
// inspect_body the route's policy's (16 KiB without one); 0: none.
func inspectOf(cfg *config.Config, rc *config.Route, k *keyedLimit) int {
	if k != nil && k.readsBody() {
		return k.inspect
	}
	if !rc.InspectBody {
		return 0
	}
	if p := cfg.Limits[rc.Limit]; p != nil && p.MaxInspectBytes > 0 {
		return int(p.MaxInspectBytes)
	}
	return config.DefaultMaxInspectBytes
}

// passBodyRules runs the rules that read the body (request.json,
// request.form) on a route that inspects bodies, once the body is read;
// the others ran before admission. It answers a request they refuse and
// reports whether an allow rule matched (the keyed limit is skipped) and
// whether the request goes on.
func (rt *Router) passBodyRules(r *http.Request, st *requestState, start time.Time) (allow, ok bool) {
	rs := rt.rules.Current()
	if st.route.inspect == 0 || !rs.ReadBody(r.Method, r.Host, st.path) {
		return false, true
	}
	var body []byte
	if st.bs != nil {
		body = st.bs.held.b
		if len(body) > st.route.inspect {
			body = body[:st.route.inspect]
		}
	}
	req := &rules.Request{Method: r.Method, Host: r.Host, Path: st.path,
		Header: r.Header, RawQuery: r.URL.RawQuery, BodySize: r.ContentLength,
		Client: st.client, Classify: rt.classify, Verified: st.hasToken || st.verified, Body: body}
	v := rs.EvalBody(req, start)
	if v.Named != "" {
		st.rule = v.Named
	}
	switch v.Action {
	case rules.Deny:
		st.ruleDeny = v.Rule
		st.reason = stats.Rule.String()
		rt.refuseByRule(st, r, checkRuleDenied)
		return false, false
	case rules.Limit:
		st.ruleWait = v.RetryAfter
		st.reason = stats.RateLimit.String()
		rt.refuseByRule(st, r, checkRuleLimited)
		return false, false
	case rules.Challenge:
		if rt.ch != nil {
			rt.refuseByRule(st, r, checkRuleChallenged)
			return false, false
		}
	case rules.Allow:
		return true, true
	}
	return false, true
}
