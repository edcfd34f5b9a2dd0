package front

import (
	"net"
	"syscall"
	"testing"
	"unsafe"
)

const tcpCloseWait = 8 // TCP_CLOSE_WAIT: the peer's FIN is in

// tcpState is the kernel's TCP state of c (tcp_info's first byte).
func tcpState(t *testing.T, c *net.TCPConn) byte {
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
