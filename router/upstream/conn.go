package upstream

import (
	"bufio"
	"context"
	"math"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is one connection to a target. At any time it has one owner: the
// request using it, its response body, or the pool while it is idle. Only
// abort, run from a context's AfterFunc, touches it from elsewhere, and only
// to close the socket.
type conn struct {
	nc  net.Conn
	raw syscall.RawConn // for the idle liveness check; nil if nc has no fd
	br  *bufio.Reader   // reads through the conn itself (limit, nread)
	bw  *bufio.Writer
	p   *pool

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

	peekFn   func(fd uintptr) bool
	peekBuf  [1]byte
	peekLive bool

	// flushAwait's state inside RawConn.Read.
	awaitFn  func(fd uintptr) bool
	flushed  bool
	flushErr error

	scratch [24]byte
}

func newConn(p *pool, nc net.Conn) *conn {
	c := &conn{nc: nc, p: p, limit: math.MaxInt64}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.br = p.t.getReader(c)
	c.bw = p.t.getWriter((*connWriter)(c))
	c.abortFn = c.abort
	c.peekFn = c.peekFD
	c.awaitFn = c.flushThenWait
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
	n, err := c.nc.Read(p)
	c.nread += int64(n)
	c.limit -= int64(n)
	return n, err
}

// connWriter is the bufio.Writer's sink: nc, counting bytes.
type connWriter conn

func (w *connWriter) Write(p []byte) (int, error) {
	n, err := w.nc.Write(p)
	w.written += int64(n)
	return n, err
}

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
func (c *conn) flushThenWait(uintptr) bool {
	if c.flushed {
		return true
	}
	c.flushed = true
	c.flushErr = c.bw.Flush()
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
