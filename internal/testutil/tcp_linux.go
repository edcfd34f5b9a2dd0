package testutil

import (
	"net"
	"syscall"
	"testing"
	"unsafe"
)

// TCPCloseWait is the kernel's TCP_CLOSE_WAIT state: the peer's FIN is in.
const TCPCloseWait = 8

// TCPState returns the kernel's TCP state of c (tcp_info's first byte).
func TCPState(t testing.TB, c *net.TCPConn) byte {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info [256]byte
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		n := uint32(len(info))
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&n)), 0)
	})
	if errno != 0 {
		t.Fatalf("TCP_INFO: %v", errno)
	}
	return info[0]
}

// Unread returns how many bytes wait in c's receive buffer (FIONREAD).
func Unread(t testing.TB, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Fatalf("FIONREAD: %v", errno)
	}
	return int(n)
}
