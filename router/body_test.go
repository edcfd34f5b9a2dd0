package router

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/breaker"
	"github.com/bulwark-router/bulwark/stats"
)

// bodyRecorder counts refusals by reason, answers by status, and the
// requests reported as backend errors.
type bodyRecorder struct {
	reasonCounter
	mu            sync.Mutex
	codes         map[int]int
	backendErrors int
}

func (r *bodyRecorder) Request(s *stats.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.codes == nil {
		r.codes = map[int]int{}
	}
	r.codes[s.Code]++
	if s.BackendError {
		r.backendErrors++
	}
}

func (r *bodyRecorder) code(c int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.codes[c]
}

func (r *bodyRecorder) errors() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.backendErrors
}

// bodyBackend reads each request's body whole and answers "ok" with what
// it saw; it counts the requests that reached it.
type bodyBackend struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request // the last request, its body read into lastBody
	body string
}

func newBodyBackend(t *testing.T) *bodyBackend {
	t.Helper()
	bb := &bodyBackend{}
	bb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bb.hits.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		bb.mu.Lock()
		bb.last, bb.body = r, string(b)
		bb.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(bb.Close)
	return bb
}

// seen returns the last request that reached the backend and its body.
func (bb *bodyBackend) seen() (*http.Request, string) {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	return bb.last, bb.body
}

// startBodyRouter serves yaml (app's targets given by %s) with every
// backend on transport.
func startBodyRouter(t *testing.T, transport, yaml string, rec stats.Recorder) *Server {
	t.Helper()
	yaml = "listen: 127.0.0.1:0\nadmin: {listen: \"\"}\nlog: {access: false}\n" + yaml
	cfg, err := config.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	for _, b := range cfg.Backends {
		b.Transport = transport
	}
	log := zaptest.NewLogger(t)
	rt, err := New(cfg, Options{Logger: log, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, rt, log)
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv
}

// dialFrom opens a connection to addr from the loopback address peer.
func dialFrom(t *testing.T, addr, peer string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(peer)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn
}

// statusOf reads one answer from conn: its status, or 0 when the
// connection ended without one.
func statusOf(conn net.Conn) int {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// exchange sends req from peer on a new connection and returns the status.
func exchange(t *testing.T, addr, peer, req string) int {
	t.Helper()
	conn := dialFrom(t, addr, peer)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return statusOf(conn)
}

// bodyModes are the two ways the router takes a body: read whole before
// the backend is asked (the default body_buffer) and streamed to it.
var bodyModes = []struct{ name, server string }{
	{"buffered", "server: {min_body_rate: 1KiB/s}"},
	{"streamed", "server: {min_body_rate: 1KiB/s, body_buffer: 0}"},
}

// onEveryPath runs f on both transports, bodies buffered and streamed.
func onEveryPath(t *testing.T, f func(t *testing.T, transport, server string)) {
	for _, tr := range []string{"fast", "standard"} {
		for _, m := range bodyModes {
			t.Run(tr+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				f(t, tr, m.server)
			})
		}
	}
}

const bodyFaultYAML = `%s
backends:
  app:
    targets: [%s]
    retries: 0
    breaker: {consecutive_failures: 3, failure_ratio: 0, open_for: 1m}
routes: [{backend: app}]
abuse:
  max_in_flight_per_client: 10
  ban: {after_rejections: 5, within: 1m, duration: 1m}
`

// checkBackendUntouched fails unless app's breakers are closed and no
// failure or backend error was counted.
func checkBackendUntouched(t *testing.T, srv *Server, rec *bodyRecorder) {
	t.Helper()
	b := srv.Router().table.Load().backends["app"]
	if s := b.breaker.State(); s != breaker.StateClosed {
		t.Errorf("backend breaker %v, want closed", s)
	}
	for _, tg := range b.targets {
		if s := tg.breaker.State(); s != breaker.StateClosed {
			t.Errorf("target %s breaker %v, want closed", tg.raw, s)
		}
		if n := tg.failures.Load(); n != 0 {
			t.Errorf("target %s counted %d failures, want 0", tg.raw, n)
		}
	}
	if n := rec.errors(); n != 0 {
		t.Errorf("%d requests reported as backend errors, want 0", n)
	}
}

// TestMalformedChunkIsTheClientsFault: a chunk size that is not hex is the
// client's fault: 400 every time, a strike each (the fifth bans the
// client), and the backend's breakers and counters never move, so other
// clients are served.
func TestMalformedChunkIsTheClientsFault(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		rec := &bodyRecorder{}
		srv := startBodyRouter(t, transport, fmt.Sprintf(bodyFaultYAML, server, bb.URL), rec)
		addr := srv.Addr().String()
		const bad = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
		for i := range 5 {
			if got := exchange(t, addr, "127.0.0.3", bad); got != http.StatusBadRequest {
				t.Fatalf("malformed chunk %d: status %d, want 400", i+1, got)
			}
		}
		checkBackendUntouched(t, srv, rec)
		if n := rec.count(stats.BadRequest); n != 5 {
			t.Errorf("bad_request refusals %d, want 5", n)
		}
		if got := exchange(t, addr, "127.0.0.2", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); got != http.StatusOK {
			t.Errorf("another client: %d, want 200", got)
		}
		// Five strikes: abuse.ban.after_rejections bans the client.
		if got := exchange(t, addr, "127.0.0.3", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); got != http.StatusForbidden {
			t.Errorf("the striking client after 5 strikes: %d, want 403", got)
		}
	})
}

