//go:build unix

package upstream

import "syscall"

// alive reports whether an idle conn can carry a request: the backend has
// not closed it and sent nothing unasked. It peeks at the socket without
// blocking, one syscall.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	c.peekLive = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekLive
}

// peekFD runs inside RawConn.Read: true means done, never wait.
func (c *conn) peekFD(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// EAGAIN: nothing to read and not closed. Data, EOF or an error all
	// mean the connection can't carry a new request.
	c.peekLive = err == syscall.EAGAIN
	return true
}
