// Package rawio reads and writes non-blocking sockets with single system
// calls, for code that already holds a socket's descriptor inside a
// syscall.RawConn callback.
package rawio

import (
	"syscall"
	"unsafe"
)

// Read and Write read and write a non-blocking socket, which returns at
// once: without syscall.Read's notice to the scheduler of a call that may
// block, which costs more than the call, and as recvfrom(2) and sendto(2),
// which go to the socket without read(2)'s and write(2)'s file layer.
// MSG_NOSIGNAL: a peer that is gone is EPIPE, not a signal.
func Read(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	return int(n), e
}

func Write(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), syscall.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}
