package upstream

import (
	"syscall"
	"unsafe"
)

// peekSocket is a non-blocking MSG_PEEK recvfrom(2) on fd, as a raw system
// call: it returns at once, so it needs no notice to the scheduler.
func peekSocket(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return int(n), e
}
