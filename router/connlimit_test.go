package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

// capAdmission is an admission with abuse.max_conns_per_client at max,
// reporting to rec.
func capAdmission(t *testing.T, max int, rec stats.Recorder) *ratelimit.Admission {
	t.Helper()
	cfg, err := config.Load([]byte(fmt.Sprintf(`
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - match: {path_prefix: /}
    backend: app
abuse:
  max_conns_per_client: %d
`, max)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := ratelimit.New(cfg, rec, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// capServer serves "ok" on 127.0.0.1 through ConnCapListener and reports
// each closed server-side connection on the returned channel.
func capServer(t *testing.T, a *ratelimit.Admission, trusted func(netip.Addr) bool) (string, <-chan struct{}) {
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
	srv.Listener = ConnCapListener(ln, a, trusted)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String(), closed
}

func dialCapped(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not a wait
	t.Cleanup(func() { c.Close() })
	return c
}

// getOn sends one request on c and reads the answer.
func getOn(c net.Conn) error {
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

// The cap closes a client's connection over it unread, and a closed one
// frees its slot.
func TestConnCapListener(t *testing.T) {
	rec := &reasonCounter{}
	a := capAdmission(t, 2, rec)
	addr, closed := capServer(t, a, nil)
	c1, c2 := dialCapped(t, addr), dialCapped(t, addr)
	for _, c := range []net.Conn{c1, c2} {
		if err := getOn(c); err != nil {
			t.Fatalf("connection under the cap: %v", err)
		}
	}
	c3 := dialCapped(t, addr)
	// The third connection is closed before any request is read: the
	// server sends nothing and hangs up.
	if err := getOn(c3); err == nil {
		t.Fatal("third connection served")
	}
	if n := rec.count(stats.TooManyConns); n != 1 {
		t.Fatalf("too_many_conns %d, want 1", n)
	}

	c1.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("server never closed the connection")
	}
	if err := getOn(dialCapped(t, addr)); err != nil {
		t.Fatalf("connection after one closed: %v", err)
	}
}

// Trusted peers (load balancers) are never capped.
func TestConnCapListenerTrustedPeers(t *testing.T) {
	rec := &reasonCounter{}
	a := capAdmission(t, 1, rec)
	lb := func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }
	addr, _ := capServer(t, a, lb)
	for i := range 5 {
		if err := getOn(dialCapped(t, addr)); err != nil {
			t.Fatalf("connection %d from a trusted peer: %v", i, err)
		}
	}
	if rec.count(stats.TooManyConns) != 0 || a.Snapshot(0).TrackedClients != 0 {
		t.Fatal("trusted peer counted")
	}
}
