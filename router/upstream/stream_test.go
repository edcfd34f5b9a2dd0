package upstream

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestChunkedBothWays sends a chunked request body through ReverseProxy and
// gets a chunked response with trailers back. (ReverseProxy clones the
// request before its trailers arrive, so request trailers don't cross it
// with any transport; TestRequestTrailers covers them.)
func TestChunkedBothWays(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("backend read: %v", err)
		}
		if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
			t.Errorf("request TransferEncoding = %q", r.TransferEncoding)
		}
		w.Header().Set("Trailer", "X-Sum")
		w.WriteHeader(http.StatusOK)
		for _, part := range strings.Split(string(body), ",") {
			io.WriteString(w, part+";")
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", "42")
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	for i := 0; i < 2; i++ { // the second rides the pooled connection
		pr, pw := io.Pipe()
		go func() {
			for _, s := range []string{"a", ",b", ",c"} {
				io.WriteString(pw, s)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", f.URL, pr)
		req.ContentLength = -1
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "a;b;c;" {
			t.Errorf("body = %q", got)
		}
		if got := resp.Trailer.Get("X-Sum"); got != "42" {
			t.Errorf("response trailer X-Sum = %q, want 42", got)
		}
		if err := f.wait(t); err != nil {
			t.Fatal(err)
		}
	}
	if s := tr.Stats(); s.Dials != 1 || s.Reused != 1 {
		t.Errorf("stats = %+v, want the connection reused", s)
	}
}

// trailerBody sets its request's trailer when it reaches EOF, as a server
// request body does.
type trailerBody struct {
	io.Reader
	req *http.Request
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF {
		b.req.Trailer.Set("X-Req-Sum", "7")
	}
	return n, err
}

func (b *trailerBody) Close() error { return nil }

func TestRequestTrailers(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, string(body)+"/"+r.Trailer.Get("X-Req-Sum"))
	})
	tr := newTransport(t, Options{})
	for _, length := range []int64{-1, 5} { // trailers force chunked
		req, _ := http.NewRequest("POST", be.URL, nil)
		req.Body = &trailerBody{strings.NewReader("hello"), req}
		req.ContentLength = length
		req.Trailer = http.Header{"X-Req-Sum": nil}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "hello/7" {
			t.Errorf("length %d: backend saw %q, want hello/7", length, got)
		}
	}
}

// TestResponseTrailersDirect: resp.Trailer is filled once the body is read,
// as ReverseProxy expects.
func TestResponseTrailersDirect(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		io.WriteString(w, "data")
		w.Header().Set("Grpc-Status", "0")
	})
	tr := newTransport(t, Options{})
	resp, err := get(t, tr, be.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.Trailer["Grpc-Status"]; !ok {
		t.Errorf("trailer not declared before the body: %v", resp.Trailer)
	}
	if got := readAll(t, resp); got != "data" {
		t.Errorf("body = %q", got)
	}
	if got := resp.Trailer.Get("Grpc-Status"); got != "0" {
		t.Errorf("trailer = %q, want 0", got)
	}
}

// TestSSEFlushes: the first event reaches the client through ReverseProxy
// while the backend is still holding the stream open.
func TestSSEFlushes(t *testing.T) {
	release := make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: two\n\n")
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	resp, err := f.client.Get(f.URL)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Errorf("first line = %q, %v", line, err)
	}
	close(release) // only now may the backend finish
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "\ndata: two\n\n" {
		t.Errorf("rest = %q", rest)
	}
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.Targets[target(t, be.URL)].Idle != 1 {
		t.Errorf("stats = %+v, want the connection pooled after the stream", s)
	}
}
