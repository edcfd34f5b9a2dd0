package rules

import (
	"github.com/bulwark-router/bulwark/limitkey"
	"testing"
)

// FuzzParseRule: any bytes given as a rule (the admin API's body) are
// either refused with errors or make a rule that compiles and evaluates
// without panicking.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","when":"request.path == \"/x\"","action":"deny"}`,
		`{name: b, when: 'request.method in ["GET"] && request.headers["x"] == "y"', action: tag, dry_run: true}`,
		`{name: c, when: 'in_network(client.ip, "10.0.0.0/8")', action: limit, limit: login, ttl: 5m}`,
		`{name: d, when: 'request.query[?"q"].orValue("").size() > 100', action: deny, status: 400, body: no}`,
		`{name: e, when: '((((((((((true))))))))))', action: allow}`,
		`[1, 2]`, `name: [`, "",
	} {
		f.Add([]byte(s))
	}
	c := loadConfig(f, "")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := c.ParseRule(data)
		if err != nil {
			return
		}
		cr, err := compileRule(*r)
		if err != nil {
			t.Fatalf("validated rule does not compile: %v", err)
		}
		cr.stats = new(Counters)
		cr.limit = limitkey.NewBuckets(1, 1)
		s := &Set{rules: []*Rule{cr}, rec: nopRec{}}
		q := req("POST", "/x", "X", "y", "Cookie", "a=b")
		q.RawQuery = "q=1&r=%zz"
		s.Eval(q, t0)
	})
}

type nopRec struct{}

func (nopRec) DeclareRule(string, string) {}
func (nopRec) RuleMatched(string, string) {}