// TestClientLeavingMidBodyIsNotAFailure: a client that closes its
// connection halfway through its body is logged 499 and is neither a
// backend failure nor a strike.
func TestClientLeavingMidBodyIsNotAFailure(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		rec := &bodyRecorder{}
		srv := startBodyRouter(t, transport, fmt.Sprintf(bodyFaultYAML, server, bb.URL), rec)
		addr := srv.Addr().String()
		for i := range 5 {
			conn := dialFrom(t, addr, "127.0.0.4")
			io.WriteString(conn, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nonly ten b")
			conn.Close()
			eventually(t, 5*time.Second, time.Millisecond, fmt.Sprintf("request %d not logged 499", i+1),
				func() bool { return rec.code(StatusClientClosed) == i+1 })
		}
		checkBackendUntouched(t, srv, rec)
		if got := exchange(t, addr, "127.0.0.4", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); got != http.StatusOK {
			t.Errorf("the same client afterwards: %d, want 200 (leaving is no strike)", got)
		}
	})
}

// TestChunkedBodyOverLimitIsTheClientsFault: a chunked body that grows past
// max_body_bytes gets 413 and is neither a backend failure nor a strike.
func TestChunkedBodyOverLimitIsTheClientsFault(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		rec := &bodyRecorder{}
		yaml := fmt.Sprintf(bodyFaultYAML, strings.Replace(server, "{", "{max_body_bytes: 1KiB, ", 1), bb.URL)
		srv := startBodyRouter(t, transport, yaml, rec)
		addr := srv.Addr().String()
		big := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n%s\r\n0\r\n\r\n", strings.Repeat("b", 0x800))
		for i := range 5 {
			if got := exchange(t, addr, "127.0.0.5", big); got != http.StatusRequestEntityTooLarge {
				t.Fatalf("chunked body over the limit %d: status %d, want 413", i+1, got)
			}
		}
		checkBackendUntouched(t, srv, rec)
		if n := rec.count(stats.BodyTooLarge); n != 5 {
			t.Errorf("body_too_large refusals %d, want 5", n)
		}
		if got := exchange(t, addr, "127.0.0.5", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); got != http.StatusOK {
			t.Errorf("the same client afterwards: %d, want 200 (413 is no strike)", got)
		}
	})
}

