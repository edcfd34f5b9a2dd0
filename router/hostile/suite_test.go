package hostile

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// markers are the unique strings of one case run. Every path and body a
// client sends holds its own, so a byte that reaches the wrong client is
// seen.
type markers struct {
	H string // the hostile client's requests
	S string // requests a hostile client hides inside another
	I string // the innocent client beside it
	F string // the follow-up on a fresh connection after it
}

// Markers are as long as the placeholders they replace ("{H}" → "H~7"),
// so lengths computed over a case's text stay true. Each case run has its
// own router and backend: they need to be unique within a run only.
func newMarkers(i int) markers {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	suffix := "~" + string(digits[i%len(digits)])
	return markers{H: "H" + suffix, S: "S" + suffix, I: "I" + suffix, F: "F" + suffix}
}

// fill puts the markers into a case's text: {H} and {S}.
func (m markers) fill(s string) string {
	return strings.NewReplacer("{H}", m.H, "{S}", m.S).Replace(s)
}

// foreign reports a marker of another client found in what the hostile
// client received.
func (m markers) foreign(got string) string {
	for _, f := range []string{m.I, m.F} {
		if strings.Contains(got, f) {
			return f
		}
	}
	return ""
}

// innocent is a well-behaved client that sends requests on one keep-alive
// connection while a case runs, and checks that each answer is its own.
type innocent struct {
	addr string
	m    markers
	// hold, when set, is called before each request: the backend cases
	// hold the innocent client back while a script runs.
	hold func()
	stop chan struct{}
	done chan struct{}
	sent []string // keys of the requests it sent, as the backend logs them
	errs []string
}

func startInnocent(addr string, m markers, hold func()) *innocent {
	in := &innocent{addr: addr, m: m, hold: hold, stop: make(chan struct{}), done: make(chan struct{})}
	go in.run()
	return in
}

// finish lets the innocent client send one last request and waits for it.
func (in *innocent) finish() {
	close(in.stop)
	<-in.done
}

func (in *innocent) run() {
	defer close(in.done)
	c, err := dialRouter(in.addr)
	if err != nil {
		in.errs = append(in.errs, err.Error())
		return
	}
	defer c.close()
	for n := 0; n < 50; n++ {
		last := false
		select {
		case <-in.stop:
			last = true
		default:
		}
		if in.hold != nil {
			in.hold()
		}
		path := fmt.Sprintf("/%s/%d", in.m.I, n)
		body := fmt.Sprintf("innocent-%s-%d", in.m.I, n)
		key := "POST " + path + " " + body
		in.sent = append(in.sent, key)
		req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: innocent\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
		if err := c.write(req); err != nil {
			in.errs = append(in.errs, fmt.Sprintf("request %d: %v", n, err))
			return
		}
		a, err := c.read("POST")
		if err != nil {
			in.errs = append(in.errs, fmt.Sprintf("request %d: %v", n, err))
			return
		}
		if a.code != 200 || a.body != "ok "+key || a.bodyErr != nil {
			in.errs = append(in.errs, fmt.Sprintf("request %d: got %v, want 200 %q", n, a, "ok "+key))
			return
		}
		if last {
			return
		}
		select {
		case <-in.stop:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// followUp sends two requests on a fresh connection after a case and
// checks that each answer is its own; it returns their keys.
func followUp(addr string, m markers) (sent []string, errs []string) {
	c, err := dialRouter(addr)
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer c.close()
	for n := range 2 {
		key := fmt.Sprintf("GET /%s/%d", m.F, n)
		sent = append(sent, key)
		if err := c.write(fmt.Sprintf("GET /%s/%d HTTP/1.1\r\nHost: follow-up\r\n\r\n", m.F, n)); err != nil {
			return sent, append(errs, fmt.Sprintf("follow-up %d: %v", n, err))
		}
		a, err := c.read("GET")
		if err != nil {
			return sent, append(errs, fmt.Sprintf("follow-up %d: %v", n, err))
		}
		if a.code != 200 || a.body != "ok "+key {
			return sent, append(errs, fmt.Sprintf("follow-up %d: got %v, want 200 %q", n, a, "ok "+key))
		}
	}
	return sent, nil
}

// sortLog splits the backend's log into the requests of the innocent
// client, the follow-up and the probes (which must be exactly those sent),
// and the rest, which the case judges.
func sortLog(log []seenReq, m markers, known []string) (rest []seenReq, problems []string) {
	want := map[string]int{}
	for _, k := range known {
		want[k]++
	}
	for _, r := range log {
		isOurs := strings.Contains(r.target, m.I) || strings.Contains(r.target, m.F) ||
			strings.Contains(r.target, m.H+"/probe")
		if !isOurs {
			rest = append(rest, r)
			continue
		}
		if r.err != "" || want[r.key()] == 0 {
			problems = append(problems, fmt.Sprintf("backend saw %q (err %q), which no client sent", truncate(r.key(), 200), r.err))
			continue
		}
		want[r.key()]--
	}
	return rest, problems
}

// job is one case on one transport.
type job struct {
	name string
	run  func(t *testing.T)
}

// runJobs runs jobs as subtests, several at a time: most of a case's time
// is spent waiting on loopback sockets, which -parallel (GOMAXPROCS) would
// leave idle.
func runJobs(t *testing.T, jobs []job) {
	workers := max(8, 8*runtime.GOMAXPROCS(0))
	ch := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				t.Run(j.name, j.run)
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
}

func TestSuiteSize(t *testing.T) {
	const minRequest, minBackend = 150, 40
	if n := len(requestCases()); n < minRequest {
		t.Errorf("%d request-side cases, want at least %d", n, minRequest)
	}
	if n := len(backendCases()); n < minBackend {
		t.Errorf("%d backend-side cases, want at least %d", n, minBackend)
	}
	seen := map[string]bool{}
	for _, c := range requestCases() {
		if k := "request/" + c.family + "/" + c.name; seen[k] {
			t.Errorf("two cases named %q", k)
		} else {
			seen[k] = true
		}
	}
	for _, c := range backendCases() {
		if k := "backend/" + c.family + "/" + c.name; seen[k] {
			t.Errorf("two cases named %q", k)
		} else {
			seen[k] = true
		}
	}
	for fam, n := range familyCounts() {
		t.Logf("%-24s %3d", fam, n)
	}
}
