// Package rules runs the operator's rules (config `rules:` and
// /admin/api/rules): conditions over a request's features, written in CEL
// (cel.dev/cel-go), that deny, limit, tag or allow the requests they match.
// Expressions are compiled once; each rule is pre-filtered by the method,
// host and path its expression requires, so a request pays only for the
// rules that may apply to it.
package rules

import (
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/limitkey"
	"github.com/bulwark-router/bulwark/rules/celenv"
)

// Action is what a matched rule does.
type Action uint8

const (
	None  Action = iota // no rule decided
	Deny                // answer with the rule's status and body
	Limit               // the rule's policy bucket for the key is empty: 429
	Allow               // skip the remaining rules and the route's rate limit
	Tag                 // count and name the request in logs, go on
	// Challenge: a client without a reputation token or a solved
	// challenge (Request.Verified) gets a challenge; one with passes on.
	Challenge
)

func actionOf(s string) Action {
	switch s {
	case "deny":
		return Deny
	case "limit":
		return Limit
	case "allow":
		return Allow
	case "challenge":
		return Challenge
	}
	return Tag
}

// Origin says where a rule comes from.
const (
	OriginFile = "file"
	OriginLive = "live"
)

// Rule is one compiled rule. Immutable but for its counters.
type Rule struct {
	config.Rule
	Origin  string
	Version uint64    // live rules: the change that made it
	Expires time.Time // zero: never
	By      string    // live rules: the admin token's name
	action  Action
	prg     cel.Program
	pre     prefilter
	body    bool              // reads request.json or request.form
	limit   *limitkey.Buckets // action limit
	stats   *Counters
}

// Counters are a rule's matches. They survive a rule's recompilation
// under the same name and origin.
type Counters struct {
	total  atomic.Uint64
	errors atomic.Uint64 // evaluations that failed (no match)
	sec    atomic.Int64  // the second cur counts
	cur    atomic.Uint64
	last   atomic.Uint64 // the second before sec
}

func (c *Counters) hit(sec int64) {
	c.total.Add(1)
	if old := c.sec.Load(); old != sec && c.sec.CompareAndSwap(old, sec) {
		prev := c.cur.Swap(0)
		if old != sec-1 {
			prev = 0
		}
		c.last.Store(prev)
	}
	c.cur.Add(1)
}

// Total is how many requests the rule matched.
func (c *Counters) Total() uint64 { return c.total.Load() }

// Errors is how many evaluations failed (taken as no match).
func (c *Counters) Errors() uint64 { return c.errors.Load() }

// PerSecond is the matches in the last whole second before now.
func (c *Counters) PerSecond(now time.Time) uint64 {
	switch c.sec.Load() {
	case now.Unix():
		return c.last.Load()
	case now.Unix() - 1:
		return c.cur.Load()
	}
	return 0
}

// ReadsBody reports whether the rule reads request.json or request.form.
func (r *Rule) ReadsBody() bool { return r.body }

// Counters returns the rule's counters.
func (r *Rule) Counters() *Counters { return r.stats }

// Prefilter describes the rule's pre-filter, for listings.
func (r *Rule) Prefilter() (methods []string, host, pathPrefix string, exact bool) {
	return r.pre.methods, r.pre.host, r.pre.pathPrefix, r.pre.pathExact
}

// compileRule compiles c; counters and buckets come from the engine.
func compileRule(c config.Rule) (*Rule, error) {
	ast, prg, err := celenv.Compile(c.When)
	if err != nil {
		return nil, err
	}
	return &Rule{Rule: c, action: actionOf(c.Action), prg: prg, pre: extractPrefilter(ast.NativeRep().Expr()),
		body: celenv.ReadsBody(ast)}, nil
}
