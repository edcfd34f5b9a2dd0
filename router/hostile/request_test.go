package hostile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// reqCase is one request-side case: what a client sends, and the outcomes
// that are acceptable (the first whose answers match is judged).
type reqCase struct {
	family string
	name   string
	// raw is what the client writes, with {H} and {S} markers. "{WAIT100}"
	// splits it: the client waits for a 100 Continue before the rest.
	// "{CLOSE}" at its end: the client closes without reading an answer.
	// "{PAUSE}": the client pauses briefly there, so the router reads the
	// pieces apart.
	raw  string
	want []outcome
	// hdr checks fields of every hostile request the backend sees: name →
	// value, "" for a field that must be absent.
	hdr map[string]string
	// heads lists the answers (by index) that answer a HEAD.
	heads []int
	// ref: a bare net/http server answers the first request with the first
	// outcome's first status (checked by TestNetHTTPReference).
	ref bool
}

// closeMode says what becomes of the client's connection after a case's
// answers.
type closeMode uint8

const (
	// closeEither: closed, or open and a probe request gets its own answer.
	closeEither closeMode = iota
	// closeYes: the router closes it (it cannot tell where the next
	// request would start).
	closeYes
	// closeNo: it stays open and a probe gets its own answer.
	closeNo
)

// outcome is one acceptable result of a case.
type outcome struct {
	codes []int    // final answers, in order
	seen  []string // the hostile requests the backend gets, in order ("METHOD target[ body]")
	close closeMode
	// partial: the backend may also see hostile requests it cannot read
	// whole (a body the client never finished); never a complete one more.
	partial bool
	// own: the 2xx answers are the router's own (net/http answers
	// OPTIONS * itself), not forwarded ones.
	own bool
}

func (o outcome) String() string {
	return fmt.Sprintf("codes %v seen %q", o.codes, o.seen)
}

// fwd: every request is forwarded and answered 200; the connection stays.
func fwd(seen ...string) outcome {
	codes := make([]int, len(seen))
	for i := range codes {
		codes[i] = 200
	}
	return outcome{codes: codes, seen: seen, close: closeNo}
}

// refused: the router answers code itself; the backend sees nothing.
func refused(code int) outcome { return outcome{codes: []int{code}} }

// broken: the router answers code and closes, the backend sees nothing
// complete (a framing error: the router cannot tell where the next
// request starts).
func broken(code int) outcome { return outcome{codes: []int{code}, close: closeYes, partial: true} }

// gone: the client went away; nobody answers it, the backend sees nothing
// complete.
func gone() outcome { return outcome{partial: true, close: closeYes} }

func (o outcome) closing() outcome { o.close = closeYes; return o }
func (o outcome) either() outcome  { o.close = closeEither; return o }
func (o outcome) orPartial() outcome {
	o.partial = true
	return o
}

// requestCases is every request-side case, in a stable order.
func requestCases() []reqCase {
	var all []reqCase
	for _, fam := range [][]reqCase{framingCases(), chunkCases(), lengthCases(), requestLineCases(),
		targetCases(), headerCases(), hostCases(), expectUpgradeCases(), pipelineCases(), earlyCloseCases()} {
		all = append(all, fam...)
	}
	return all
}

func familyCounts() map[string]int {
	n := map[string]int{}
	for _, c := range requestCases() {
		n["request/"+c.family]++
	}
	for _, c := range backendCases() {
		n["backend/"+c.family]++
	}
	return n
}

func TestRequestCases(t *testing.T) {
	var jobs []job
	for i, c := range requestCases() {
		for _, tr := range transports {
			jobs = append(jobs, job{name: tr + "/" + c.family + "/" + c.name, run: func(t *testing.T) {
				runRequestCase(t, &c, newMarkers(i), tr)
			}})
		}
	}
	runJobs(t, jobs)
}

