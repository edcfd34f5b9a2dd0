package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/router/clientip"
)

// frontConfig has a route whose one token the first request spends: every
// later request to /limited/ is refused with 429.
func frontConfig(backend string, extra string) string {
	return fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes:
  - {match: {path_prefix: /limited/}, backend: app, limit: tight}
  - {backend: app}
limits:
  tight: {rate: 1/m, burst: 1}
log: {access: false}
%s`, backend, extra)
}

// rawConn is a client connection that writes bytes as given and reads
// responses one by one.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// next reads one response and its body.
func (r *rawConn) next() (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("reading a response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		r.t.Fatalf("reading a body: %v", err)
	}
	return resp, string(b)
}

// closed reports whether the server closed the connection (EOF before any
// byte of a response).
func (r *rawConn) closed() bool {
	r.t.Helper()
	_, err := r.br.ReadByte()
	if err == nil {
		r.t.Fatal("the server sent more bytes")
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset")
}

func get1(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
}

// spendToken spends /limited/'s one token, so later requests are refused.
func spendToken(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/limited/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
}

func TestFrontAnswersRefusalsLikeTheFullPath(t *testing.T) {
	be := namedBackend(t, "app")
	// The same refusal from the front and, with the front off, from net/http.
	var answers [2]*http.Response
	for i, early := range []bool{true, false} {
		srv, base := startRouter(t, frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v}", early)))
		spendToken(t, base)
		c := dialRaw(t, base)
		c.send(get1("/limited/b"))
		resp, body := c.next()
		if resp.StatusCode != 429 || body != "too many requests\n" {
			t.Fatalf("early_refusal %v: %d %q", early, resp.StatusCode, body)
		}
		answers[i] = resp
		want := uint64(0)
		if early {
			want = 1
		}
		if got := srv.Router().EarlyRefusals(); got != want {
			t.Errorf("early_refusal %v: the front answered %d requests, want %d", early, got, want)
		}
	}
	front, full := answers[0].Header, answers[1].Header
	// Each answer has its own request id, as the router makes them.
	for i, h := range []http.Header{front, full} {
		if ids := h.Values("X-Request-Id"); len(ids) != 1 || len(ids[0]) != clientip.RequestIDLen {
			t.Errorf("early_refusal %v: X-Request-Id %q, want one new id", i == 0, ids)
		}
	}
	for k := range full {
		if k == "Date" || k == "X-Request-Id" {
			continue // the values differ; their presence is checked
		}
		if strings.Join(front[k], ",") != strings.Join(full[k], ",") {
			t.Errorf("%s: front %q, full path %q", k, front[k], full[k])
		}
	}
	for k := range front {
		if _, ok := full[k]; !ok {
			t.Errorf("the front adds %s: %q", k, front[k])
		}
	}
	if d, err := http.ParseTime(front.Get("Date")); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", front.Get("Date"), err)
	}
}

// Refused and admitted requests sent back to back on one connection are
// answered in order, each once.
func TestFrontKeepsPipelinedAnswersInOrder(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	paths := []string{"/limited/1", "/ok/1", "/limited/2", "/limited/3", "/ok/2", "/ok/3", "/limited/4"}
	var all strings.Builder
	for _, p := range paths {
		all.WriteString(get1(p))
	}
	c.send(all.String())
	for _, p := range paths {
		resp, body := c.next()
		want := 200
		if strings.HasPrefix(p, "/limited/") {
			want = 429
		}
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %q, want %d", p, resp.StatusCode, body, want)
		}
		if want == 200 && body != "app GET "+p {
			t.Fatalf("%s: body %q", p, body)
		}
	}
	// The first refusal came before net/http held any request; the others
	// followed admitted requests the front may or may not have seen answered.
	if srv.Router().EarlyRefusals() == 0 {
		t.Error("the front answered none of the refusals")
	}
}

// After an admitted request, net/http answers; the front refuses the next
// request only once that answer is out, and keeps reading the connection.
func TestFrontAlternatesWithNetHTTP(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	for i := range 20 {
		c.send(get1(fmt.Sprintf("/ok/%d", i)))
		if resp, body := c.next(); resp.StatusCode != 200 {
			t.Fatalf("round %d: /ok answered %d %q", i, resp.StatusCode, body)
		}
		c.send(get1(fmt.Sprintf("/limited/%d", i)))
		if resp, _ := c.next(); resp.StatusCode != 429 {
			t.Fatalf("round %d: /limited answered %d", i, resp.StatusCode)
		}
	}
	if got := srv.Router().EarlyRefusals(); got != 20 {
		t.Errorf("the front answered %d refusals, want 20", got)
	}
}

// A refused request's body is read and dropped: its bytes are not taken for
// the next request.
func TestFrontDropsARefusedBody(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	body := strings.Repeat("GET /ok/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 200) // 7,600 bytes
	c.send(fmt.Sprintf("POST /limited/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	c.send(get1("/ok/after"))
	if resp, _ := c.next(); resp.StatusCode != 429 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	resp, got := c.next()
	if resp.StatusCode != 200 || got != "app GET /ok/after" {
		t.Fatalf("next request: %d %q", resp.StatusCode, got)
	}
	if srv.Router().EarlyRefusals() != 1 {
		t.Errorf("the front answered %d refusals, want 1", srv.Router().EarlyRefusals())
	}
	// A body larger than the front drops goes the full way, still refused.
	big := 100 << 10
	c.send(fmt.Sprintf("POST /limited/x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", big, strings.Repeat("a", big)))
	if resp, _ := c.next(); resp.StatusCode != 429 {
		t.Fatalf("big POST: %d", resp.StatusCode)
	}
	if srv.Router().EarlyRefusals() != 1 {
		t.Errorf("the front answered the big POST")
	}
}

// A refused HEAD gets the fields of the answer and no body, so the next
// answer on the connection is read from its first byte.
func TestFrontAnswersHeadWithoutBody(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	c.send("HEAD /limited/x HTTP/1.1\r\nHost: x\r\n\r\n" + get1("/ok/after"))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Content-Length") != "18" {
		t.Fatalf("HEAD: %d, Content-Length %q", resp.StatusCode, resp.Header.Get("Content-Length"))
	}
	if resp, body := c.next(); resp.StatusCode != 200 || body != "app GET /ok/after" {
		t.Fatalf("next: %d %q", resp.StatusCode, body)
	}
	if srv.Router().EarlyRefusals() != 1 {
		t.Errorf("the front answered %d refusals, want 1", srv.Router().EarlyRefusals())
	}
}

func TestFrontHonoursConnectionClose(t *testing.T) {
	be := namedBackend(t, "app")
	_, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	c.send("GET /limited/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + get1("/ok/never"))
	resp, _ := c.next()
	if resp.StatusCode != 429 || !resp.Close {
		t.Fatalf("%d, close %v", resp.StatusCode, resp.Close)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open")
	}
}

// What the front cannot read for sure goes to net/http unread, which
// answers it as it always does.
func TestFrontLeavesTheUnusualToNetHTTP(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	cases := []struct {
		name, req string
		want      int
	}{
		{"escaped path", "GET /limited/%61 HTTP/1.1\r\nHost: x\r\n\r\n", 429},
		{"expect", "POST /limited/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\na", 429},
		{"chunked", "POST /limited/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 429},
		{"http/1.0", "GET /limited/x HTTP/1.0\r\nHost: x\r\n\r\n", 429},
		{"large head", "GET /limited/x HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 8<<10) + "\r\n\r\n", 429},
		{"builtin", get1("/__lbheartbeat__"), 200},
		{"no host", "GET /limited/x HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET /limited/x HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"bad length", "GET /limited/x HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n", 400},
		{"bare LF", "GET /limited/x HTTP/1.1\nHost: x\n\n", 429},
		{"bad host", "GET /limited/x HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"space in name", "GET /limited/x HTTP/1.1\r\nHost : x\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Router().EarlyRefusals()
			c := dialRaw(t, base)
			c.send(tc.req)
			resp, body := c.next()
			if resp.StatusCode != tc.want {
				t.Fatalf("%d %q, want %d", resp.StatusCode, body, tc.want)
			}
			if srv.Router().EarlyRefusals() != before {
				t.Error("the front answered it")
			}
		})
	}
}

// A head that trickles in is held to read_header_timeout from its first
// byte, as net/http would hold it; the front's own waits between requests
// to idle_timeout.
func TestFrontTimeouts(t *testing.T) {
	be := namedBackend(t, "app")
	_, base := startRouter(t, frontConfig(be.URL, "server: {read_header_timeout: 600ms, idle_timeout: 400ms}"))
	spendToken(t, base)

	t.Run("slow head", func(t *testing.T) {
		c := dialRaw(t, base)
		start := time.Now()
		req := get1("/limited/x")
		for i := range len(req) - 1 {
			if _, err := c.c.Write([]byte{req[i]}); err != nil {
				break // closed: the deadline passed
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !c.closed() {
			t.Fatal("not closed")
		}
		if d := time.Since(start); d < 550*time.Millisecond || d > 3*time.Second {
			t.Errorf("closed after %v, want about 600ms", d)
		}
	})
	t.Run("idle after a refusal", func(t *testing.T) {
		c := dialRaw(t, base)
		c.send(get1("/limited/x"))
		if resp, _ := c.next(); resp.StatusCode != 429 {
			t.Fatalf("%d", resp.StatusCode)
		}
		start := time.Now()
		if !c.closed() {
			t.Fatal("not closed")
		}
		if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
			t.Errorf("closed after %v, want about 400ms", d)
		}
	})
	t.Run("a slow head in time", func(t *testing.T) {
		c := dialRaw(t, base)
		req := get1("/limited/x")
		for i := range len(req) {
			c.send(req[i : i+1])
			time.Sleep(5 * time.Millisecond)
		}
		if resp, _ := c.next(); resp.StatusCode != 429 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

// Each head has its own header timeout: one that arrived in pieces and was
// refused does not shorten the next one's.
func TestFrontHeaderTimeoutPerHead(t *testing.T) {
	be := namedBackend(t, "app")
	_, base := startRouter(t, frontConfig(be.URL, "server: {read_header_timeout: 300ms, idle_timeout: 5s}"))
	spendToken(t, base)
	c := dialRaw(t, base)
	req := get1("/limited/x")
	for round := range 3 {
		c.send(req[:5])
		time.Sleep(50 * time.Millisecond)
		c.send(req[5:])
		if resp, _ := c.next(); resp.StatusCode != 429 {
			t.Fatalf("round %d: %d", round, resp.StatusCode)
		}
		time.Sleep(400 * time.Millisecond)
	}
}

func TestFrontClosesWhileDraining(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, ""))
	spendToken(t, base)
	c := dialRaw(t, base)
	c.send(get1("/limited/x"))
	if resp, _ := c.next(); resp.StatusCode != 429 || resp.Close {
		t.Fatalf("%d close %v", resp.StatusCode, resp.Close)
	}
	srv.Router().draining.Store(true)
	c.send(get1("/limited/x"))
	if resp, _ := c.next(); resp.StatusCode != 429 || !resp.Close {
		t.Fatalf("%d close %v", resp.StatusCode, resp.Close)
	}
	if !c.closed() {
		t.Fatal("the connection stayed open")
	}
}

// Bans and the deny list are answered by the front, with 403.
func TestFrontRefusesDeniedAndBanned(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, frontConfig(be.URL, "abuse: {deny: [127.0.0.1/32]}"))
	c := dialRaw(t, base)
	c.send(get1("/ok/x"))
	if resp, body := c.next(); resp.StatusCode != 403 || body != "forbidden\n" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if srv.Router().EarlyRefusals() != 1 {
		t.Errorf("the front answered %d refusals, want 1", srv.Router().EarlyRefusals())
	}
}
