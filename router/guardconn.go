package router

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"sync"
	"syscall"
	"time"
)

// guardConn is a standard-transport connection to a backend. net/http's
// Transport puts a connection back in its idle pool before its reader has
// looked past the answer, so bytes a backend sent after a whole answer
// (a second answer, a body on a 204) could be read as the answer to the
// next request, another client's. Before a reused connection carries a
// request, settle waits until the reader is idle on an empty socket (the
// bytes then close the connection: net/http drops bytes that come while no
// request is out), and on a plain connection a read that returns bytes
// before the request's first write ends it.
type guardConn struct {
	net.Conn
	raw syscall.RawConn // the socket, on a plain connection; nil under TLS

	mu      sync.Mutex
	reading bool // a Read is in progress: net/http's reader waits on the socket
	closed  bool
	idle    bool          // settled, the request not yet written: bytes now are unasked
	wake    chan struct{} // a change of reading or closed, for settle
}

// errUnasked is bytes a backend sent on a connection before it was asked.
var errUnasked = errors.New("backend sent bytes nobody asked for")

// settleWait bounds settle; net/http's reader is scheduled well before.
const settleWait = time.Second

// guardDialer dials through d and guards the connection; plain names the
// addresses of http targets. On others net/http may speak TLS, whose
// records are not answers: only settle's wait guards those.
func guardDialer(d *net.Dialer, plain map[string]bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		g := &guardConn{Conn: c, wake: make(chan struct{}, 1)}
		if sc, ok := c.(syscall.Conn); ok && plain[addr] {
			g.raw, _ = sc.SyscallConn()
		}
		return g, nil
	}
}

// guardGotConn settles a reused guarded connection; it is the relay's
// httptrace GotConn hook, called before net/http sends on the connection.
func guardGotConn(info httptrace.GotConnInfo) {
	if g, ok := info.Conn.(*guardConn); ok && info.Reused {
		g.settle()
	}
}

func (c *guardConn) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *guardConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.reading = true
	c.mu.Unlock()
	c.notify()
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.reading = false
	unasked := n > 0 && c.idle
	c.mu.Unlock()
	c.notify()
	if unasked {
		c.Close()
		return 0, errUnasked
	}
	return n, err
}

func (c *guardConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.idle = false
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *guardConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.notify()
	return c.Conn.Close()
}

// settle waits until the connection can carry a request: net/http's reader
// waits on a socket with nothing in it, or the connection closed (then
// net/http sends the request again on another when it can). Past
// settleWait it closes the connection.
func (c *guardConn) settle() {
	c.mu.Lock()
	c.idle = c.raw != nil
	c.mu.Unlock()
	var timeout <-chan time.Time
	for {
		c.mu.Lock()
		closed, reading := c.closed, c.reading
		c.mu.Unlock()
		if closed || reading && (c.raw == nil || socketEmpty(c.raw)) {
			return
		}
		if timeout == nil {
			t := time.NewTimer(settleWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-c.wake:
		case <-timeout:
			c.Close()
			return
		}
	}
}
