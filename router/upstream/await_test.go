package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveAtOnce answers each request head on c with 200 "ok" the moment the
// head is in, before anything else is read.
func serveAtOnce(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		io.Copy(io.Discard, req.Body)
	}
}

// roundTripWithin sends req and fails the test if no answer comes within
// limit: an answer the transport missed would leave it waiting (no
// response-header timeout is set).
func roundTripWithin(t *testing.T, tr *Transport, req *http.Request, limit time.Duration) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	resp, err := tr.RoundTrip(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, readAll(t, resp)
}

// The request is written inside the wait for its answer (flushAwait): an
// answer that arrives at once, before the transport could start waiting,
// is never missed. Sequential and concurrent requests on pooled
// connections, with no response-header timeout to rescue a missed one.
func TestAnswersThatComeAtOnce(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) { serveAtOnce(c) })
	tr := newTransport(t, Options{})
	for i := range 500 {
		req, _ := http.NewRequest("GET", srv.URL()+"/seq", nil)
		if code, body := roundTripWithin(t, tr, req, 5*time.Second); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				req, _ := http.NewRequest("POST", srv.URL()+"/par", strings.NewReader("small body"))
				if code, body := roundTripWithin(t, tr, req, 5*time.Second); code != 200 || body != "ok" {
					t.Errorf("%d %q", code, body)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := tr.Stats(); s.Dials > 9 {
		t.Errorf("%d dials for 8 concurrent clients: connections were not reused", s.Dials)
	}
}

// A head larger than the write buffer goes out in pieces, and the backend
// answers after the first one: the answer may come before the last write,
// so the transport reads it without the wait-first path.
func TestAnswerBeforeTheHeadIsSent(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := br.Peek(1); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
	})
	tr := newTransport(t, Options{WriteBufferSize: 4 << 10})
	for i := range 5 {
		req, _ := http.NewRequest("GET", srv.URL(), nil)
		req.Header.Set("X-Big", strings.Repeat("z", 64<<10))
		if code, body := roundTripWithin(t, tr, req, 5*time.Second); code != 431 || body != "big" {
			t.Fatalf("round %d: %d %q", i, code, body)
		}
	}
}
