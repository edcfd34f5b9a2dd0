package upstream

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-router/bulwark/internal/rawio"
)

// conn is one connection to a target. At any time it has one owner: the
// request using it, its response body, or the pool while it is idle. Only
// abort, run from a context's AfterFunc, touches it from elsewhere, and only
// to close the socket.
type conn struct {
	nc  net.Conn
	raw syscall.RawConn // for the idle liveness check; nil if nc has no fd
	// inner is the socket under nc when nc wraps one (a *tls.Conn from a
	// custom Dialer): peeked at, never read or written directly.
	inner syscall.RawConn
	br    *bufio.Reader // reads through the conn itself (limit, nread)
	bw    *bufio.Writer
	p     *pool

	// limit is what reads from nc may still take: the header budget while a
	// response head is parsed, MaxInt64 otherwise.
	limit int64
	// nread counts bytes read from nc, to tell whether a response started;
	// written, bytes written to it, to tell whether a request started.
	nread, written int64
	// reused is set once the conn served a response and went back idle.
	reused bool
	idleAt time.Time

	// Per request: the context, and the AfterFunc stop that keeps abort
	// from closing the conn once it is released.
	ctx     context.Context
	stop    func() bool
	aborted atomic.Bool
	abortFn func()

	peekFn    func(fd uintptr) bool
	peekBuf   [1]byte
	peekState sockState

	// flushAwait's state inside RawConn.Read.
	awaitFn  func(fd uintptr) bool
	flushed  bool
	flushErr error

	// Read's and Write's state inside RawConn.Read and RawConn.Write; fd
	// is the descriptor while flushThenWait holds it (-1: none).
	readFn, writeFn func(fd uintptr) bool
	ioBuf           []byte
	ioN             int
	ioErrno         syscall.Errno
	ioEOF           bool
	fd              int
	// check makes the next write peek first, and write nothing if the
	// socket holds bytes or was closed (found: what the peek saw).
	check bool
	found sockState
	// note makes the next write peek first and set early if the socket
	// holds bytes: an answer that came before the request was all sent.
	note, early bool

	scratch [24]byte

	// lr is the body of the current response when readResponse parsed
	// its head itself.
	lr lengthReader
}

func newConn(p *pool, nc net.Conn) *conn {
	c := &conn{nc: nc, p: p, limit: math.MaxInt64}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	} else if w, ok := nc.(interface{ NetConn() net.Conn }); ok {
		if sc, ok := w.NetConn().(syscall.Conn); ok {
			if raw, err := sc.SyscallConn(); err == nil {
				c.inner = raw
			}
		}
	}
	c.br = p.t.getReader(c)
	c.bw = p.t.getWriter((*connWriter)(c))
	c.abortFn = c.abort
	c.peekFn = c.peekFD
	c.awaitFn = c.flushThenWait
	c.readFn, c.writeFn = c.readFD, c.writeFD
	c.fd = -1
	return c
}

// Read is the bufio.Reader's source: it enforces the header budget and
// counts bytes.
func (c *conn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, ErrHeaderTooLarge
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.read(p)
	c.nread += int64(n)
	c.limit -= int64(n)
	return n, err
}

// read reads nc: on a socket with one rawio.Read inside RawConn.Read,
// which waits on the poller while there is nothing to read and keeps the
// read deadline, without the file layer of read(2).
func (c *conn) read(p []byte) (int, error) {
	if c.raw == nil || len(p) == 0 {
		return c.nc.Read(p)
	}
	c.ioBuf, c.ioN, c.ioErrno, c.ioEOF = p, 0, 0, false
	err := c.raw.Read(c.readFn)
	n := c.ioN
	c.ioBuf = nil
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case c.ioErrno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", c.ioErrno))
	case c.ioEOF:
		return 0, io.EOF
	}
	return n, nil
}

func (c *conn) readFD(fd uintptr) bool {
	n, e := rawio.ReadOnce(int(fd), c.ioBuf)
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != 0:
		c.ioErrno = e
	case n == 0:
		c.ioEOF = true
	default:
		c.ioN = n
	}
	return true
}

// connWriter is the bufio.Writer's sink: nc, counting bytes.
type connWriter conn

