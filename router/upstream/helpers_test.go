package upstream

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTransport returns a Transport closed when the test ends.
func newTransport(t testing.TB, opts Options) *Transport {
	t.Helper()
	tr := New(opts)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// backend starts an httptest server closed when the test ends.
func backend(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// front is a ReverseProxy using a transport, served by an httptest server:
// exactly what the router does. served receives once per request, after the
// proxy's ServeHTTP returned (so the response body was closed).
type front struct {
	*httptest.Server
	served chan error
	client *http.Client
}

func newFront(t testing.TB, tr http.RoundTripper, target string) *front {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{served: make(chan error, 64)}
	var mu sync.Mutex
	var lastErr error
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			mu.Lock()
			lastErr = err
			mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastErr = nil
		mu.Unlock()
		defer func() { // ReverseProxy panics with http.ErrAbortHandler mid-body
			mu.Lock()
			err := lastErr
			mu.Unlock()
			p := recover()
			if p != nil {
				err = http.ErrAbortHandler
			}
			f.served <- err
			if p != nil {
				panic(p)
			}
		}()
		rp.ServeHTTP(w, r)
	}))
	ct := &http.Transport{DisableCompression: true}
	f.client = &http.Client{Transport: ct}
	t.Cleanup(func() {
		ct.CloseIdleConnections()
		f.Server.Close()
	})
	return f
}

// wait returns the error the proxy saw for the next finished request.
func (f *front) wait(t testing.TB) error {
	t.Helper()
	return <-f.served
}

// rawServer is a TCP backend written by hand, for answers net/http would
// never send. serve runs once per accepted connection, numbered from 0.
type rawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
	n     int
}

func newRawServer(t testing.TB, serve func(i int, c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			i := s.n
			s.n++
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				serve(i, c)
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) URL() string { return "http://" + s.ln.Addr().String() }

func (s *rawServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readRequest reads one request and its body from a raw connection.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

// get sends a GET through tr directly.
func get(t testing.TB, tr http.RoundTripper, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.RoundTrip(req)
}

// readAll reads and closes a response body.
func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// target returns the Stats key of a server URL.
func target(t testing.TB, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Host
}

// pipeDialer connects to an in-process backend over net.Pipe, for tests that
// run in a synctest bubble.
type pipeDialer struct {
	serve func(c net.Conn)
}

func (d pipeDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		d.serve(server)
	}()
	return client, nil
}

// serveOK answers every request on c with a 2-byte 200 until c closes.
func serveOK(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}
