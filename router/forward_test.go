package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/upstream"
)

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	a, b, c := namedBackend(t, "a"), namedBackend(t, "b"), namedBackend(t, "c")
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s, %s, %s], balance: round_robin}
routes: [{backend: app}]
`, a.URL, b.URL, c.URL))
	counts := map[string]int{}
	for range 30 {
		_, h, _ := get(t, nil, "GET", base+"/", "", nil)
		counts[h.Get("X-Backend")]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if counts[n] != 10 {
			t.Fatalf("round robin gave %v, want 10 each", counts)
		}
	}
}

func TestLeastLoadedAvoidsBusyTarget(t *testing.T) {
	for _, policy := range []string{"least_requests", "p2c"} {
		t.Run(policy, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, 256)
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Backend", "slow")
				arrived <- struct{}{}
				<-release
			}))
			defer slow.Close()
			f1, f2 := namedBackend(t, "fast1"), namedBackend(t, "fast2")
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s, %s, %s], balance: %s}
routes: [{backend: app}]
`, slow.URL, f1.URL, f2.URL, policy))
			// Send one request at a time until one is parked on the slow
			// target; each step waits for the request to land somewhere.
			var wg sync.WaitGroup
			defer wg.Wait()
			defer close(release)
			held := 0
			for i := 0; held < 1; i++ {
				if i > 500 {
					t.Fatalf("only %d requests reached the slow target", held)
				}
				done := make(chan struct{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer close(done)
					if resp, err := http.Get(base + "/"); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
				select {
				case <-arrived:
					held++
				case <-done:
				}
			}
			// With the slow target busy, new requests go to the idle ones.
			counts := map[string]int{}
			for range 40 {
				_, h, _ := get(t, nil, "GET", base+"/", "", nil)
				counts[h.Get("X-Backend")]++
			}
			if counts["slow"] != 0 || counts["fast1"] == 0 || counts["fast2"] == 0 {
				t.Fatalf("%s with one busy target gave %v", policy, counts)
			}
		})
	}
}

func TestRetryOnRefusedTarget(t *testing.T) {
	good := namedBackend(t, "good")
	dead := deadAddr(t)
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s, %s], balance: round_robin, retries: 1, breaker: {disabled: true}}
routes: [{backend: app}]
`, dead, good.URL))
	for i := range 10 {
		code, h, _ := get(t, nil, "GET", base+"/", "", nil)
		if code != 200 || h.Get("X-Backend") != "good" {
			t.Fatalf("GET %d: got %d, want 200 from the good target", i, code)
		}
	}
	// A POST whose body was sent is never replayed: the half that land on
	// the dead target first fail with 502.
	var failed int
	for range 10 {
		code, _, _ := get(t, nil, "POST", base+"/", "", strings.NewReader("payload"))
		switch code {
		case 200:
		case 502:
			failed++
		default:
			t.Fatalf("POST got %d", code)
		}
	}
	if failed != 5 {
		t.Fatalf("POST with body: %d of 10 failed, want 5 (no retry)", failed)
	}
}

func TestHangingBackendGets504(t *testing.T) {
	hang := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer s.Close()
	defer close(hang)
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], response_timeout: 300ms, retries: 0}
routes: [{backend: app}]
`, s.URL))
	start := time.Now()
	code, _, _ := get(t, nil, "GET", base+"/", "", nil)
	el := time.Since(start)
	if code != http.StatusGatewayTimeout {
		t.Fatalf("got %d, want 504", code)
	}
	if el < 300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("504 after %v, want about response_timeout (300ms)", el)
	}
}

func TestUnreachableBackendGets502(t *testing.T) {
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], retries: 0}
routes: [{backend: app}]
`, deadAddr(t)))
	if code, _, _ := get(t, nil, "GET", base+"/", "", nil); code != http.StatusBadGateway {
		t.Fatalf("got %d, want 502", code)
	}
}

func TestEventStreamIsNotBuffered(t *testing.T) {
	finish := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-finish:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "data: last\n\n")
	}))
	defer s.Close()
	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, s.URL))
	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	// The backend is still holding the response: the first event arrived
	// before the backend finished.
	close(finish)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: last") {
		t.Fatalf("rest of stream: %q", rest)
	}
}

// upgradeEcho accepts an Upgrade and echoes bytes on the raw connection.
func upgradeEcho(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestUpgradePassThrough(t *testing.T) {
	s := upgradeEcho(t)
	srv, _ := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, s.URL))
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		fmt.Fprint(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo: got %q %v, want %q", got, err, msg)
		}
	}
}

func TestBodyAndHeaderLimits(t *testing.T) {
	s := namedBackend(t, "app")
	srv, base := startRouter(t, fmt.Sprintf(`
