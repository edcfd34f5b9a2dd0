// Package redistest runs a throwaway redis-server for tests: on a free
// loopback port, without persistence, killed when the test ends.
package redistest

import (
	"net"
	"strconv"
	"testing"
)

// Bin is the redis-server the tests run.
const Bin = "/usr/bin/redis-server"

// Server is one redis-server process. Not safe for concurrent use.
type Server struct {
	t     testing.TB
	Port  int
	extra []string // more redis-server arguments (StartTLS)
	p     proc
}

// Start starts redis-server on a free loopback port. It skips the test when
// redis-server is missing, unless CI=true, when it fails it.
func Start(t testing.TB) *Server { t.Helper(); return start(t, nil) }

// StartTLS starts redis-server serving TLS only (rediss://) with the PEM
// certificate and key given; clients are not asked for certificates.
func StartTLS(t testing.TB, certFile, keyFile, caFile string) *Server {
	t.Helper()
	return start(t, []string{"tls", certFile, keyFile, caFile})
}

func start(t testing.TB, tls []string) *Server {
	t.Helper()
	need(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, Port: port}
	if tls != nil {
		s.extra = []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--tls-cert-file", tls[1],
			"--tls-key-file", tls[2], "--tls-ca-cert-file", tls[3], "--tls-auth-clients", "no"}
	}
	s.Restart()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(s.Port) }

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Restart starts the server (again) on its port and returns once it
// accepts connections (it says so on stdout).
func (s *Server) Restart() {
	s.t.Helper()
	if s.p.cmd != nil {
		s.t.Fatal("redistest: Restart while running")
	}
	s.p = proc{Port: s.Port, args: append(dataArgs(s.Port, "."), s.extra...)}
	if err := s.p.start("Ready to accept connections"); err != nil {
		s.t.Fatal(err)
	}
}

// Kill kills the server (SIGKILL) and waits for it to be gone. It does
// nothing when the server is not running.
func (s *Server) Kill() { s.p.kill() }
