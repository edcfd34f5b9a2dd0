//go:build linux

package router

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// countingListener counts the connections accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// The public listener has the kernel keep a connection until its first
// bytes come, for at most the head's timeout: one that sends nothing is
// never accepted, while one that sends a request is served.
func TestListenerDefersAccept(t *testing.T) {
	cfg, rt, log := newRouter(t, "listen: 127.0.0.1:0\nserver: {read_header_timeout: 30s}\nbackends:\n  app: {targets: [\"http://127.0.0.1:1\"]}\nroutes: [{backend: app}]\n")
	srv := NewServer(cfg, rt, log)
	var counted *countingListener
	var secs int
	if err := srv.Start(func(l net.Listener) net.Listener {
		rc, err := l.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		rc.Control(func(fd uintptr) { secs, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT) })
		if err != nil {
			t.Fatal(err)
		}
		counted = &countingListener{Listener: l}
		return counted
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	// The kernel rounds the seconds up to its retransmission steps.
	if secs < 30 {
		t.Fatalf("TCP_DEFER_ACCEPT is %d s, want at least the head's timeout, 30 s", secs)
	}
	silent, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a request: %v %v", resp, err)
	}
	if n := counted.n.Load(); n != 1 {
		t.Fatalf("%d connections accepted, want only the one that spoke", n)
	}
}
