package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary bytes from a backend (which then closes)
// through RoundTrip: no panic, no hang, a response or an error, and no
// connection left counted once the transport is closed.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw bytes",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	// One listener for the whole run. The backend ends each connection with
	// a reset (no TIME_WAIT), so a long run doesn't exhaust local ports.
	var data atomic.Pointer[[]byte]
	srv := newRawServer(f, func(_ int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write(*data.Load())
		c.(*net.TCPConn).SetLinger(0)
	})
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		data.Store(&in)
		tr := New(Options{ResponseHeaderTimeout: 100 * time.Millisecond, MaxResponseHeaderBytes: 4 << 10})
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL(), nil)
		resp, err := tr.RoundTrip(req)
		if (resp == nil) == (err == nil) {
			t.Fatalf("resp %v and err %v", resp, err)
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		tr.Close()
		if s := tr.Stats(); s.Targets[target(t, srv.URL())].Open != 0 {
			t.Fatalf("connections still counted after Close: %+v", s)
		}
		if ctx.Err() != nil {
			t.Fatal("round trip hung until the safety deadline")
		}
	})
}

// FuzzSecondRequest scripts a backend from fuzz bytes: its answer to the
// first request is an answer and trailing bytes, written at once, and then
// it shuts its side. Whatever those bytes are, the second request on the
// target gets its own answer, never bytes of the first exchange.
func FuzzSecondRequest(f *testing.F) {
	for _, seed := range []struct{ answer, trailing string }{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ""},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", poison},
		{"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", "POISON"},
		{"HTTP/1.1 204 No Content\r\n\r\n", poison},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\n", "POISON"},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", poison},
		{"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", poison},
		{"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", poison},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", poison},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", poison},
		{"HTTP/1.1 200 OK\r\n\r\n", poison},
		{"", poison},
	} {
		f.Add([]byte(seed.answer), []byte(seed.trailing), false)
		f.Add([]byte(seed.answer), []byte(seed.trailing), true)
	}
	var data atomic.Pointer[[]byte]
	srv := newRawServer(f, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, _, err := readRequest(br)
			if err != nil {
				break
			}
			if req.URL.Path != "/first" {
				echoPath(c, req)
				continue
			}
			c.Write(*data.Load())
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, br) // until the client closes
			break
		}
		c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT over a long run
	})
	f.Fuzz(func(t *testing.T, answer, trailing []byte, head bool) {
		in := append(append([]byte(nil), answer...), trailing...)
		if len(in) > 16<<10 {
			return // one write, one segment on loopback
		}
		data.Store(&in)
		tr := New(Options{ResponseHeaderTimeout: time.Second, MaxResponseHeaderBytes: 4 << 10})
		defer tr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL()+"/first", nil)
		if resp, err := tr.RoundTrip(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/second", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("second request: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != "/second" {
			t.Fatalf("second request got %d %q (%v), want its own answer", resp.StatusCode, body, err)
		}
	})
}