func runRequestCase(t *testing.T, c *reqCase, m markers, tr string) {
	be := newScriptedBackend(t, m, nil)
	srv, addr := startRouter(t, routerYAML(be.url(), tr, breakerYAML))
	inn := startInnocent(addr, m, nil)
	res := sendHostile(addr, c, m)
	inn.finish()
	if !be.idle(answerWait) {
		t.Error("backend still busy")
	}
	fsent, ferrs := followUp(addr, m)

	var problems []string
	// A request the client left may still be on its way out of the router:
	// its verdict on the breaker and what the backend sees come last.
	if !waitFor(answerWait, func() bool { return srv.Router().InFlight() == 0 }) {
		problems = append(problems, fmt.Sprintf("%d requests still in the router", srv.Router().InFlight()))
	}
	problems = append(problems, res.problems...)
	for _, e := range inn.errs {
		problems = append(problems, "innocent client: "+e)
	}
	problems = append(problems, ferrs...)
	if f := m.foreign(res.got); f != "" {
		problems = append(problems, fmt.Sprintf("the hostile client received another client's marker %s", f))
	}
	known := append(append(slices.Clone(inn.sent), fsent...), res.probes...)
	rest, lp := sortLog(be.requests(), m, known)
	problems = append(problems, lp...)
	if res.out != nil {
		problems = append(problems, judgeSeen(rest, res.out, c.hdr, m)...)
	} else {
		// No outcome matched: still no complete request the client did
		// not send may have reached the backend.
		for _, r := range rest {
			if r.err == "" && !strings.Contains(r.target, m.H) && !strings.Contains(r.target, m.S) {
				problems = append(problems, fmt.Sprintf("backend saw %q, which no client sent", truncate(r.key(), 200)))
			}
		}
	}
	if moved := breakerMoved(srv); moved != "" {
		problems = append(problems, "a client fault moved a breaker: "+moved)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("sent: %q", truncate(m.fill(c.raw), 600))
		for _, r := range be.requests() {
			t.Logf("backend saw (conn %d): %q err=%q", r.conn, truncate(r.head, 300), r.err)
		}
	}
}

// hostileResult is what the hostile client of a request case saw.
type hostileResult struct {
	answers  []*answer
	out      *outcome // the outcome its answers matched, nil when none
	got      string   // every byte it received
	probes   []string // keys of the probes it sent
	problems []string
}

// sendHostile plays a request case's client.
func sendHostile(addr string, c *reqCase, m markers) (res hostileResult) {
	cl, err := dialRouter(addr)
	if err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	defer func() { res.got = cl.got.String() }()
	defer cl.close()

	raw := m.fill(c.raw)
	leave := strings.HasSuffix(raw, "{CLOSE}")
	raw = strings.TrimSuffix(raw, "{CLOSE}")
	parts := strings.Split(raw, "{WAIT100}")
	for i, p := range parts {
		if err := writePaced(cl, p); err != nil {
			res.problems = append(res.problems, fmt.Sprintf("write: %v", err))
			break
		}
		if i < len(parts)-1 {
			a, err := cl.readInterim(firstMethod(raw))
			if err != nil {
				res.problems = append(res.problems, fmt.Sprintf("waiting for 100 Continue: %v", err))
				break
			}
			if a != nil {
				res.answers = append(res.answers, a) // a final answer instead
				break
			}
		}
	}
	if leave {
		cl.close()
		judgeAnswers(&res, c, m, nil)
		return res
	}
	most := 0
	for _, o := range c.want {
		most = max(most, len(o.codes))
	}
	var readErr error
	for len(res.answers) < most {
		method := "GET"
		if slices.Contains(c.heads, len(res.answers)) {
			method = "HEAD"
		}
		a, err := cl.read(method)
		if err != nil {
			readErr = err
			break
		}
		res.answers = append(res.answers, a)
	}
	judgeAnswers(&res, c, m, func(o *outcome) []string { return afterAnswers(cl, o, m, readErr, &res) })
	return res
}

// judgeAnswers finds the outcome the answers match and checks what
// follows them with after.
func judgeAnswers(res *hostileResult, c *reqCase, m markers, after func(*outcome) []string) {
	var codes []int
	for _, a := range res.answers {
		codes = append(codes, a.code)
	}
	// The first outcome whose answers all match; else the first whose
	// codes do, with what does not match reported.
	var first *outcome
	var firstProblems []string
	for i := range c.want {
		o := &c.want[i]
		if !slices.Equal(o.codes, codes) {
			continue
		}
		p := matchBodies(res.answers, o, c, m)
		if len(p) > 0 {
			if first == nil {
				first, firstProblems = o, p
			}
			continue
		}
		first, firstProblems = o, nil
		break
	}
	if first != nil {
		res.out = first
		res.problems = append(res.problems, firstProblems...)
		if after != nil {
			res.problems = append(res.problems, after(first)...)
		}
		return
	}
	var wants []string
	for _, o := range c.want {
		wants = append(wants, fmt.Sprint(o.codes))
	}
	var got []string
	for _, a := range res.answers {
		got = append(got, a.String())
	}
	res.problems = append(res.problems, fmt.Sprintf("answers %v (%s), want one of %s",
		codes, strings.Join(got, ", "), strings.Join(wants, " or ")))
}

