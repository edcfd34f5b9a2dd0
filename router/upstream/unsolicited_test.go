package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// poison is a complete answer nobody asked for: a client that gets it was
// served another exchange's bytes.
const poison = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON"

// script is a backend's misbehaviour on the connection that gets "/first":
// first is written at once in answer; late, if any, is written once the
// client has read that answer (the test sends on s.late); closeAfter closes
// the connection after first. Every other request is answered 200 with its
// path as the body, on whatever connection it comes.
type script struct {
	first, late string
	closeAfter  bool
	tls         *tls.Config // serve over TLS
}

// scriptServer runs a script and records on which connection each path
// was served. gone is closed when the connection that served "/first"
// ends.
type scriptServer struct {
	*rawServer
	late, lateSent chan struct{}
	gone           chan struct{}

	mu     sync.Mutex
	connOf map[string]int
}

func newScriptServer(t *testing.T, sc script) *scriptServer {
	s := &scriptServer{
		late: make(chan struct{}), lateSent: make(chan struct{}),
		gone: make(chan struct{}), connOf: map[string]int{},
	}
	s.rawServer = newRawServer(t, func(i int, c net.Conn) {
		if sc.tls != nil {
			c = tls.Server(c, sc.tls)
		}
		br := bufio.NewReader(c)
		first := false
		defer func() {
			if first {
				close(s.gone)
			}
		}()
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.connOf[req.URL.Path] = i
			s.mu.Unlock()
			if req.URL.Path != "/first" {
				echoPath(c, req)
				continue
			}
			first = true
			io.WriteString(c, sc.first)
			if sc.closeAfter {
				return
			}
			if sc.late != "" {
				select {
				case <-s.late:
				case <-time.After(10 * time.Second):
					return
				}
				io.WriteString(c, sc.late)
				close(s.lateSent)
			}
		}
	})
	return s
}

// echoPath answers 200 with the request's path as the body.
func echoPath(c net.Conn, req *http.Request) {
	p := req.URL.Path
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(p))+"\r\n\r\n"+p)
}

func (s *scriptServer) servedOn(path string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.connOf[path]
	return i, ok
}

// outcome is a round trip's result class: the body, or "error" when the
// round trip or the body read failed.
func outcome(tr http.RoundTripper, method, u string, body io.Reader) string {
	req, _ := http.NewRequest(method, u, body)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "error"
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "error"
	}
	return itoa(resp.StatusCode) + " " + string(b)
}

// waitPooledBytes waits until tr's idle connection to host holds unread
// bytes, or is gone: the late bytes have arrived.
func waitPooledBytes(t *testing.T, tr *Transport, host string) {
	t.Helper()
	waitPooled(t, tr, host, func(c *conn) bool { return c.idleState() != sockIdle })
}

// waitPooled waits until host's pool has no idle connection or ready
// holds for one.
func waitPooled(t *testing.T, tr *Transport, host string, ready func(*conn) bool) {
	t.Helper()
	p := tr.poolFor(host)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		done := len(p.idle) == 0
		for _, c := range p.idle {
			done = done || ready(c)
		}
		p.mu.Unlock()
		if done {
			return
		}
		time.Sleep(time.Millisecond) // polling a socket for bytes in flight
	}
	t.Fatal("the late bytes never reached the pooled connection")
}

