//go:build !linux

package router

import "syscall"

// deferAccept is Linux's TCP_DEFER_ACCEPT (listen_linux.go); elsewhere
// connections are accepted at once.
func deferAccept(int) func(network, address string, c syscall.RawConn) error { return nil }
