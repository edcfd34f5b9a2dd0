package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// answerOnce reads one request, writes answer, then waits for the client to
// close the connection and reports that on closed.
func answerOnce(t *testing.T, answer string, closed chan<- struct{}) *rawServer {
	return newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		if _, _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, answer)
		io.Copy(io.Discard, br) // until the client closes
		closed <- struct{}{}
	})
}

// TestMalformedHead: a response head that can't be trusted is an error, and
// the connection is closed by the transport.
func TestMalformedHead(t *testing.T) {
	tests := []struct {
		name, answer string
		want         error
	}{
		{"garbage", "NOT HTTP AT ALL\r\n\r\n", nil},
		{"bad status", "HTTP/1.1 abc OK\r\n\r\n", nil},
		{"status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", ErrBadStatus},
		{"status 600", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", ErrBadStatus},
		{"status 999", "HTTP/1.1 999 Odd\r\nContent-Length: 5\r\n\r\nhello", ErrBadStatus},
		{"bad header line", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", nil},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", nil},
		{"negative content-length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", nil},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", nil},
		{"unknown transfer-encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", nil},
		{"two transfer-encodings", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", nil},
		{"header too large", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 8<<10) + "\r\n\r\n", ErrHeaderTooLarge},
		{"endless 1xx", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 1000), ErrTooManyInformational},
		{"six 1xx", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ErrTooManyInformational},
		{"large 1xx heads", strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: "+strings.Repeat("l", 1500)+"\r\n\r\n", 3) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed := make(chan struct{}, 1)
			srv := answerOnce(t, tt.answer, closed)
			tr := newTransport(t, Options{MaxResponseHeaderBytes: 4 << 10})
			resp, err := get(t, tr, srv.URL())
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %d, want an error", resp.StatusCode)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			<-closed
			if s := tr.Stats(); s.Closed != 1 || s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
				t.Errorf("stats = %+v, want the connection closed, no retry", s)
			}
		})
	}
}

// TestMalformedBody: a head that parses but a body that breaks is a read
// error, and the connection is closed.
func TestMalformedBody(t *testing.T) {
	tests := []struct{ name, answer string }{
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closed := make(chan struct{}, 1)
			srv := answerOnce(t, tt.answer, closed)
			tr := newTransport(t, Options{})
			resp, err := get(t, tr, srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Error("body read without error")
			}
			resp.Body.Close()
			<-closed
			if s := tr.Stats(); s.Closed != 1 || s.Targets[target(t, srv.URL())].Open != 0 {
				t.Errorf("stats = %+v, want the connection closed", s)
			}
		})
	}
}

// TestMalformedThroughProxy: the router's path answers 502.
func TestMalformedThroughProxy(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := answerOnce(t, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", closed)
	tr := newTransport(t, Options{})
	f := newFront(t, tr, srv.URL())
	resp, err := f.client.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d, want 502", resp.StatusCode)
	}
	if err := f.wait(t); err == nil {
		t.Error("proxy saw no error")
	}
	<-closed
}

// TestTrailingBytesRetire: bytes after a complete response (a backend
// sending more than it announced) make the connection unusable; the next
// request takes a new one.
func TestTrailingBytesRetire(t *testing.T) {
	srv := newRawServer(t, func(i int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
		}
	})
	tr := newTransport(t, Options{})
	for i := 0; i < 2; i++ {
		resp, err := get(t, tr, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "ok" {
			t.Fatalf("body = %q", got)
		}
	}
	if s := tr.Stats(); s.Dials != 2 || s.Closed != 2 || s.Reused != 0 {
		t.Errorf("stats = %+v, want each connection closed after its response", s)
	}
}