var unsolicitedCases = []struct {
	name   string
	method string // of the first request
	sc     script
	first  string // its outcome
	// stdKeeps: http.Transport reuses the connection (this transport
	// does not).
	stdKeeps bool
}{
	{"second answer later", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", late: poison}, "200 one", false},
	{"body after HEAD", "HEAD", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON" + poison}, "200 ", false},
	{"body after HEAD, late", "HEAD", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", late: "POISON" + poison}, "200 ", false},
	{"length one short, last byte late", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", late: "d" + poison}, "200 abc", false},
	{"length long", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef" + poison}, "200 abc", false},
	{"bytes after 204", "GET", script{first: "HTTP/1.1 204 No Content\r\n\r\n" + poison}, "204 ", false},
	{"bytes after 204, late", "GET", script{first: "HTTP/1.1 204 No Content\r\n\r\n", late: poison}, "204 ", false},
	{"304 with a body", "GET", script{first: "HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\nPOISON"}, "304 ", false},
	{"chunked then more", "GET", script{first: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + poison}, "200 abc", false},
	{"chunked then more, late", "GET", script{first: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", late: poison}, "200 abc", false},
	{"Content-Length and Transfer-Encoding", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}, "200 abc", true},
	{"length short, then closed", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", closeAfter: true}, "error", false},
	{"differing lengths", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"}, "error", false},
	{"Connection: close", "GET", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc" + poison}, "200 abc", false},
	{"garbage before a status line", "GET", script{first: "xyz" + poison}, "error", false},
}

// TestUnsolicitedBytes: whatever a backend sends past the end of an answer,
// at once or later, the next request on the same target gets its own
// answer, and this transport never sends it on the connection that
// misbehaved. http.Transport, run against the same backend, gets the same
// outcomes.
func TestUnsolicitedBytes(t *testing.T) {
	for _, tt := range unsolicitedCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, std := range []bool{false, true} {
				name := "upstream"
				if std {
					name = "std"
				}
				t.Run(name, func(t *testing.T) {
					srv := newScriptServer(t, tt.sc)
					var tr http.RoundTripper
					var ours *Transport
					if std {
						st := stdTransport()
						t.Cleanup(st.CloseIdleConnections)
						tr = st
					} else {
						ours = newTransport(t, Options{})
						tr = ours
					}
					if got := outcome(tr, tt.method, srv.URL()+"/first", nil); got != tt.first {
						t.Fatalf("first answer %q, want %q", got, tt.first)
					}
					if tt.sc.late != "" {
						close(srv.late)
						<-srv.lateSent
						if !std {
							waitPooledBytes(t, ours, target(t, srv.URL()))
						}
					}
					if std && !tt.stdKeeps {
						<-srv.gone // http.Transport closes it from its read loop
					}
					for _, path := range []string{"/second", "/third"} {
						if got := outcome(tr, "GET", srv.URL()+path, nil); got != "200 "+path {
							t.Fatalf("%s: answer %q, want its own", path, got)
						}
					}
					if std {
						return
					}
					if i, _ := srv.servedOn("/second"); i == 0 {
						t.Error("/second was sent on the connection that misbehaved")
					}
					s := ours.Stats()
					if s.Targets[target(t, srv.URL())].Open != 1 {
						t.Errorf("stats %+v, want one connection left", s)
					}
				})
			}
		})
	}
}

// TestUnsolicitedRetry: bytes found on a reused connection at a request's
// first write retire it unused, and the request goes once more on a new
// connection; a request with a body has the connection checked before
// its body is read, so its body is sent once, on the new connection.
func TestUnsolicitedRetry(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		method, body         string
		wantRetries, wantBad uint64
	}{
		{"GET", "GET", "", 1, 1},
		{"POST without body", "POST", "", 1, 1},
		{"POST with body", "POST", "payload", 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServer(t, script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", late: poison})
			tr := newTransport(t, Options{})
			if got := outcome(tr, "GET", srv.URL()+"/first", nil); got != "200 one" {
				t.Fatalf("first answer %q", got)
			}
			close(srv.late)
			<-srv.lateSent
			waitPooledBytes(t, tr, target(t, srv.URL()))
			var body io.Reader
			if tt.body != "" {
				body = &countingReader{r: strings.NewReader(tt.body)}
			}
			if got := outcome(tr, tt.method, srv.URL()+"/second", body); got != "200 /second" {
				t.Fatalf("answer %q, want its own", got)
			}
			if cr, ok := body.(*countingReader); ok && cr.total() != len(tt.body) {
				t.Errorf("body read %d bytes, want %d: it was read for the bad connection", cr.total(), len(tt.body))
			}
			s := tr.Stats()
			if s.Retries != tt.wantRetries || s.Unsolicited != tt.wantBad || s.Dials != 2 {
				t.Errorf("stats %+v, want %d retries, %d unsolicited, 2 dials", s, tt.wantRetries, tt.wantBad)
			}
		})
	}
}

// TestUnsolicitedOnNewConnection: bytes that came before the request on a
// new connection are not its answer: the request fails, and is not sent.
func TestUnsolicitedOnNewConnection(t *testing.T) {
	got := make(chan bool, 1)
	sent := make(chan struct{})
	srv := newRawServer(t, func(_ int, c net.Conn) {
		io.WriteString(c, poison)
		close(sent)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := http.ReadRequest(bufio.NewReader(c))
		got <- err == nil
	})
	d := &net.Dialer{}
	tr := newTransport(t, Options{Dialer: dialerFunc(func(network, addr string) (net.Conn, error) {
		c, err := d.Dial(network, addr)
		if err == nil {
			<-sent
			waitReadable(t, c)
		}
		return c, err
	})})
	_, err := get(t, tr, srv.URL())
	if !errors.Is(err, ErrUnsolicited) {
		t.Fatalf("err = %v, want ErrUnsolicited", err)
	}
	if <-got {
		t.Error("the request was sent")
	}
}

type dialerFunc func(network, addr string) (net.Conn, error)

func (f dialerFunc) DialContext(_ context.Context, network, addr string) (net.Conn, error) {
	return f(network, addr)
}

// waitReadable blocks until c has bytes to read, taking none.
func waitReadable(t *testing.T, c net.Conn) {
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var buf [1]byte
	raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN
	})
}
