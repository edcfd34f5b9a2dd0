package rawio

import (
	"net"
	"syscall"
)

// ReadOnce is one Read of fd into b, tried again when a signal interrupts
// it: n > 0 bytes; n == 0 and errno 0 at the end of the stream; EAGAIN
// when there is nothing to read yet.
func ReadOnce(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, e := Read(fd, b)
		if e != syscall.EINTR {
			return max(n, 0), e
		}
	}
}

// WriteAll writes b to fd until it is all written (errno 0), the socket is
// full (EAGAIN) or writing fails, and returns how much was written.
func WriteAll(fd int, b []byte) (int, syscall.Errno) {
	n := 0
	for n < len(b) {
		m, e := Write(fd, b[n:])
		switch e {
		case 0:
			n += m
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}

// OpError wraps an error of a raw read or write on c as c's own Read or
// Write would: operation op, and without RawConn's own wrapping (which
// names its operation "raw-read" or "raw-write").
func OpError(op string, c net.Conn, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
