package rules

import (
	"fmt"
	"strings"
	"testing"
)

// twentyRules are 20 rules each pre-filtered on a path none of the
// benchmark's requests takes but the last, which matches /login.
func twentyRules(last string) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range 19 {
		fmt.Fprintf(&b, "  - {name: r%d, when: 'request.method == \"POST\" && request.path.startsWith(\"/api/v%d/\") && request.headers[\"x-k\"] == \"v\"', action: deny}\n", i, i)
	}
	fmt.Fprintf(&b, "  - {name: last, when: '%s', action: tag}\n", last)
	return b.String()
}

// BenchmarkRules20NoMatch: a request through 20 rules, none of whose
// pre-filters lets it through. Budget: 1µs, 0 allocations.
func BenchmarkRules20NoMatch(b *testing.B) {
	e := engine(&testing.T{}, nil, twentyRules(`request.method == "PUT" && request.path == "/nowhere"`))
	s := e.Current()
	q := req("GET", "/static/app.js", "User-Agent", "Mozilla/5.0")
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Eval(q, t0); v.Action != None {
			b.Fatal(v)
		}
	}
}

// BenchmarkRules20LastMatches: 19 pre-filtered out, the last one's
// expression evaluated and matching.
func BenchmarkRules20LastMatches(b *testing.B) {
	e := engine(&testing.T{}, nil, twentyRules(`request.method == "POST" && request.path.startsWith("/login") && request.user_agent.contains("curl")`))
	s := e.Current()
	q := req("POST", "/login", "User-Agent", "curl/8.5")
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Eval(q, t0); v.Named != "last" {
			b.Fatal(v)
		}
	}
}

// BenchmarkRules20LastMatchesHeaders: the last rule reads a header map.
func BenchmarkRules20LastMatchesHeaders(b *testing.B) {
	e := engine(&testing.T{}, nil, twentyRules(`request.path.startsWith("/login") && request.headers[?"x-requested-with"].orValue("") == ""`))
	s := e.Current()
	q := req("POST", "/login", "User-Agent", "curl/8.5", "Accept", "*/*", "Content-Type", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Eval(q, t0); v.Named != "last" {
			b.Fatal(v)
		}
	}
}

func TestRules20NoMatchAllocatesNothing(t *testing.T) {
	e := engine(t, nil, twentyRules(`request.method == "PUT" && request.path == "/nowhere"`))
	s := e.Current()
	q := req("GET", "/static/app.js")
	if n := testing.AllocsPerRun(100, func() { s.Eval(q, t0) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}
