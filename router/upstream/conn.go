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
	// nread counts bytes read from nc, to tell whether a response started.
	nread int64
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
	c.bw = p.t.getWriter(nc)
	c.abortFn = c.abort
	c.peekFn = c.peekFD
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
