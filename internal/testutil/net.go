package testutil

import (
	"net"
	"testing"
)

// DeadAddr returns a loopback host:port that refuses connections: a port
// the kernel just handed out and that was closed again at once.
func DeadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
