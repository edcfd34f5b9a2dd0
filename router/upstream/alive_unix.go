//go:build unix

package upstream

import "syscall"

// sockState is what a non-blocking peek finds on a connection that is not
// expecting an answer.
type sockState uint8

const (
	sockIdle   sockState = iota // nothing to read, not closed: usable
	sockData                    // bytes nobody asked for
	sockClosed                  // the backend closed it, or it failed
)

// idleState peeks at an idle conn without blocking, one system call:
// whether it can carry a request. A conn without a descriptor (a custom
// Dialer's) shows only what its buffer holds.
func (c *conn) idleState() sockState {
	if c.br.Buffered() > 0 {
		return sockData
	}
	if c.raw == nil {
		return sockIdle
	}
	c.peekState = sockClosed
	if err := c.raw.Read(c.peekFn); err != nil {
		return sockClosed
	}
	return c.peekState
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