// TestSlowBodyGets408: a client that announces a body and then sends
// nothing more is answered 408 once min_body_rate says it is too slow, and
// its connection is closed; the backend is never blamed.
func TestSlowBodyGets408(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		rec := &bodyRecorder{}
		srv := startBodyRouter(t, transport, fmt.Sprintf(bodyFaultYAML, server, bb.URL), rec)
		addr := srv.Addr().String()
		const n = 5
		got := make([]int, n)
		closed := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			conn := dialFrom(t, addr, "127.0.0.6")
			wg.Go(func() {
				io.WriteString(conn, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\nten bytes.")
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got[i] = resp.StatusCode
				_, err = br.ReadByte()
				closed[i] = err == io.EOF
			})
		}
		wg.Wait()
		for i := range n {
			if got[i] != http.StatusRequestTimeout || !closed[i] {
				t.Errorf("slow body %d: status %d, connection closed %v; want 408 and closed", i+1, got[i], closed[i])
			}
		}
		checkBackendUntouched(t, srv, rec)
		if c := rec.count(stats.SlowBody); c != n {
			t.Errorf("slow_body refusals %d, want %d", c, n)
		}
		if got := exchange(t, addr, "127.0.0.6", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); got != http.StatusOK {
			t.Errorf("the same client afterwards: %d, want 200 (408 is no strike)", got)
		}
		if h := bb.hits.Load(); h != 1 && !strings.Contains(server, "body_buffer: 0") {
			t.Errorf("%d slow bodies reached the backend, want 0", h-1)
		}
	})
}

// TestBodiesArriveWhole: bodies reach the backend byte for byte on every
// path; a chunked body that fits in body_buffer arrives with a length, one
// larger streams chunked, as does one over body_buffer with a length.
func TestBodiesArriveWhole(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		srv := startBodyRouter(t, transport, fmt.Sprintf(bodyFaultYAML, server, bb.URL), &bodyRecorder{})
		addr := srv.Addr().String()
		buffered := !strings.Contains(server, "body_buffer: 0")
		small, large := strings.Repeat("s", 3000), strings.Repeat("L", 200<<10)
		chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
		tests := []struct {
			name, req, want string
			wantLength      int64 // what the backend sees
		}{
			{"small with a length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + small, small, 3000},
			{"small chunked", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
				chunk(small[:1000]) + chunk(small[1000:]) + "0\r\n\r\n", small, map[bool]int64{true: 3000, false: -1}[buffered]},
			{"large with a length", fmt.Sprintf("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(large), large), large, int64(len(large))},
			{"large chunked", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
				chunk(large[:50<<10]) + chunk(large[50<<10:]) + "0\r\n\r\n", large, -1},
			{"small expecting 100-continue", "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n" + small, small, 3000},
		}
		for _, tt := range tests {
			conn := dialFrom(t, addr, "127.0.0.7")
			go io.WriteString(conn, tt.req)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			for err == nil && resp.StatusCode == http.StatusContinue {
				resp, err = http.ReadResponse(br, nil)
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %v %v", tt.name, resp, err)
			}
			resp.Body.Close()
			r, body := bb.seen()
			if body != tt.want || r.ContentLength != tt.wantLength {
				t.Errorf("%s: backend got %d bytes with length %d, want %d bytes with length %d",
					tt.name, len(body), r.ContentLength, len(tt.want), tt.wantLength)
			}
		}
	})
}

// TestTricklingBodyAboveTheRateIsServed: a client that sends its body in
// pieces, twice as fast as min_body_rate asks, is served.
func TestTricklingBodyAboveTheRateIsServed(t *testing.T) {
	onEveryPath(t, func(t *testing.T, transport, server string) {
		bb := newBodyBackend(t)
		srv := startBodyRouter(t, transport, fmt.Sprintf(bodyFaultYAML, server, bb.URL), &bodyRecorder{})
		conn := dialFrom(t, srv.Addr().String(), "127.0.0.8")
		piece := strings.Repeat("t", 512) // every 250ms: 2 KiB/s, the rate is 1 KiB/s
		io.WriteString(conn, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n")
		for range 8 {
			time.Sleep(250 * time.Millisecond) // the client's pace, not a wait for the router
			io.WriteString(conn, piece)
		}
		if got := statusOf(conn); got != http.StatusOK {
			t.Fatalf("trickled body: %d, want 200", got)
		}
	})
}

// TestSlowBodyHoldsNoBackendSlot: with max_in_flight 1 and no queue, a
// client stalling mid-body holds no backend slot: another client is served
// meanwhile, and the stalled one gets 408.
func TestSlowBodyHoldsNoBackendSlot(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			bb := newBodyBackend(t)
			rec := &bodyRecorder{}
			srv := startBodyRouter(t, transport, fmt.Sprintf(`
server: {min_body_rate: 1KiB/s}
backends:
  app: {targets: [%s], max_in_flight: 1}
routes: [{backend: app}]
`, bb.URL), rec)
			addr := srv.Addr().String()
			// Bodies within body_buffer and larger ones, whose first
			// body_buffer bytes must be in before they take a slot.
			for _, length := range []int{10_000, 100_000} {
				eventually(t, 5*time.Second, time.Millisecond, "a request stayed in the router",
					func() bool { return srv.Router().InFlight() == 0 })
				slow := dialFrom(t, addr, "127.0.0.9")
				fmt.Fprintf(slow, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\nten bytes.", length)
				eventually(t, 5*time.Second, time.Millisecond, "the slow request never reached the router",
					func() bool { return srv.Router().InFlight() == 1 })
				if got := exchange(t, addr, "127.0.0.10", "POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"); got != http.StatusOK {
					t.Errorf("another client while a body of %d stalls: %d, want 200", length, got)
				}
				if got := statusOf(slow); got != http.StatusRequestTimeout {
					t.Errorf("the stalled body of %d: %d, want 408", length, got)
				}
			}
			if n := rec.count(stats.QueueFull); n != 0 {
				t.Errorf("%d queue_full refusals, want 0", n)
			}
		})
	}
}

