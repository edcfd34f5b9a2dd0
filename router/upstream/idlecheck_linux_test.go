package upstream

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIdleCheck prices the ways to know, when a pooled connection is
// taken, that the backend sent nothing while it was idle:
//
//   - peek/callback: a non-blocking MSG_PEEK inside the descriptor callback
//     the first write runs in anyway (what a request without a body pays);
//   - peek/rawconn: the same peek in its own RawConn.Read (what get pays for
//     a request with a body, before its body is read);
//   - watch/epoll: a readiness watch without a goroutine, on an epoll set of
//     idle connections: at least an EPOLL_CTL_ADD when the connection goes
//     idle and an EPOLL_CTL_DEL when it is taken;
//   - watch/goroutine: http.Transport's way, a goroutine parked in a read on
//     the idle connection, woken by a past deadline when it is taken.
//
// cpu-ns/op counts the process's CPU time, the watching goroutine's too.
func BenchmarkIdleCheck(b *testing.B) {
	client, server := tcpPair(b)
	defer client.Close()
	defer server.Close()
	raw, err := client.(*net.TCPConn).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var buf [1]byte
	peek := func(fd uintptr) bool {
		if _, e := peekSocket(int(fd), buf[:]); e != syscall.EAGAIN {
			b.Fatalf("peek: %v", e)
		}
		return true
	}
	var fd uintptr
	raw.Control(func(f uintptr) { fd = f })

	b.Run("peek/callback", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			peek(fd)
		}
	})
	b.Run("peek/rawconn", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			raw.Read(peek)
		}
	})
	b.Run("watch/epoll", func(b *testing.B) {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			b.Fatal(err)
		}
		defer syscall.Close(ep)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
				b.Fatal(err)
			}
			if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, int(fd), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("watch/goroutine", func(b *testing.B) {
		parked, woke := make(chan struct{}), make(chan error)
		stop := make(chan struct{})
		go func() {
			var p [1]byte
			for {
				select {
				case <-parked:
				case <-stop:
					return
				}
				_, err := client.Read(p[:])
				woke <- err
			}
		}()
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			parked <- struct{}{} // the connection goes idle: watch it
			client.SetReadDeadline(time.Unix(1, 0))
			if err := <-woke; err == nil { // taken: stop watching
				b.Fatal("read data on an idle connection")
			}
			client.SetReadDeadline(time.Time{})
		}
		close(stop)
	})
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(b *testing.B) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	return client, server
}
