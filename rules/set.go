package rules

import (
	"github.com/bulwark-router/bulwark/limitkey"
	"time"

	"cel.dev/cel-go/common/types"

	"github.com/bulwark-router/bulwark/stats"
)

// Set is one generation of the rules, in the order they run. Immutable.
type Set struct {
	rules []*Rule
	rec   stats.RuleRecorder
	netV4 int
	netV6 int
}

// Verdict is what the rules decided for one request.
type Verdict struct {
	Action Action
	// Rule decided (Deny, Limit, Allow); nil with None.
	Rule *Rule
	// Named is the rule the access log names: Rule, else the last tag or
	// dry-run rule that matched; "" when none.
	Named string
	// RetryAfter is a Limit's wait for a token.
	RetryAfter time.Duration
}

// Rules returns the rules in order; the slice must not be changed.
func (s *Set) Rules() []*Rule {
	if s == nil {
		return nil
	}
	return s.rules
}

// Empty reports whether there is no rule.
func (s *Set) Empty() bool { return s == nil || len(s.rules) == 0 }

// MayMatch reports whether some rule's pre-filter lets a request of
// method, host and path through: only then can Eval decide anything.
func (s *Set) MayMatch(method, host, path string) bool {
	if s == nil {
		return false
	}
	for _, r := range s.rules {
		if r.pre.match(method, host, path) {
			return true
		}
	}
	return false
}

// Eval runs the rules over req at now, in order, until one decides. key is
// the client's admission key, which limit rules count under. A request no
// pre-filter lets through costs no allocation.
func (s *Set) Eval(req *Request, now time.Time) Verdict { return s.eval(req, now, false) }

// EvalBody runs only the rules that read the body (request.json,
// request.form), once the body of a route that inspects bodies is read
// (req.Body); Eval skipped them while req.BodyPending.
func (s *Set) EvalBody(req *Request, now time.Time) Verdict {
	req.BodyPending = false
	return s.eval(req, now, true)
}

// ReadBody reports whether some rule reads the body and its pre-filter
// lets a request of method, host and path through.
func (s *Set) ReadBody(method, host, path string) bool {
	if s == nil {
		return false
	}
	for _, r := range s.rules {
		if r.body && r.pre.match(method, host, path) {
			return true
		}
	}
	return false
}

func (s *Set) eval(req *Request, now time.Time, bodyOnly bool) Verdict {
	var v Verdict
	if s == nil {
		return v
	}
	var act *activation
	defer func() {
		if act != nil {
			*act = activation{}
			activationPool.Put(act)
		}
	}()
	for _, r := range s.rules {
		if !r.pre.match(req.Method, req.Host, req.Path) ||
			r.body && req.BodyPending || bodyOnly && !r.body {
			continue
		}
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			continue
		}
		if act == nil {
			act = activationPool.Get().(*activation)
			if req.NetV4 == 0 {
				req.NetV4, req.NetV6 = s.netV4, s.netV6
			}
			act.r = req
		}
		out, _, err := r.prg.Eval(act)
		if err != nil {
			r.stats.errors.Add(1)
			continue
		}
		if out != types.True {
			continue
		}
		r.stats.hit(now.Unix())
		s.rec.RuleMatched(r.Name, r.Action)
		if r.DryRun || r.action == Tag {
			v.Named = r.Name
			continue
		}
		switch r.action {
		case Allow, Deny:
			v.Action, v.Rule, v.Named = r.action, r, r.Name
			return v
		case Challenge:
			v.Named = r.Name
			if !req.Verified {
				v.Action, v.Rule = Challenge, r
				return v
			}
		case Limit:
			if ok, wait := r.limit.Take(limitkey.AddrKey(req.Client), now.UnixNano()); !ok {
				v.Action, v.Rule, v.Named, v.RetryAfter = Limit, r, r.Name, wait
				return v
			}
			v.Named = r.Name
		}
	}
	return v
}