server: {max_body_bytes: 1KiB, max_header_bytes: 4KiB}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, s.URL))
	if code, _, _ := get(t, nil, "POST", base+"/", "", strings.NewReader(strings.Repeat("x", 1024))); code != 200 {
		t.Fatalf("body at the limit: %d", code)
	}
	if code, _, _ := get(t, nil, "POST", base+"/", "", strings.NewReader(strings.Repeat("x", 1025))); code != 413 {
		t.Fatalf("body over the limit (Content-Length): %d, want 413", code)
	}
	// A chunked body that grows past the limit.
	pr, pw := io.Pipe()
	go func() {
		for range 8 {
			pw.Write([]byte(strings.Repeat("y", 512)))
		}
		pw.Close()
	}()
	if code, _, _ := get(t, nil, "POST", base+"/", "", pr); code != 413 {
		t.Fatalf("chunked body over the limit: %d, want 413", code)
	}
	// Headers over max_header_bytes (net/http allows 4 KiB of slack).
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("z", 12<<10))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 431 {
		t.Fatalf("big headers: %v %v, want 431", resp, err)
	}
}

// TestStandardTransport runs the forwarding tests again on net/http's
// Transport (transport: standard); the others run on the default fast path.
func TestStandardTransport(t *testing.T) {
	testTransport = "standard"
	defer func() { testTransport = "" }()
	for name, f := range map[string]func(*testing.T){
		"RoundRobin":       TestRoundRobinSpreadsEvenly,
		"LeastLoaded":      TestLeastLoadedAvoidsBusyTarget,
		"Retry":            TestRetryOnRefusedTarget,
		"Hang504":          TestHangingBackendGets504,
		"Unreachable502":   TestUnreachableBackendGets502,
		"EventStream":      TestEventStreamIsNotBuffered,
		"Upgrade":          TestUpgradePassThrough,
		"Limits":           TestBodyAndHeaderLimits,
		"ForwardedHeaders": TestForwardedHeadersSpoofing,
		"Routing":          TestRoutingForms,
	} {
		t.Run(name, f)
	}
}

func TestFastTransportIsTheDefault(t *testing.T) {
	cfg := &config.Backend{Transport: "fast", ConnectTimeout: config.Duration(time.Second), ResponseTimeout: config.Duration(time.Second)}
	plain := []*Target{{url: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}}}
	if _, ok := newTransport(cfg, plain).(*upstream.Transport); !ok {
		t.Fatal("http targets do not get the fast transport")
	}
	tls := []*Target{{url: &url.URL{Scheme: "https", Host: "127.0.0.1:1"}}}
	if _, ok := newTransport(cfg, tls).(*headTimeoutTransport); !ok {
		t.Fatal("https targets must stay on net/http's Transport")
	}
	cfg.Transport = "standard"
	if _, ok := newTransport(cfg, plain).(*headTimeoutTransport); !ok {
		t.Fatal("transport: standard ignored")
	}
}

func TestBufferPoolLendsWithoutAllocating(t *testing.T) {
	bp := newBufferPool()
	b := bp.Get()
	if len(b) != copyBufSize {
		t.Fatalf("buffer of %d bytes, want %d", len(b), copyBufSize)
	}
	bp.Put(b)
	bp.Put(make([]byte, 100)) // too small to lend again: dropped
	for range 10 {
		if got := bp.Get(); len(got) != copyBufSize {
			t.Fatalf("buffer of %d bytes after Put, want %d", len(got), copyBufSize)
		}
	}
	b = bp.Get()
	bp.Put(b)
	// The GC may empty the pools at any time; a run in which it did not
	// lends and takes back without allocating. (The race detector makes
	// sync.Pool drop some of what it is given.)
	allocs := testing.AllocsPerRun(100, func() { bp.Put(bp.Get()) })
	if !raceEnabled && allocs > 0.1 {
		t.Errorf("Get and Put allocate %.2f times per loan, want 0", allocs)
	}
}

func TestIsTimeout(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{fmt.Errorf("wrapped: %w", os.ErrDeadlineExceeded), true},
		{&net.DNSError{Err: "slow", IsTimeout: true}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, false},
		{io.EOF, false},
		{nil, false},
	} {
		if got := isTimeout(tc.err); got != tc.want {
			t.Errorf("isTimeout(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
