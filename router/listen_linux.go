//go:build linux

package router

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// deferAccept has the kernel hand a connection to accept only once its
// first bytes have arrived (TCP_DEFER_ACCEPT, seconds): every client of
// the public listener speaks first (a request, a PROXY header, a TLS
// hello), so the first read never finds nothing, and a connection that
// sends nothing never wakes the router.
func deferAccept(secs int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, secs)
		})
		if err != nil {
			return err
		}
		return serr
	}
}
