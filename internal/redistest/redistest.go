// Package redistest runs a throwaway redis-server for tests: on a free
// loopback port, without persistence, killed when the test ends.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bin is the redis-server the tests run.
const Bin = "/usr/bin/redis-server"

// Server is one redis-server process. Not safe for concurrent use.
type Server struct {
	t     testing.TB
	Port  int
	extra []string // more redis-server arguments (StartTLS)
	cmd   *exec.Cmd
	done  chan struct{}
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
	if s.cmd != nil {
		s.t.Fatal("redistest: Restart while running")
	}
	args := append([]string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "notice"}, s.extra...)
	cmd := exec.Command(Bin, args...)
	orphanKill(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	ready := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		var log strings.Builder
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				io.Copy(io.Discard, out)
				break
			}
		}
		cmd.Wait()
		ready <- fmt.Errorf("redis-server exited before it was ready:\n%s", log.String())
	}()
	select {
	case err := <-ready:
		if err != nil {
			s.t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		s.t.Fatal("redis-server not ready after 10s")
	}
	s.cmd, s.done = cmd, done
}

// Kill kills the server (SIGKILL) and waits for it to be gone. It does
// nothing when the server is not running.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}
