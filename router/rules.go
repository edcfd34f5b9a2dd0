package router

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
	"github.com/bulwark-router/bulwark/rules"
	"github.com/bulwark-router/bulwark/stats"
)

// Rules returns the engine running the router's rules (config and live).
func (rt *Router) Rules() *rules.Engine { return rt.rules }

// classOf is client.class for rules: the admission's class of the client.
func (rt *Router) classOf(client netip.Addr) string {
	t := rt.table.Load()
	return rt.adm.ClassOf(rt.now(), t.clientIP.Key(client)).String()
}

// applyRules runs the rules over a request net/http read (a.req) whose
// route is found, and returns what admission should do next: the policy to
// admit under (nil when an allow rule matched) and, when a rule refused the
// request, the check result.
func (rt *Router) applyRules(rs *rules.Set, st *requestState, start time.Time, p *ratelimit.Policy) (*ratelimit.Policy, checkResult, bool) {
	r := st.req
	req := &rules.Request{Method: r.Method, Host: r.Host, Path: st.path,
		Header: r.Header, RawQuery: r.URL.RawQuery, BodySize: r.ContentLength,
		Client: st.client, Classify: rt.classify, Verified: st.hasToken || st.verified,
		BodyPending: st.route != nil && st.route.inspect > 0}
	v := rs.Eval(req, start)
	st.rule = v.Named
	switch v.Action {
	case rules.Deny:
		st.ruleDeny = v.Rule
		st.reason = stats.Rule.String()
		return p, checkRuleDenied, true
	case rules.Limit:
		st.ruleWait = v.RetryAfter
		st.reason = stats.RateLimit.String()
		return p, checkRuleLimited, true
	case rules.Allow:
		return nil, 0, false
	case rules.Challenge:
		if rt.ch != nil {
			return p, checkRuleChallenged, true
		}
	}
	return p, 0, false
}

// refuseByRule answers a request a rule refused (checkRuleDenied,
// checkRuleLimited or checkRuleChallenged).
func (rt *Router) refuseByRule(st *requestState, r *http.Request, found checkResult) {
	w := &st.w
	if found == checkRuleChallenged {
		rt.ch.answer(rt, st, r, stats.Rule)
		return
	}
	if found == checkRuleLimited {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(st.ruleWait)))
		rt.refuse(st, stats.RateLimit, http.StatusTooManyRequests)
		return
	}
	rt.rec.Rejected(stats.Rule)
	writeSmall(w, st.ruleDeny.DenyStatus(), st.ruleDeny.DenyBody())
}

// shareLiveRules shares the live rules through the limit store, signed
// under abuse.key_secret_file's secret; without a store or a secret they
// stay on this router. Read at start only.
func (rt *Router) shareLiveRules(cfg *config.Config) error {
	if cfg.LimitStore == nil {
		return nil
	}
	if cfg.Abuse.KeySecret == "" {
		rt.log.Warn("live rules stay on this router: sharing them needs abuse.key_secret_file")
		return nil
	}
	rdb, err := redisstore.NewClient(cfg.LimitStore, time.Second)
	if err != nil {
		return err
	}
	f, err := rt.rules.ShareLive(rdb, []byte(cfg.Abuse.KeySecret))
	if err != nil {
		rdb.Close()
		return err
	}
	rt.rulesFleet = f
	return nil
}
