//go:build unix

package router

import "syscall"

// socketEmpty reports whether a socket has nothing to read and is open,
// without blocking or taking the read lock of a Read in progress.
func socketEmpty(raw syscall.RawConn) bool {
	empty := false
	raw.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		empty = err == syscall.EAGAIN
	})
	return empty
}
