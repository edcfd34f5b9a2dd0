package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestSIGHUPReloadUnderLoad(t *testing.T) {
	a, b, n := nameBackend(t, "a"), nameBackend(t, "b"), nameBackend(t, "n")
	p := startProc(t, fmt.Sprintf(`
log: {access: false}
backends:
  app: {targets: [%s]}
routes:
  - {match: {path_prefix: /}, backend: app}
`, a.URL))

	// The workers share at most one connection each (MaxConnsPerHost: a
	// request that finds them all busy waits rather than dialing), so a
	// dial past the first four means the reload closed a connection.
	const workers = 4
	var dials atomic.Int64
	var d net.Dialer
	tr := &http.Transport{
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	var (
		ok, newServed atomic.Int64
		mu            sync.Mutex
		failures      []string
		failed        int
		wg            sync.WaitGroup
		stop          = make(chan struct{})
		stopOnce      sync.Once
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failed++
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt()
	deadline := time.Now().Add(3 * time.Second)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Once a worker has been answered by the new config, every later
			// request it sends starts after the swap and must see it too.
			reloaded := false
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				path, before, after := "/old", "a", "b"
				if i%2 == 1 {
					path, after = "/new", "n"
				}
				code, name, _, err := fetchGet(c, p.base+path)
				switch {
				case err != nil:
					fail("worker %d: GET %s: %v", w, path, err)
				case code != http.StatusOK:
					fail("worker %d: GET %s: status %d", w, path, code)
				case name == after:
					reloaded = true
					ok.Add(1)
					if name == "n" {
						newServed.Add(1)
					}
				case name == before && !reloaded:
					ok.Add(1)
				default:
					fail("worker %d: GET %s answered by %q (after the reload: %v)", w, path, name, reloaded)
				}
			}
		}()
	}

	eventually(t, 2*time.Second, "100 requests before the reload", func() bool { return ok.Load() >= 100 })
	p.writeConfig(t, fmt.Sprintf(`
log: {access: false}
backends:
  app: {targets: [%s]}
  fresh: {targets: [%s]}
routes:
  - {match: {path: /new}, backend: fresh}
  - {match: {path_prefix: /}, backend: app}
`, b.URL, n.URL))
	from := p.log.len()
	p.signal(t, syscall.SIGHUP)
	p.log.waitFor(t, from, 5*time.Second, `"config reloaded"`, hasMsg("info", "config reloaded"))

	// The reload is logged once it is in force.
	check := keepAliveClient(t)
	if code, name, _, err := fetchGet(check, p.base+"/new"); err != nil || code != http.StatusOK || name != "n" {
		t.Errorf("GET /new after the reload: %d from %q (%v), want 200 from n", code, name, err)
	}
	if code, name, _, err := fetchGet(check, p.base+"/old"); err != nil || code != http.StatusOK || name != "b" {
		t.Errorf("GET /old after the reload: %d from %q (%v), want 200 from b", code, name, err)
	}
	eventually(t, 2*time.Second, "100 requests to /new after the reload", func() bool { return newServed.Load() >= 100 })
	halt()

	if failed > 0 {
		t.Errorf("%d requests failed across the reload; first ones:\n%s", failed, strings.Join(failures, "\n"))
	}
	if got := dials.Load(); got != workers {
		t.Errorf("workers dialed %d connections, want %d: the reload closed client connections", got, workers)
	}
	t.Logf("%d requests served across the reload", ok.Load())
}

func TestSIGHUPBrokenFileKeepsServing(t *testing.T) {
	a := nameBackend(t, "a")
	good := fmt.Sprintf("backends:\n  app: {targets: [%s]}\nroutes: [{backend: app}]\n", a.URL)
	p := startProc(t, good)
	c := keepAliveClient(t)

	tests := []struct {
		name     string
		give     string
		wantPath string // field path named in the logged error
	}{
		{"unknown key", fmt.Sprintf("backends:\n  app: {targets: [%s], bogus: 1}\nroutes: [{backend: app}]\n", a.URL), "backends.app.bogus"},
		{"bad target", "backends:\n  app: {targets: [\"ftp://x\"]}\nroutes: [{backend: app}]\n", "backends.app.targets[0]"},
		{"unknown backend", fmt.Sprintf("backends:\n  app: {targets: [%s]}\nroutes: [{backend: nope}]\n", a.URL), "routes[0].backend"},
		{"syntax", "routes: [\n", "(syntax)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := p.log.len()
			p.writeConfig(t, tt.give)
			p.signal(t, syscall.SIGHUP)
			line := p.log.waitFor(t, from, 5*time.Second, "at error level naming "+tt.wantPath, func(l string) bool {
				e := parseEntry(l)
				return e.str("level") == "error" && strings.Contains(e.str("error"), tt.wantPath+": ")
			})
			if e := parseEntry(line); !strings.Contains(e.str("error"), "(line ") || e.str("file") != p.cfg {
				t.Errorf("error log line lacks the file or the line number: %s", line)
			}
			if code, name, _, err := fetchGet(c, p.base+"/x"); err != nil || code != http.StatusOK || name != "a" {
				t.Errorf("after the failed reload: %d from %q (%v), want 200 from a", code, name, err)
			}
		})
	}
	if strings.Contains(p.log.String(), `"config reloaded"`) {
		t.Errorf("a broken file was reported as reloaded:\n%s", p.log.String())
	}
	if p.exited() {
		t.Fatalf("bulwark exited on a broken reload:\n%s", p.log.String())
	}
}

// eventually polls cond every 5 ms for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
