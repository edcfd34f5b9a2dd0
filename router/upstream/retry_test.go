package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveGood answers every request on c with 200 and the request body,
// sending 100 Continue first when asked.
func serveGood(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Expect") != "" {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		body, _ := io.ReadAll(req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+string(body))
	}
}

// flakyServer answers the first request on the first connection, then
// fails the second one with fail; later connections are good.
func flakyServer(t *testing.T, fail func(c net.Conn, br *bufio.Reader)) *rawServer {
	return newRawServer(t, func(i int, c net.Conn) {
		if i > 0 {
			serveGood(c)
			return
		}
		br := bufio.NewReader(c)
		if _, _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		fail(c, br)
	})
}

// closeAfterHead reads the next request head, then closes without a word.
func closeAfterHead(c net.Conn, br *bufio.Reader) {
	http.ReadRequest(br)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // unread body bytes would make it a reset anyway
	}
}

// answerPartly starts a response, then closes.
func answerPartly(c net.Conn, br *bufio.Reader) {
	http.ReadRequest(br)
	io.WriteString(c, "HTTP/1.1 200 O")
}

// TestRetryOnReusedConnection: a request that fails on a reused connection
// before any byte of the response is sent again on a new connection when
// that can't do harm: its body was never read, or it is idempotent and the
// body can be replayed.
func TestRetryOnReusedConnection(t *testing.T) {
	noGetBody := func(r *http.Request) { r.GetBody = nil }
	tests := []struct {
		name    string
		method  string
		body    string
		edit    func(r *http.Request)
		fail    func(c net.Conn, br *bufio.Reader)
		retried bool
	}{
		{"GET", "GET", "", nil, closeAfterHead, true},
		{"POST without body", "POST", "", nil, closeAfterHead, true},
		{"POST with body", "POST", "data", nil, closeAfterHead, false},
		{"POST with body, no GetBody", "POST", "data", noGetBody, closeAfterHead, false},
		{"POST with Idempotency-Key", "POST", "data", func(r *http.Request) { r.Header.Set("Idempotency-Key", "k1") }, closeAfterHead, true},
		{"PUT with GetBody", "PUT", "data", nil, closeAfterHead, true},
		{"PUT without GetBody", "PUT", "data", noGetBody, closeAfterHead, false},
		{"DELETE", "DELETE", "", nil, closeAfterHead, true},
		{"POST with Expect, body unsent", "POST", "data", func(r *http.Request) {
			r.GetBody = nil
			r.Header.Set("Expect", "100-continue")
		}, closeAfterHead, true},
		{"GET after response bytes", "GET", "", nil, answerPartly, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := flakyServer(t, tt.fail)
			tr := newTransport(t, Options{ExpectContinueTimeout: 10 * time.Second})
			resp, err := get(t, tr, srv.URL()) // warms the connection
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)

			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, srv.URL(), body)
			if tt.edit != nil {
				tt.edit(req)
			}
			resp, err = tr.RoundTrip(req)
			if tt.retried {
				if err != nil {
					t.Fatalf("err = %v, want success after a retry", err)
				}
				if got := readAll(t, resp); got != tt.body {
					t.Errorf("echo = %q, want %q", got, tt.body)
				}
			} else if err == nil {
				resp.Body.Close()
				t.Fatalf("got %d, want an error", resp.StatusCode)
			}
			want := uint64(0)
			if tt.retried {
				want = 1
			}
			if s := tr.Stats(); s.Retries != want {
				t.Errorf("retries = %d, want %d (stats %+v)", s.Retries, want, s)
			}
		})
	}
}

// TestStaleIdleConnection: the backend closes an idle connection between
// requests; the next request notices and succeeds on a new one. A request
// with a body that can't be sent twice has the idle connection checked
// before its body is read; others find out at their first write, which
// peeks first and sends nothing, and are retried.
func TestStaleIdleConnection(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      string
		wantStale uint64
		wantRetry uint64
	}{
		{"GET", "GET", "", 1, 1},
		{"POST with body", "POST", "data", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed := make(chan struct{})
			srv := newRawServer(t, func(i int, c net.Conn) {
				if i > 0 {
					serveGood(c)
					return
				}
				br := bufio.NewReader(c)
				if _, _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				c.Close() // an idle timeout on the backend's side
				close(closed)
			})
			tr := newTransport(t, Options{})
			resp, err := get(t, tr, srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			<-closed

			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, srv.URL(), body)
			req.GetBody = nil
			resp, err = tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("request after the backend closed: %v", err)
			}
			if got := readAll(t, resp); got != tt.body {
				t.Errorf("echo = %q", got)
			}
			s := tr.Stats()
			if s.Dials != 2 || s.Stale != tt.wantStale || s.Retries != tt.wantRetry {
				t.Errorf("stats = %+v, want %d stale, %d retries", s, tt.wantStale, tt.wantRetry)
			}
		})
	}
}
