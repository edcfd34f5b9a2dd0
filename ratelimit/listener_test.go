package ratelimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// capServer serves "ok" on 127.0.0.1 through a.Listener and reports each
// closed server-side connection on the returned channel.
func capServer(t *testing.T, a *Admission, trusted func(netip.Addr) bool) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{}, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Listener.Close()
	srv.Listener = a.Listener(ln, trusted)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String(), closed
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not a wait
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one request on c and reads the answer.
func get(c net.Conn) error {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		return err
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return errors.New(res.Status)
	}
	return nil
}

func TestListenerCap(t *testing.T) {
	h := newHarness(t, `
abuse:
  max_conns_per_client: 2
`)
	addr, closed := capServer(t, h.Admission, nil)
	c1, c2 := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{c1, c2} {
		if err := get(c); err != nil {
			t.Fatalf("connection under the cap: %v", err)
		}
	}
	c3 := dial(t, addr)
	// The third connection is closed before any request is read: the
	// server sends nothing and hangs up.
	if err := get(c3); err == nil {
		t.Fatal("third connection served")
	}
	if n := h.rec.count(stats.TooManyConns); n != 1 {
		t.Fatalf("too_many_conns %d, want 1", n)
	}
	if e := h.tracked(netip.MustParseAddr("127.0.0.1")); e == nil || e.conns != 2 {
		t.Fatalf("record %+v", e)
	}

	c1.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server never closed the connection")
	}
	if err := get(dial(t, addr)); err != nil {
		t.Fatalf("connection after one closed: %v", err)
	}
}

func TestListenerTrustedPeers(t *testing.T) {
	h := newHarness(t, `
abuse:
  max_conns_per_client: 1
`)
	lb := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	addr, _ := capServer(t, h.Admission, lb)
	for i := range 5 {
		if err := get(dial(t, addr)); err != nil {
			t.Fatalf("connection %d from a trusted peer: %v", i, err)
		}
	}
	if h.rec.count(stats.TooManyConns) != 0 || h.Snapshot(0).TrackedClients != 0 {
		t.Fatal("trusted peer counted")
	}
}

func TestListenerUncapped(t *testing.T) {
	h := newHarness(t, "")
	addr, _ := capServer(t, h.Admission, nil)
	for i := range 5 {
		if err := get(dial(t, addr)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	if h.Snapshot(0).TrackedClients != 0 {
		t.Fatal("connections counted without a cap")
	}
}