func (w *connWriter) Write(p []byte) (int, error) {
	n, err := (*conn)(w).write(p)
	w.written += int64(n)
	return n, err
}

// write writes p to nc: on a socket with rawio.Write, directly when
// flushThenWait holds the descriptor, else inside RawConn.Write, which
// waits on the poller while the socket is full and keeps the write
// deadline.
func (c *conn) write(p []byte) (int, error) {
	if c.raw == nil || len(p) == 0 {
		return c.nc.Write(p)
	}
	c.ioBuf, c.ioN, c.ioErrno, c.found = p, 0, 0, sockIdle
	var err error
	if c.fd < 0 || !c.writeFD(uintptr(c.fd)) {
		err = c.raw.Write(c.writeFn)
	}
	n := c.ioN
	c.ioBuf = nil
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case c.found == sockData:
		return 0, ErrUnsolicited
	case c.found == sockClosed:
		return 0, errClosedIdle
	case c.ioErrno != 0:
		return n, c.opError("write", os.NewSyscallError("write", c.ioErrno))
	}
	return n, nil
}

// writeFD writes what is left of ioBuf; false means the socket is full.
// The first write of a request peeks first, in the same callback: a
// request goes out only on a socket that holds nothing unread.
func (c *conn) writeFD(fd uintptr) bool {
	if c.check {
		c.check = false
		if c.found = c.peek(fd); c.found != sockIdle {
			return true
		}
	}
	if c.note {
		c.note = false
		c.early = c.early || c.peek(fd) != sockIdle
	}
	n, e := rawio.WriteAll(int(fd), c.ioBuf[c.ioN:])
	c.ioN += n
	if e == syscall.EAGAIN {
		return false
	}
	c.ioErrno = e
	return true
}

// opError wraps an error of a raw read or write as nc's Read or Write
// would.
func (c *conn) opError(op string, err error) error { return rawio.OpError(op, c.nc, err) }

// flushAwait sends what bw holds. When none of the request went out before
// (sent is c.written when its head was begun), it writes within one
// RawConn.Read that then waits until the answer can be read: the poller's
// readiness is reset before the write, so an answer that comes right after
// it is not missed, and the read that follows finds bytes instead of first
// finding none. A wait that ends in an error (the read deadline, a close)
// is left for that read to report.
func (c *conn) flushAwait(sent int64) error {
	if c.raw == nil || c.written != sent || c.br.Buffered() > 0 {
		return c.bw.Flush()
	}
	c.flushed, c.flushErr = false, nil
	_ = c.raw.Read(c.awaitFn)
	return c.flushErr
}

// flushThenWait runs inside RawConn.Read: the first call writes and asks
// to wait, the next (the socket is readable) ends the wait.
func (c *conn) flushThenWait(fd uintptr) bool {
	if c.flushed {
		return true
	}
	c.flushed = true
	c.fd = int(fd) // the write goes straight to the descriptor held here
	c.flushErr = c.bw.Flush()
	c.fd = -1
	return c.flushErr != nil
}

// abort closes the socket when the request's context ends. It runs on its
// own goroutine (context.AfterFunc), so it only closes: the owner notices the
// failed read or write and discards the conn.
func (c *conn) abort() {
	c.aborted.Store(true)
	c.nc.Close()
}

// watch arranges for ctx ending to close the conn until release.
func (c *conn) watch(ctx context.Context) {
	c.ctx = ctx
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, c.abortFn)
	}
}

// unwatch stops watching the request's context. It reports false when the
// context already ended, and then the conn is being closed.
func (c *conn) unwatch() bool {
	ok := true
	if c.stop != nil {
		ok = c.stop()
		c.stop = nil
	}
	c.ctx = nil
	return ok && !c.aborted.Load()
}

// release ends a request's use of c: back to the pool when reuse is true and
// the context did not end, else closed.
func (c *conn) release(reuse bool) {
	if c.unwatch() && reuse {
		c.p.put(c)
		return
	}
	c.p.discard(c, c.aborted.Load())
}

// setReadTimeout sets the read deadline d from now, or none when d is 0.
func (c *conn) setReadTimeout(d time.Duration) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	c.nc.SetReadDeadline(t)
}
