//go:build unix && !linux

package upstream

import "syscall"

// peekSocket is a non-blocking MSG_PEEK recvfrom(2) on fd.
func peekSocket(fd int, b []byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(fd, b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return n, e
		}
		return n, syscall.EIO
	}
	return n, 0
}
