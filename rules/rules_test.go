package rules

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func req(method, path string, hdr ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	return &Request{Method: method, Host: "example.com", Path: path, Header: h, BodySize: -1,
		Client: netip.MustParseAddr("203.0.113.7")}
}

func engine(t *testing.T, rec stats.Recorder, yaml string) *Engine {
	t.Helper()
	e := NewEngine(zaptest.NewLogger(t), rec, func() time.Time { return t0 })
	if err := e.Update(loadConfig(t, yaml)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPrefilterExtraction(t *testing.T) {
	for _, tc := range []struct {
		expr    string
		methods []string
		host    string
		prefix  string
		exact   bool
	}{
		{`request.method == "POST" && request.path.startsWith("/login")`, []string{"POST"}, "", "/login", false},
		{`request.method in ["GET", "HEAD"] && request.host == "a.example" && request.path == "/x"`, []string{"GET", "HEAD"}, "a.example", "/x", true},
		{`"/api" == request.path`, nil, "", "/api", true},
		// A disjunction requires nothing in particular: no pre-filter.
		{`request.method == "POST" || request.path.startsWith("/a")`, nil, "", "", false},
		{`request.headers["user-agent"].contains("curl")`, nil, "", "", false},
		// A method list that is not all literals is left alone.
		{`request.method in ["GET", request.host]`, nil, "", "", false},
	} {
		r, err := compileRule(config.Rule{Name: "x", When: tc.expr, Action: "tag"})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		m, h, p, ex := r.Prefilter()
		if !slices.Equal(m, tc.methods) || h != tc.host || p != tc.prefix || ex != tc.exact {
			t.Errorf("%s: prefilter %v %q %q %v, want %v %q %q %v", tc.expr, m, h, p, ex, tc.methods, tc.host, tc.prefix, tc.exact)
		}
	}
}

// The pre-filter never turns away a request the expression matches.
func TestPrefilterSound(t *testing.T) {
	exprs := []string{
		`request.method == "POST" && request.path.startsWith("/login")`,
		`request.method in ["GET", "HEAD"] && request.path == "/x"`,
		`request.host == "example.com" && request.body_size < 10`,
	}
	reqs := []*Request{req("POST", "/login"), req("POST", "/login/x"), req("GET", "/x"), req("HEAD", "/x"),
		req("GET", "/login"), req("PUT", "/x")}
	for _, x := range exprs {
		r, err := compileRule(config.Rule{Name: "x", When: x, Action: "tag"})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range reqs {
			act := &activation{r: q}
			out, _, err := r.prg.Eval(act)
			if err == nil && out == types.True && !r.pre.match(q.Method, q.Host, q.Path) {
				t.Errorf("%s matches %s %s but its pre-filter refuses it", x, q.Method, q.Path)
			}
		}
	}
}

func TestActions(t *testing.T) {
	e := engine(t, nil, `
rules:
  - {name: ua-tag, when: 'request.user_agent.startsWith("curl")', action: tag}
  - {name: let-office, when: 'in_network(client.ip, "198.51.100.0/24")', action: allow}
  - {name: no-empty-login, when: 'request.method == "POST" && request.path == "/login" && request.body_size >= 0 && request.body_size < 10', action: deny, status: 451, body: gone}
  - {name: bot-header, when: '"x-bot" in request.headers', action: deny, dry_run: true}
  - {name: login-limit, when: 'request.path.startsWith("/login") && request.query[?"user"].orValue("") != ""', action: limit, limit: login}
`)
	s := e.Current()
	v := s.Eval(req("GET", "/", "User-Agent", "curl/8"), t0)
	if v.Action != None || v.Named != "ua-tag" {
		t.Fatalf("tag: %+v", v)
	}
	office := req("POST", "/login")
	office.Client = netip.MustParseAddr("198.51.100.9")
	office.BodySize = 3
	if v := s.Eval(office, t0); v.Action != Allow || v.Rule.Name != "let-office" {
		t.Fatalf("allow: %+v", v)
	}
	small := req("POST", "/login")
	small.BodySize = 3
	if v := s.Eval(small, t0); v.Action != Deny || v.Rule.DenyStatus() != 451 || v.Rule.DenyBody() != "gone" {
		t.Fatalf("deny: %+v", v)
	}
	if v := s.Eval(req("GET", "/", "X-Bot", "1"), t0); v.Action != None || v.Named != "bot-header" {
		t.Fatalf("dry run: %+v", v)
	}
	lim := req("GET", "/login")
	lim.RawQuery = "user=alice"
	for i := range 2 {
		if v := s.Eval(lim, t0); v.Action != None {
			t.Fatalf("limit request %d: %+v", i, v)
		}
	}
	v = s.Eval(lim, t0)
	if v.Action != Limit || v.RetryAfter <= 0 || v.RetryAfter > time.Second {
		t.Fatalf("limit: %+v", v)
	}
	if v := s.Eval(lim, t0.Add(time.Second)); v.Action != None {
		t.Fatalf("limit after a second: %+v", v)
	}
	counts := map[string]uint64{}
	for _, r := range s.Rules() {
		counts[r.Name] = r.Counters().Total()
	}
	want := map[string]uint64{"ua-tag": 1, "let-office": 1, "no-empty-login": 1, "bot-header": 1, "login-limit": 4}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s matched %d times, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
}

// A missing header or cookie makes the expression fail: no match, counted.
func TestEvalErrorIsNoMatch(t *testing.T) {
	e := engine(t, nil, `
rules:
  - {name: c, when: 'request.cookies["session"] == "x"', action: deny}
`)
	s := e.Current()
	if v := s.Eval(req("GET", "/"), t0); v.Action != None {
		t.Fatalf("%+v", v)
	}
	if v := s.Eval(req("GET", "/", "Cookie", "a=b; session=x"), t0); v.Action != Deny {
		t.Fatalf("cookie: %+v", v)
	}
	if n := s.Rules()[0].Counters().Errors(); n != 1 {
		t.Fatalf("errors %d, want 1", n)
	}
}

func TestClassAndNetwork(t *testing.T) {
	e := engine(t, nil, `
rules:
  - {name: strangers, when: 'client.class == "new" && client.network == "203.0.113.0/24"', action: deny}
`)
	s := e.Current()
	q := req("GET", "/")
	q.Classify = func(netip.Addr) string { return "known" }
	if v := s.Eval(q, t0); v.Action != None {
		t.Fatalf("known client: %+v", v)
	}
	q.Classify = nil
	if v := s.Eval(q, t0); v.Action != Deny {
		t.Fatalf("new client: %+v", v)
	}
}

func TestCountersSurviveUpdateAndCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	st, err := stats.New(stats.Options{Prometheus: true}, reg, stats.BuildInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	yaml := `
rules:
  - {name: d, when: 'request.path == "/x"', action: deny}
`
	e := engine(t, st, yaml)
	c := testutil.ToFloat64
	vec, _ := reg.Gather()
	found := false
	for _, mf := range vec {
		if mf.GetName() == "bulwark_rule_matches_total" {
			found = true
		}
	}
	if !found {
		t.Fatal("bulwark_rule_matches_total is not declared before the rule matches")
	}
	e.Current().Eval(req("GET", "/x"), t0)
	if err := e.Update(loadConfig(t, yaml)); err != nil {
		t.Fatal(err)
	}
	e.Current().Eval(req("GET", "/x"), t0)
	if n := e.Current().Rules()[0].Counters().Total(); n != 2 {
		t.Fatalf("total %d after a reload, want 2", n)
	}
	_ = c
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP bulwark_rule_matches_total Requests a rule matched (dry-run matches included), by rule and action.
# TYPE bulwark_rule_matches_total counter
bulwark_rule_matches_total{action="deny",rule="d"} 2
`), "bulwark_rule_matches_total"); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	_, err := config.Load([]byte(baseYAML + `
rules:
  - name: ok
    when: 'request.path == "/"'
    action: deny
  - name: bad
    when: 'request.nope == 1'
    action: deny
  - name: notbool
    when: 'request.path'
    action: tag
  - name: lim
    when: 'true'
    action: limit
    limit: missing
  - name: ttl
    when: 'true'
    action: tag
    ttl: 1m
  - name: ch
    when: 'true'
    action: challenge
abuse: {challenge: {mode: "off"}}
`))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{
		"rules[1].when: ", "(line 15)",
		"rules[2].when: must be a condition (bool), not string (line 18)",
		"rules[3].limit: unknown policy \"missing\" (line 23)",
		"rules[4].ttl: only rules made through /admin/api/rules expire (line 27)",
		"rules[5].action: challenge needs abuse.challenge.mode cookie or pow",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "\n\n") || !strings.Contains(got, "undeclared reference to 'request.nope'") {
		t.Errorf("expression error not on one line or not CEL's:\n%s", got)
	}
}

func TestParseRule(t *testing.T) {
	c := loadConfig(t, "")
	r, err := c.ParseRule([]byte(`{"name":"x","when":"request.path == \"/a\"","action":"deny","ttl":"10m"}`))
	if err != nil || r.TTL.D() != 10*time.Minute {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = c.ParseRule([]byte(`{"name":"x","when":"request.path ==","action":"deny","extra":1}`))
	if err == nil || !strings.Contains(err.Error(), "rule.extra: unknown key") {
		t.Fatalf("unknown key: %v", err)
	}
	_, err = c.ParseRule([]byte(`{"name":"x","when":"request.path ==","action":"deny"}`))
	if err == nil || !strings.HasPrefix(err.Error(), "rule.when: ") {
		t.Fatalf("bad expression: %v", err)
	}
}
