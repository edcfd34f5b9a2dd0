package main

// These tests run the built binary (see TestMain) as a subprocess: signals,
// reloads and exit codes are the process's contract with its supervisor.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	// The backend holds every request until the test has seen the listener
	// close, so all n are certainly in flight during the drain.
	const n = 50
	arrived := make(chan struct{}, 2*n)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Backend", "slow")
		io.WriteString(w, "done")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(unblock) // before slow.Close, which waits for its handlers
	p := startProc(t, fmt.Sprintf(`
server: {shutdown_grace: 10s}
backends:
  slow: {targets: [%s], response_timeout: 20s}
routes: [{backend: slow}]
`, slow.URL))

	type result struct {
		code int
		body string
		err  error
	}
	results := make(chan result, n)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}
	var wg sync.WaitGroup
	t.Cleanup(func() { unblock(); wg.Wait() })
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, body, err := fetchGet(client, p.base+"/slow")
			results <- result{code, body, err}
		}()
	}
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-arrived:
		case <-timeout:
			t.Fatalf("only %d of %d requests reached the backend", i, n)
		}
	}

	from := p.log.len()
	p.signal(t, syscall.SIGTERM)
	p.log.waitFor(t, from, 5*time.Second, `"draining"`, hasMsg("info", "draining"))
	waitRefused(t, p.addr, 5*time.Second)

	if p.exited() {
		t.Fatalf("bulwark exited with %d requests in flight:\n%s", n, p.log.String())
	}
	// The admin listener stays up until the public one is done.
	admin := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if code, _, _, err := fetchGet(admin, "http://"+p.admin+"/debug/pprof/cmdline"); err != nil || code != http.StatusOK {
		t.Errorf("admin while draining: %d %v, want 200", code, err)
	}
	// /__lbheartbeat__ turning 503 is not checked: net/http drops every
	// request it reads after Shutdown has begun, and Shutdown follows
	// SetDraining at once, so no client of the public listener can see it.
	unblock()
	for range n {
		r := <-results
		if r.err != nil || r.code != http.StatusOK || r.body != "done" {
			t.Errorf("in-flight request: %d %q %v, want 200 \"done\"", r.code, r.body, r.err)
		}
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, p.log.String())
	}
	p.log.waitFor(t, from, time.Second, `"drained"`, hasMsg("info", "drained"))
}

// waitRefused dials addr until the dial is refused, for at most d. Every
// dial that succeeds is closed at once.
func waitRefused(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return
			}
			// A dial that raced the listener's close is reset (it sat in
			// the accept backlog); the next one must be refused.
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("dial after SIGTERM: %v, want connection refused", err)
			}
		} else {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections %v after SIGTERM", addr, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSIGINTExitsZero(t *testing.T) {
	a := nameBackend(t, "a")
	p := startProc(t, fmt.Sprintf("backends: {app: {targets: [%s]}}\nroutes: [{backend: app}]\n", a.URL))
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, p.log.String())
	}
	p.log.waitFor(t, 0, time.Second, `"drained"`, hasMsg("info", "drained"))
}

func TestVersionEndpoint(t *testing.T) {
	a := nameBackend(t, "a")
	p := startProc(t, fmt.Sprintf("backends: {app: {targets: [%s]}}\nroutes: [{backend: app}]\n", a.URL))
	resp, err := keepAliveClient(t).Get(p.base + "/__version__")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Version, Commit, Go string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := struct{ Version, Commit, Go string }{testVersion, testCommit, runtime.Version()}
	if got != want || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/__version__ = %+v (%s), want %+v (application/json)", got, resp.Header.Get("Content-Type"), want)
	}
}
