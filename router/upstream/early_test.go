package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
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
