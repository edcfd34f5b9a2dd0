//go:build !linux

package testutil

import (
	"net"
	"testing"
)

// TCPCloseWait is the kernel's TCP_CLOSE_WAIT state on Linux.
const TCPCloseWait = 8

// TCPState reads TCP_INFO, which is Linux's: elsewhere the tests that wait
// on a TCP state are skipped.
func TCPState(t testing.TB, _ *net.TCPConn) byte {
	t.Helper()
	t.Skip("needs Linux's TCP_INFO")
	return 0
}

// Unread needs Linux's FIONREAD on a socket: elsewhere the test is skipped.
func Unread(t testing.TB, _ *net.TCPConn) int {
	t.Helper()
	t.Skip("needs Linux's FIONREAD")
	return 0
}
