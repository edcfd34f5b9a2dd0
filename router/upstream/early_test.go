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

// TestEarlyResponse: a backend that answers before reading a large body and
// closes (a reset, as data is left unread) gets its answer through, even
// though writing the body failed.
func TestEarlyResponse(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large")
	})
	tr := newTransport(t, Options{})
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("POST", srv.URL(), strings.NewReader(strings.Repeat("x", 8<<20)))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if got := readAll(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge || got != "too large" {
			t.Errorf("got %d %q", resp.StatusCode, got)
		}
	}
	if s := tr.Stats(); s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
		t.Errorf("stats = %+v, want the connections closed, no retry", s)
	}
}

// TestAnswerWithoutReadingBody: a net/http backend that answers without
// reading a moderate body drains it itself; the connection stays usable.
func TestAnswerWithoutReadingBody(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	tr := newTransport(t, Options{})
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("POST", be.URL, strings.NewReader(strings.Repeat("x", 100<<10)))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d", resp.StatusCode)
		}
	}
	if s := tr.Stats(); s.Dials != 1 {
		t.Errorf("stats = %+v, want one connection", s)
	}
}

// gateReader holds a body's last part back until open returns.
type gateReader struct {
	first, last io.Reader
	open        func()
	opened      bool
}

func (g *gateReader) Read(p []byte) (int, error) {
	if n, err := g.first.Read(p); err != io.EOF {
		return n, err
	}
	if !g.opened {
		g.opened = true
		g.open()
	}
	return g.last.Read(p)
}

// TestEarlyAnswerNotReused: an answer that arrives while a request body
// is still being sent in several writes is served, and its connection is
// closed after it, as the backend may not have read the body's rest.
func TestEarlyAnswerNotReused(t *testing.T) {
	answered := make(chan struct{})
	srv := newRawServer(t, func(i int, c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if i == 0 {
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nearly")
			close(answered)
		}
		io.Copy(io.Discard, req.Body)
		if i > 0 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlater")
		}
		io.Copy(io.Discard, br) // until the client closes
	})
	var first net.Conn
	d := &net.Dialer{}
	tr := newTransport(t, Options{ResponseHeaderTimeout: 5 * time.Second, Dialer: dialerFunc(func(network, addr string) (net.Conn, error) {
		c, err := d.Dial(network, addr)
		if first == nil {
			first = c
		}
		return c, err
	})})
	body := &gateReader{
		first: strings.NewReader(strings.Repeat("a", 100<<10)),
		last:  strings.NewReader("end"),
		open: func() { // the answer is on the client's socket
			<-answered
			waitReadable(t, first)
		},
	}
	req, _ := http.NewRequest("POST", srv.URL(), body)
	req.ContentLength = 100<<10 + 3
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); resp.StatusCode != http.StatusForbidden || got != "early" {
		t.Fatalf("got %d %q, want the early answer", resp.StatusCode, got)
	}
	if s := tr.Stats(); s.Closed != 1 || s.Targets[target(t, srv.URL())].Open != 0 {
		t.Errorf("stats %+v, want the connection closed", s)
	}
	if got := outcome(tr, "POST", srv.URL(), strings.NewReader("x")); got != "200 later" {
		t.Errorf("next request: %q", got)
	}
}