func TestClassifyBodyError(t *testing.T) {
	tests := []struct {
		give error
		want bodyFault
	}{
		{errors.New("invalid byte in chunk length"), bodyMalformed},
		{errors.New("malformed chunked encoding"), bodyMalformed},
		{&http.MaxBytesError{Limit: 10}, bodyTooLarge},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, bodySlow},
		{io.ErrUnexpectedEOF, bodyGone},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, bodyGone},
		{fmt.Errorf("wrapped: %w", http.ErrBodyReadAfterClose), bodyOK},
	}
	for _, tt := range tests {
		if got := classifyBodyError(tt.give); got != tt.want {
			t.Errorf("classifyBodyError(%v) = %d, want %d", tt.give, got, tt.want)
		}
	}
}

// deadlineWriter is a ResponseWriter that records the read deadlines set
// through it.
type deadlineWriter struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (w *deadlineWriter) SetReadDeadline(d time.Time) error {
	w.deadlines = append(w.deadlines, d)
	return nil
}

// rewindBody is a request body that can be read again.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// TestTakeBodyReadsAheadFromThePool: a small body is read whole with the
// rate's deadline set once and read_timeout's given back once it is in,
// and a body costs its state and net/http's limit reader, no buffer: the
// buffers come from the pool.
func TestTakeBodyReadsAheadFromThePool(t *testing.T) {
	rt := &Router{now: time.Now}
	tb := &table{maxBody: 1 << 20, bodyBuffer: 64 << 10, minBodyRate: 1024, readTimeout: time.Minute}
	body := &rewindBody{}
	form := bytes.Repeat([]byte("f"), 300)
	r := httptest.NewRequest("POST", "/x", nil)
	w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
	take := func() *requestState {
		st := &requestState{}
		body.Reset(form)
		r.Body, r.ContentLength = body, int64(len(form))
		w.deadlines = w.deadlines[:0]
		start := time.Now()
		if f := rt.takeBody(tb, w, r, st, start); f != bodyOK {
			t.Fatalf("takeBody: fault %d", f)
		}
		return st
	}
	st := take()
	got, _ := io.ReadAll(r.Body)
	if !bytes.Equal(got, form) || r.ContentLength != int64(len(form)) {
		t.Fatalf("read %d bytes with length %d, want %d", len(got), r.ContentLength, len(form))
	}
	if len(w.deadlines) != 2 || w.deadlines[0].IsZero() || !w.deadlines[1].After(w.deadlines[0]) {
		t.Fatalf("deadlines set %v, want the rate's then read_timeout's", w.deadlines)
	}
	st.bs.end()
	if n, err := r.Body.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("a read after the request ended: %d, %v", n, err)
	}
	allocs := testing.AllocsPerRun(100, func() { take().bs.end() })
	t.Logf("taking a small body: %.1f allocations", allocs)
	// The request's state, its body state and net/http's limit reader; the
	// deadline recorder's own appends are amortised away.
	if !raceEnabled && allocs > 3 {
		t.Errorf("taking a small body allocates %.1f times, want at most 3 (no buffer)", allocs)
	}
}