// matchBodies checks the bodies of the 2xx answers against the requests
// o forwards, in order (an answer of the router's own is not compared).
func matchBodies(answers []*answer, o *outcome, c *reqCase, m markers) []string {
	if o.own {
		return nil
	}
	var problems []string
	k := 0
	for j, a := range answers {
		if a.code/100 != 2 {
			continue
		}
		if k >= len(o.seen) {
			problems = append(problems, fmt.Sprintf("answer %d is %v but the case forwards only %d requests", j, a, len(o.seen)))
			continue
		}
		want := "ok " + m.fill(o.seen[k])
		k++
		if slices.Contains(c.heads, j) {
			continue
		}
		if a.body != want || a.bodyErr != nil {
			problems = append(problems, fmt.Sprintf("answer %d: got %v, want %q", j, a, truncate(want, 200)))
		}
	}
	return problems
}

// afterAnswers checks the connection after the answers as o says: closed,
// or open with a probe answered cleanly.
func afterAnswers(cl *rawClient, o *outcome, m markers, readErr error, res *hostileResult) []string {
	if readErr != nil && !isTimeout(readErr) {
		if o.close == closeNo {
			return []string{fmt.Sprintf("the connection ended after the answers (%v), want it open", readErr)}
		}
		return nil
	}
	if o.close == closeYes {
		if ok, why := cl.closed(); !ok {
			return []string{"the connection was not closed after the answers: " + why}
		}
		return nil
	}
	key, _, problems := probe(cl, m, o.close == closeNo)
	res.probes = append(res.probes, key)
	return problems
}

// probe sends a request on cl after a case's answers: it must get its own
// answer, or (unless stay) find the connection closed.
func probe(cl *rawClient, m markers, stay bool) (key string, answered bool, problems []string) {
	key = "GET /" + m.H + "/probe"
	if err := cl.write(key + " HTTP/1.1\r\nHost: probe\r\n\r\n"); err != nil {
		if stay {
			return key, false, []string{fmt.Sprintf("probe: %v, want the connection open", err)}
		}
		return key, false, nil
	}
	a, err := cl.read("GET")
	if err != nil {
		if stay || !isClosedErr(err) {
			return key, false, []string{fmt.Sprintf("probe: %v", err)}
		}
		return key, false, nil
	}
	if a.code != 200 || a.body != "ok "+key {
		return key, true, []string{fmt.Sprintf("probe after the answers: got %v, want 200 %q", a, "ok "+key)}
	}
	return key, true, nil
}

// isClosedErr reports whether err is the end of a connection the router
// closed (EOF or reset), not a timeout or a malformed answer.
func isClosedErr(err error) bool {
	if isTimeout(err) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "EOF") || strings.Contains(s, "reset") || strings.Contains(s, "broken pipe")
}

// judgeSeen checks the hostile requests the backend saw against o.
func judgeSeen(rest []seenReq, o *outcome, hdr map[string]string, m markers) []string {
	var problems []string
	var complete []string
	for _, r := range rest {
		switch {
		case strings.HasPrefix(r.err, "unclean head"):
			problems = append(problems, fmt.Sprintf("the router sent the backend a malformed head (%s): %q", r.err, truncate(r.head, 300)))
		case r.err != "":
			if !o.partial {
				problems = append(problems, fmt.Sprintf("backend saw an incomplete %q (%s)", truncate(r.key(), 200), r.err))
			}
		default:
			complete = append(complete, r.key())
			problems = append(problems, checkHeader(r, hdr, m)...)
		}
	}
	var want []string
	for _, s := range o.seen {
		want = append(want, m.fill(s))
	}
	if !slices.Equal(complete, want) {
		problems = append(problems, fmt.Sprintf("backend saw %q, want %q", truncateAll(complete), want))
	}
	return problems
}

func checkHeader(r seenReq, hdr map[string]string, m markers) []string {
	var problems []string
	for k, want := range hdr {
		got, ok := r.header[k]
		switch {
		case want == "" && ok:
			problems = append(problems, fmt.Sprintf("backend got %s: %q, want none", k, got))
		case want != "" && (!ok || strings.Join(got, ",") != m.fill(want)):
			problems = append(problems, fmt.Sprintf("backend got %s: %q, want %q", k, got, m.fill(want)))
		}
	}
	return problems
}

func truncateAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = truncate(s, 200)
	}
	return out
}

// writePaced writes p, pausing briefly at each "{PAUSE}" in it so that the
// router reads the pieces apart.
func writePaced(cl *rawClient, p string) error {
	pieces := strings.Split(p, "{PAUSE}")
	for i, piece := range pieces {
		if err := cl.write(piece); err != nil {
			return err
		}
		if i < len(pieces)-1 {
			time.Sleep(20 * time.Millisecond) // the client's own pacing, not a wait for the router
		}
	}
	return nil
}

// firstMethod is the method of the first request line of raw.
func firstMethod(raw string) string {
	m, _, _ := strings.Cut(raw, " ")
	return m
}

// waitFor polls cond every few milliseconds until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}
