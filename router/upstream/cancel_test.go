package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestClientGoneBeforeResponse: the client leaves while the backend works;
// the upstream connection is closed (the backend sees it) and not pooled.
func TestClientGoneBeforeResponse(t *testing.T) {
	arrived, gone := make(chan struct{}), make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // the server noticed the connection close
		close(gone)
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := f.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	cancel()
	<-gone
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client err = %v", err)
	}
	if err := f.wait(t); !errors.Is(err, context.Canceled) {
		t.Errorf("proxy err = %v, want context.Canceled", err)
	}
	s := tr.Stats()
	if s.Closed != 1 || s.Canceled != 1 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("stats = %+v, want the connection closed as canceled", s)
	}
}

// TestClientGoneDuringRequestBody: the client leaves halfway through its
// upload; the upstream connection is closed.
func TestClientGoneDuringRequestBody(t *testing.T) {
	halfway, gone := make(chan struct{}), make(chan error, 1)
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4)
		io.ReadFull(r.Body, buf)
		close(halfway)
		_, err := io.ReadAll(r.Body)
		gone <- err
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	c, err := net.Dial("tcp", f.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: front\r\nContent-Length: 100\r\n\r\nhalf")
	<-halfway
	c.Close()
	if err := <-gone; err == nil {
		t.Error("backend read the whole body, want an error")
	}
	f.wait(t)
	s := tr.Stats()
	if s.Closed != 1 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("stats = %+v, want the connection closed", s)
	}
}

// TestClientGoneDuringResponse: the client leaves while the body streams;
// the upstream connection is closed, not pooled.
func TestClientGoneDuringResponse(t *testing.T) {
	gone := make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first") // chunked: ReverseProxy flushes at once
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", f.URL, nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first bytes %q, %v", buf, err)
	}
	cancel()
	resp.Body.Close()
	<-gone
	f.wait(t)
	s := tr.Stats()
	if s.Closed != 1 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("stats = %+v, want the connection closed", s)
	}
}

// TestCancelDuringBodyRead: a direct caller whose context ends while it
// reads the body gets the context's error.
func TestCancelDuringBodyRead(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	tr := newTransport(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", be.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	io.ReadFull(resp.Body, buf)
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("read err = %v, want context.Canceled", err)
	}
	resp.Body.Close()
	if s := tr.Stats(); s.Canceled != 1 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("stats = %+v", s)
	}
}

// silentServer reads requests and never answers.
func silentServer(t *testing.T) *rawServer {
	return newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
		}
	})
}

func TestResponseHeaderTimeout(t *testing.T) {
	srv := silentServer(t)
	tr := newTransport(t, Options{ResponseHeaderTimeout: 30 * time.Millisecond})
	req, _ := http.NewRequest("GET", srv.URL(), nil)
	_, err := tr.RoundTrip(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if s := tr.Stats(); s.Closed != 1 || s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
		t.Errorf("stats = %+v, want the connection closed, no retry", s)
	}
}

func TestContextDeadline(t *testing.T) {
	srv := silentServer(t)
	tr := newTransport(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL(), strings.NewReader("x"))
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if s := tr.Stats(); s.Closed != 1 || s.Canceled != 1 {
		t.Errorf("stats = %+v", s)
	}
}

// blockingDialer waits for its context.
type blockingDialer struct{}

func (blockingDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type failingDialer struct{}

func (failingDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no route")
}

// TestDialErrors: every dial failure is a *net.OpError with Op "dial"
// (which the router answers with 502, or 504 when it timed out, and retries
// elsewhere).
func TestDialErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name        string
		opts        Options
		wantTimeout bool
	}{
		{"refused", Options{}, false},
		{"dialer error", Options{Dialer: failingDialer{}}, false},
		{"connect timeout", Options{Dialer: blockingDialer{}, ConnectTimeout: 10 * time.Millisecond}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTransport(t, tt.opts)
			_, err := get(t, tr, closedURL)
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "dial" {
				t.Fatalf("err = %#v, want *net.OpError{Op: dial}", err)
			}
			if op.Timeout() != tt.wantTimeout {
				t.Errorf("Timeout() = %v, want %v", op.Timeout(), tt.wantTimeout)
			}
			if s := tr.Stats(); s.DialErrors != 1 || s.Targets[target(t, closedURL)].Open != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// TestRequestBodyError: an error reading the request body keeps its type
// (the router answers an *http.MaxBytesError with 413) and is not retried.
func TestRequestBodyError(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) { serveGood(c) })
	tr := newTransport(t, Options{})
	resp, err := get(t, tr, srv.URL()) // a reused connection next
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	body := io.MultiReader(strings.NewReader("0123456789"), errReader{&http.MaxBytesError{Limit: 10}})
	req, _ := http.NewRequest("PUT", srv.URL(), io.NopCloser(body))
	req.ContentLength = -1
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	_, err = tr.RoundTrip(req)
	var mb *http.MaxBytesError
	if !errors.As(err, &mb) || mb.Limit != 10 {
		t.Fatalf("err = %v, want the *http.MaxBytesError", err)
	}
	if s := tr.Stats(); s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
		t.Errorf("stats = %+v, want the connection closed, no retry", s)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