// TestSlowBodiesCountAgainstTheClientsInFlightCap: a request is the
// client's from admission on, body reading included, so one client's
// stalled bodies are bounded by abuse.max_in_flight_per_client.
func TestSlowBodiesCountAgainstTheClientsInFlightCap(t *testing.T) {
	bb := newBodyBackend(t)
	srv := startBodyRouter(t, "fast", fmt.Sprintf(`
server: {min_body_rate: 1KiB/s}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
abuse: {max_in_flight_per_client: 2}
`, bb.URL), &bodyRecorder{})
	addr := srv.Addr().String()
	for range 2 {
		c := dialFrom(t, addr, "127.0.0.11")
		io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\nten bytes.")
	}
	eventually(t, 5*time.Second, time.Millisecond, "the stalled bodies never reached the router",
		func() bool { return srv.Router().InFlight() == 2 })
	if got := exchange(t, addr, "127.0.0.11", "POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"); got != http.StatusTooManyRequests {
		t.Errorf("a third request while two bodies stall: %d, want 429", got)
	}
	if got := exchange(t, addr, "127.0.0.12", "POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"); got != http.StatusOK {
		t.Errorf("another client: %d, want 200", got)
	}
}

// A body held whole reads again from its start after rewind (the standard
// transport's GetBody after a write that sent nothing), and the count of
// bytes read starts over; a body streamed in part, or ended, does not.
func TestHeldBodyRewinds(t *testing.T) {
	rt := &Router{now: time.Now}
	form := bytes.Repeat([]byte("f"), 300)
	take := func(buffer int64) (*requestState, *http.Request) {
		tb := &table{maxBody: 1 << 20, bodyBuffer: buffer}
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(form))
		st := &requestState{}
		if f := rt.takeBody(tb, httptest.NewRecorder(), r, st, time.Now()); f != bodyOK {
			t.Fatalf("takeBody: fault %d", f)
		}
		return st, r
	}
	st, r := take(64 << 10)
	if n, _ := r.Body.Read(make([]byte, 100)); n != 100 || st.body.n != 100 {
		t.Fatalf("first read: %d bytes, counted %d", n, st.body.n)
	}
	if !st.bs.rewind() {
		t.Fatal("a body held whole did not rewind")
	}
	if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, form) || st.body.n != int64(len(form)) {
		t.Fatalf("after rewind: read %d bytes, counted %d, want %d", len(got), st.body.n, len(form))
	}
	st.bs.end()
	if st.bs.rewind() {
		t.Fatal("an ended body rewound")
	}
	st, r = take(100) // 100 bytes held, the rest streams
	r.Body.Read(make([]byte, 50))
	if st.bs.rewind() {
		t.Fatal("a body streamed in part rewound")
	}
}
