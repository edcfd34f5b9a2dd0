//go:build unix && !linux

// Package rawio reads and writes non-blocking sockets with single system
// calls, for code that already holds a socket's descriptor inside a
// syscall.RawConn callback.
package rawio

import (
	"syscall"
	"unsafe"
)

// Read and Write read and write a non-blocking socket, which returns at
// once, without syscall.Read's notice to the scheduler of a call that may
// block. (A write to a peer that is gone fails with EPIPE: the runtime
// ignores the SIGPIPE of a descriptor other than 1 and 2.)
func Read(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), e
}

func Write(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(n), e
}
