//go:build unix

package upstream

import (
	"syscall"
	"time"
)

// sockState is what a non-blocking peek finds on a connection that is not
// expecting an answer.
type sockState uint8

const (
	sockIdle   sockState = iota // nothing to read, not closed: usable
	sockData                    // bytes nobody asked for
	sockClosed                  // the backend closed it, or it failed
)

// idleState peeks at an idle conn without blocking, one system call:
// whether it can carry a request. A conn that wraps a socket (a custom
// Dialer's *tls.Conn) is looked at through the wrapper (wrappedState); one
// without any descriptor shows only what its buffer holds.
func (c *conn) idleState() sockState {
	if c.br.Buffered() > 0 {
		return sockData
	}
	switch {
	case c.raw != nil:
		return c.peekRaw(c.raw)
	case c.inner != nil:
		return c.wrappedState()
	}
	return sockIdle
}

func (c *conn) peekRaw(raw syscall.RawConn) sockState {
	c.peekState = sockClosed
	if err := raw.Read(c.peekFn); err != nil {
		return sockClosed
	}
	return c.peekState
}

// wrappedProbe bounds the read through a wrapping conn that looks for
// application bytes behind records it consumes itself.
const wrappedProbe = time.Millisecond

// wrappedState tells whether an idle conn that wraps a socket can carry a
// request. The socket's bytes are records of the wrapper: under TLS 1.3 a
// backend sends session tickets and key updates unasked, which are no
// answer. So a socket with bytes is read through the wrapper, briefly:
// application bytes retire the conn, and a wait that ends with none (the
// wrapper consumed its records) leaves it usable if the socket is then
// empty.
func (c *conn) wrappedState() sockState {
	if st := c.peekRaw(c.inner); st != sockData {
		return st
	}
	c.nc.SetReadDeadline(time.Now().Add(wrappedProbe))
	_, err := c.br.Peek(1)
	c.nc.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
		return sockData
	case !isTimeout(err):
		return sockClosed
	}
	if st := c.peekRaw(c.inner); st != sockIdle {
		return sockData // more records still: not worth waiting for
	}
	return sockIdle
}

// peekFD runs inside RawConn.Read: true means done, never wait.
func (c *conn) peekFD(fd uintptr) bool {
	c.peekState = c.peek(fd)
	return true
}

// peek looks at the socket fd without taking anything from it or
// blocking.
func (c *conn) peek(fd uintptr) sockState {
	n, e := peekSocket(int(fd), c.peekBuf[:])
	switch {
	case e == syscall.EAGAIN:
		return sockIdle
	case e == 0 && n > 0:
		return sockData
	}
	return sockClosed // EOF or an error
}
