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

func TestProxyGetAndPost(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Host", r.Host)
		io.WriteString(w, "got:"+string(body))
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)

	tests := []struct {
		method, body, want string
	}{
		{"GET", "", "got:"},
		{"POST", "hello", "got:hello"},
		{"PUT", strings.Repeat("x", 100<<10), "got:" + strings.Repeat("x", 100<<10)},
		{"GET", "", "got:"},
	}
	for _, tt := range tests {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		req, _ := http.NewRequest(tt.method, f.URL+"/p?q=1", body)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != tt.want {
			t.Errorf("%s body = %.40q, want %.40q", tt.method, got, tt.want)
		}
		if got := resp.Header.Get("X-Method"); got != tt.method {
			t.Errorf("method = %q, want %q", got, tt.method)
		}
		if got, want := resp.Header.Get("X-Host"), target(t, be.URL); got != want {
			t.Errorf("Host = %q, want %q", got, want)
		}
		if err := f.wait(t); err != nil {
			t.Fatal(err)
		}
	}
	s := tr.Stats()
	if s.Dials != 1 || s.Reused != 3 || s.Closed != 0 {
		t.Errorf("stats = %+v, want 1 dial, 3 reused, 0 closed", s)
	}
	if ts := s.Targets[target(t, be.URL)]; ts.Open != 1 || ts.Idle != 1 {
		t.Errorf("target stats = %+v, want 1 open and idle", ts)
	}
}

// TestRequestHead checks the bytes written: request line, Host from req.Host
// or the URL, hop-by-hop headers and those named by Connection left out,
// framing headers written by the transport.
func TestRequestHead(t *testing.T) {
	heads := make(chan *http.Request, 8)
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			heads <- req
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	tr := newTransport(t, Options{})

	req, _ := http.NewRequest("GET", srv.URL()+"/a%2Fb?x=1&y", nil)
	req.Host = "example.test"
	req.Header = http.Header{
		"Connection":          {"X-Private, keep-alive"},
		"X-Private":           {"secret"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Connection":    {"keep-alive"},
		"Proxy-Authorization": {"Basic x"},
		"Upgrade":             {"websocket"}, // no "Connection: upgrade": dropped
		"Te":                  {"trailers"},
		"Content-Length":      {"99"},
		"Transfer-Encoding":   {"gzip"},
		"X-Multi":             {"a", "b"},
		"User-Agent":          {""},
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := <-heads
	if got.Host != "example.test" || got.RequestURI != "/a%2Fb?x=1&y" {
		t.Errorf("Host %q URI %q", got.Host, got.RequestURI)
	}
	for _, k := range []string{"Connection", "X-Private", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Upgrade", "Transfer-Encoding", "Content-Length", "User-Agent"} {
		if v, ok := got.Header[k]; ok {
			t.Errorf("header %s = %q sent", k, v)
		}
	}
	if got.Header.Get("Te") != "trailers" {
		t.Errorf("Te = %q, want trailers", got.Header.Get("Te"))
	}
	if v := got.Header["X-Multi"]; len(v) != 2 {
		t.Errorf("X-Multi = %q", v)
	}

	// Host from the URL; Connection: close is sent and the conn not kept.
	req, _ = http.NewRequest("POST", srv.URL(), nil)
	req.Close = true
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got = <-heads
	if got.Host != target(t, srv.URL()) || !got.Close || got.ContentLength != 0 || got.Header.Get("Content-Length") != "0" {
		t.Errorf("Host %q Close %v Content-Length %q", got.Host, got.Close, got.Header.Get("Content-Length"))
	}
	if s := tr.Stats(); s.Closed != 1 || s.Targets[target(t, srv.URL())].Idle != 0 {
		t.Errorf("stats after Connection: close = %+v", s)
	}
}

func TestInvalidRequests(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) { serveOK(c) })
	tr := newTransport(t, Options{})
	tests := []struct {
		name string
		edit func(r *http.Request)
		want error
	}{
		{"header value", func(r *http.Request) { r.Header.Set("X-A", "a\r\nX-B: b") }, ErrInvalidRequest},
		{"header name", func(r *http.Request) { r.Header["X A"] = []string{"v"} }, ErrInvalidRequest},
		{"method", func(r *http.Request) { r.Method = "GE T" }, ErrInvalidRequest},
		{"host", func(r *http.Request) { r.Host = "a b" }, ErrInvalidRequest},
		{"query", func(r *http.Request) { r.URL.RawQuery = "a\r\n" }, ErrInvalidRequest},
		{"https", func(r *http.Request) { r.URL.Scheme = "https" }, ErrUnsupportedScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL(), nil)
			tt.edit(req)
			resp, err := tr.RoundTrip(req)
			if !errors.Is(err, tt.want) {
				if resp != nil {
					resp.Body.Close()
				}
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if s := tr.Stats(); s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
		t.Errorf("stats = %+v, want no retry and nothing open", s)
	}
}

// TestNoBodyResponses: HEAD, 204 and 304 carry no body even with a
// Content-Length, and the connection is reused after each.
func TestNoBodyResponses(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}
	})
	tr := newTransport(t, Options{})
	for _, tt := range []struct{ method, path string }{{"HEAD", "/"}, {"GET", "/204"}, {"GET", "/304"}, {"GET", "/"}} {
		req, _ := http.NewRequest(tt.method, be.URL+tt.path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		want := ""
		if tt.method == "GET" && tt.path == "/" {
			want = "hello"
		}
		if body != want {
			t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, body, want)
		}
		if tt.method == "HEAD" && resp.ContentLength != 5 {
			t.Errorf("HEAD ContentLength = %d, want 5", resp.ContentLength)
		}
	}
	if s := tr.Stats(); s.Dials != 1 || s.Reused != 3 {
		t.Errorf("stats = %+v, want one connection for all", s)
	}
}

// TestResponseConnectionClose: a response that says "Connection: close"
// (or is HTTP/1.0 without keep-alive) leaves its connection closed.
func TestResponseConnectionClose(t *testing.T) {
	for _, answer := range []string{
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	} {
		closed := make(chan struct{}, 1)
		srv := answerOnce(t, answer, closed)
		tr := newTransport(t, Options{})
		resp, err := get(t, tr, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "ok" {
			t.Errorf("body = %q", got)
		}
		<-closed
		if s := tr.Stats(); s.Closed != 1 || s.Targets[target(t, srv.URL())].Open != 0 {
			t.Errorf("%.20q: stats = %+v, want the connection closed", answer, s)
		}
	}
}
