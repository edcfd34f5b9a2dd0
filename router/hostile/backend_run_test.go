package hostile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// backendCase is one backend-side case: a client sends one well-formed
// request, the backend answers it with its script, and the client's answer
// must be one of want. The backend must see the request exactly once (or
// up to seenMax times) and nothing else but what the clients sent.
type backendCase struct {
	family string
	name   string
	req    string // default: GET /{H}/b
	method string // default GET; HEAD when the answer has no body
	script script
	early  bool // the script runs before the request's body is read
	want   []expect
	// check, when set, judges an answer that matched want; "" is fine.
	check   func(a *answer) string
	seenMax int // default 1
}

// expect is one acceptable answer of a backend case.
type expect struct {
	code int
	body string
	any  bool // any body
	cut  bool // the body breaks off (the router learnt of the fault after the head was out)
}

func (e expect) String() string {
	switch {
	case e.cut:
		return fmt.Sprintf("%d cut short", e.code)
	case e.any:
		return fmt.Sprint(e.code)
	}
	return fmt.Sprintf("%d %q", e.code, e.body)
}

func (e expect) matches(a *answer) bool {
	if a.code != e.code {
		return false
	}
	if e.cut {
		return a.bodyErr != nil
	}
	return a.bodyErr == nil && (e.any || a.body == e.body)
}

// ok is a clean answer with the given code and body.
func ok(code int, body string) expect { return expect{code: code, body: body} }

// fault: the backend broke the protocol. The client gets a 502, or, when
// the head was already out, an answer cut short (its connection closed).
func fault() []expect { return []expect{{code: 502, any: true}, {code: 200, cut: true}} }

// badGateway: a 502 only.
func badGateway() []expect { return []expect{{code: 502, any: true}} }

func backendCases() []backendCase {
	var all []backendCase
	for _, fam := range [][]backendCase{lateBytesCases(), lengthAnswerCases(), statusCases(), fieldAnswerCases(),
		interimCases(), timingCases()} {
		all = append(all, fam...)
	}
	return all
}

func TestBackendCases(t *testing.T) {
	var jobs []job
	for i, c := range backendCases() {
		for _, tr := range transports {
			jobs = append(jobs, job{name: tr + "/" + c.family + "/" + c.name, run: func(t *testing.T) {
				runBackendCase(t, &c, newMarkers(i), tr)
			}})
		}
	}
	runJobs(t, jobs)
}

func runBackendCase(t *testing.T, c *backendCase, m markers, tr string) {
	be := newScriptedBackend(t, m, c.script)
	be.early = c.early
	_, addr := startRouter(t, routerYAML(be.url(), tr, "{disabled: true}"))
	inn := startInnocent(addr, m, func() { be.idle(answerWait) })
	req := c.req
	if req == "" {
		req = "GET /{H}/b HTTP/1.1\r\nHost: h\r\n\r\n"
	}
	method := c.method
	if method == "" {
		method = "GET"
	}
	var problems []string
	var probes []string
	cl, err := dialRouter(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.write(m.fill(req)); err != nil {
		problems = append(problems, fmt.Sprintf("write: %v", err))
	}
	a, err := cl.read(method)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("no answer: %v, want one of %v", err, c.want))
	case !slices.ContainsFunc(c.want, func(e expect) bool { return e.matches(a) }):
		problems = append(problems, fmt.Sprintf("answer %v, want one of %v", a, c.want))
	default:
		if c.check != nil {
			if p := c.check(a); p != "" {
				problems = append(problems, p)
			}
		}
		if a.bodyErr == nil && a.code != 101 {
			be.idle(answerWait) // late bytes first
			key, p := probeAfter(cl, m)
			probes = append(probes, key)
			problems = append(problems, p...)
		}
	}
	cl.close()
	got := cl.got.String()
	inn.finish()
	if !be.idle(answerWait) {
		problems = append(problems, "backend script still running")
	}
	fsent, ferrs := followUp(addr, m)

	for _, e := range inn.errs {
		problems = append(problems, "innocent client: "+e)
	}
	problems = append(problems, ferrs...)
	problems = append(problems, be.notes()...)
	if f := m.foreign(got); f != "" {
		problems = append(problems, fmt.Sprintf("the hostile client received another client's marker %s", f))
	}
	known := append(append(slices.Clone(inn.sent), fsent...), probes...)
	rest, lp := sortLog(be.requests(), m, known)
	problems = append(problems, lp...)
	seen := 0
	for _, r := range rest {
		switch {
		case r.err != "" && !(c.early && strings.HasPrefix(r.err, "body")):
			problems = append(problems, fmt.Sprintf("backend could not read %q: %s", truncate(r.head, 200), r.err))
		case !strings.Contains(r.target, m.H):
			problems = append(problems, fmt.Sprintf("backend saw %q, which no client sent", truncate(r.key(), 200)))
		default:
			seen++
		}
	}
	if most := max(c.seenMax, 1); seen < 1 || seen > most {
		problems = append(problems, fmt.Sprintf("backend saw the request %d times, want 1..%d", seen, most))
	}
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("client received: %q", truncate(got, 600))
		for _, r := range be.requests() {
			t.Logf("backend saw (conn %d): %q err=%q", r.conn, truncate(r.head, 300), r.err)
		}
	}
}

// probeAfter sends a probe on a connection whose last answer was whole:
// the connection is closed, or the probe gets its own answer.
func probeAfter(cl *rawClient, m markers) (key string, problems []string) {
	key, _, problems = probe(cl, m, false)
	return key, problems
}
