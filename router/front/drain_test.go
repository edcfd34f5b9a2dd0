package front

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A drain (http.Server.Shutdown) closes at once the connections that have
// handed net/http nothing (half a head, as a slowloris sends; one the
// front refused), where net/http would wait up to 5 s for each, and lets a
// request in flight finish.
func TestShutdownClosesFreshConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := NewListener(ln, refuser{}, Timeouts{Header: time.Minute, Idle: time.Minute})
	held, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{ConnState: ConnState, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(held)
			<-release
		}
		io.WriteString(w, "ok")
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fl) }()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	slow := dial()
	slow.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	refused := dial()
	refused.Write([]byte(get1("/limited/a")))
	expect429(t, bufio.NewReader(refused), 0)
	busy := dial()
	busy.Write([]byte(get1("/hold")))
	<-held
	// The slowloris's half head is read once the front has it: wait for
	// the front to be reading it (its next read would block).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		fl.mu.Lock()
		n := len(fl.fresh)
		fl.mu.Unlock()
		if n == 2 { // slow and refused; busy has started
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d fresh connections, want 2", n)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for _, c := range []net.Conn{slow, refused} {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("a fresh connection on Shutdown: read %d, %v; want EOF", n, err)
		}
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the request in flight: %v %v", resp, err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
}
