package front

import (
	"cmp"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-router/bulwark/internal/rawio"
	"github.com/bulwark-router/bulwark/router/clientip"
)

const (
	// bufSize bounds the heads the front reads; a larger head makes the
	// connection net/http's alone.
	bufSize = 4 << 10
	// maxDiscard is the largest body the front reads and drops after
	// refusing its request; a request with a larger one goes the full way.
	maxDiscard = 64 << 10
	// deadlineSlack is how stale a deadline the front keeps may be before it
	// is set again: setting one costs a timer update per request.
	deadlineSlack = time.Second
	// probeEvery bounds a wait the front starts without reading first
	// (after a short read): a client's FIN read along with its request's
	// last bytes is not reported by the poller again, so the front reads
	// once more when a connection has been quiet this long.
	probeEvery = 2 * deadlineSlack
)

var bufs = sync.Pool{New: func() any { return new([bufSize]byte) }}

// counts are what tests count of a connection's system calls and waits.
type counts struct {
	reads  int // read system calls made on fd
	writes int // writes of answers
	queued int // writes of answers the socket took only in part at once
	idled  int // waits begun without a buffer
}

// conn is one connection under the front. Read is called by net/http
// only, never concurrently (net/http's own reader guarantees it).
type conn struct {
	net.Conn
	d  Decider
	to *Timeouts

	buf  *[bufSize]byte // nil until needed; bytes read, not yet handed over: buf[r:w]
	r, w int
	h    Head

	pass int64 // bytes of the current request (head and body) still to hand over
	skip int64 // body bytes of a refused request still to drop
	raw  bool  // the front no longer reads: everything goes to net/http
	done bool  // the front closed the exchange (Connection: close)

	passed   uint64        // heads handed over
	answered atomic.Uint64 // responses net/http finished

	// ls is the listener that counts the connection fresh until it hands
	// net/http its first bytes (state, started); nil when none does.
	ls      *Listener
	state   atomic.Uint32
	started bool // state is connStarted: no need to look again

	peer     netip.Addr
	peerOK   bool
	peerRead bool

	// The socket's raw descriptor, nil when the connection's reads are not
	// the socket's; stepFn and writeFn are step and writeFD, bound once.
	rc              syscall.RawConn
	stepFn, writeFn func(fd uintptr) bool

	test *counts // nil but in tests

	// State of the current Write call (net/http's).
	wp     []byte
	wn     int
	werrno syscall.Errno

	// State of the current Read call.
	p       []byte // the caller's buffer
	n       int    // and what step gave it
	err     error
	refused bool // this call answered a request: the wait is the front's
	drained bool // the last read of this call emptied the socket: after an answer, wait before reading again
	held    bool // this call waited once while net/http holds a request

	timeoutErr error // what Read returns when its deadline passes, made once

	// Answers not yet written: the refusals of pipelined requests go out
	// in one write when the front is done with what it has read.
	out  *[bufSize]byte
	outN int

	answeredAt time.Time // when the front last answered a request
	probeAt    time.Time // the deadline of a wait started without a read (zero: none)

	// Deadlines the front set during the current Read call (zero: none).
	rdl, wdl  time.Time
	headStart time.Time // first byte of a head still incomplete
}

// errWouldBlock is readConn's answer when the socket has nothing to read:
// step then lets the poller wait for it.
var errWouldBlock = errors.New("front: would block")

// Read hands net/http the next bytes of requests the router does not
// refuse at the door.
//
// On a raw socket the whole call is one RawConn.Read: the front's reads are
// non-blocking, and when the socket is empty step returns false to the
// poller, which waits for it to become readable and calls step again. One
// call keeps the poller's readiness from one read to the next, so after a
// short read (the socket was emptied) the front waits before it reads again
// instead of first reading and finding nothing: a refused request costs one
// read, not two.
func (c *conn) Read(p []byte) (int, error) {
	c.refused = false
	if c.rc == nil || len(p) == 0 || c.raw && c.r == c.w {
		return c.read(p, -1)
	}
	c.p, c.held = p, false
	for {
		c.drained = false
		err := c.rc.Read(c.stepFn)
		if err == nil {
			break
		}
		if isTimeout(err) && c.probed() {
			continue
		}
		// The poller's: a deadline passed or the connection was closed.
		c.p, c.n, c.err = nil, 0, nil
		c.rdl, c.wdl = time.Time{}, time.Time{}
		if isTimeout(err) {
			// Mostly net/http ending its wait for the next request after
			// each answer: one error, made once per connection.
			if c.timeoutErr == nil {
				c.timeoutErr = c.opError(os.ErrDeadlineExceeded)
			}
			return 0, c.timeoutErr
		}
		c.releaseBuf()
		return 0, c.opError(err)
	}
	n, err := c.n, c.err
	c.p, c.n, c.err = nil, 0, nil
	return n, err
}

// step is the RawConn.Read callback: false asks the poller to wait until
// the socket is readable and call it again.
func (c *conn) step(fd uintptr) bool {
	n, err := c.read(c.p, int(fd))
	if err == errWouldBlock {
		return false
	}
	c.n, c.err = n, err
	return true
}

// read is Read's loop. With fd < 0 it reads through the connection's Read,
// blocking; otherwise from fd without blocking, returning errWouldBlock
// when it must wait.
func (c *conn) read(p []byte, fd int) (int, error) {
	n, err := c.readLoop(p, fd)
	if c.outN > 0 && c.flushOut(fd) != nil && n == 0 {
		return 0, io.EOF // as after any answer that could not be written
	}
	return n, err
}

// readLoop is read without the last flush of queued answers.
func (c *conn) readLoop(p []byte, fd int) (int, error) {
	for {
		if (c.raw || c.pass > 0) && !c.handing() {
			return 0, io.EOF // the listener closed it first
		}
		if c.r < c.w && (c.raw || c.pass > 0) {
			return c.handOver(p), nil
		}
		if c.raw {
			c.releaseBuf()
			return c.readConn(fd, p)
		}
		if c.pass > 0 {
			n, err := c.readConn(fd, p[:min(int64(len(p)), c.pass)])
			c.pass -= int64(n)
			return n, err
		}
		if c.done {
			return 0, io.EOF
		}
		if c.skip > 0 && c.r < c.w {
			k := int(min(c.skip, int64(c.w-c.r)))
			c.r += k
			c.skip -= int64(k)
			continue
		}
		kind := headShort
		if c.skip == 0 && c.r < c.w {
			kind = parseRequestHead(c.buf[c.r:c.w], c.d.ForwardedField(), &c.h)
		}
		switch kind {
		case headShort:
			if err := c.moreHead(fd); err != nil {
				return 0, err
			}
		case headRaw:
			c.raw = true
			c.leave(false)
		case headDecide, headPass, headBad:
			c.headStart = time.Time{} // the head is whole, or refused: no header timeout
			if c.passed != c.answered.Load() {
				// net/http has a request of this connection in hand (this
				// is its watch for the client going away): the next one
				// waits in the buffer until that is answered, as it would
				// in net/http's. Only a full buffer or an error other than
				// net/http's abort hands it over early.
				if c.w-c.r < bufSize {
					err := c.fill(fd, fillNetHTTP)
					if err == nil {
						continue
					}
					if err == errWouldBlock || isTimeout(err) {
						return 0, err
					}
				}
			} else if kind == headBad {
				c.badRequest(fd)
				continue
			} else if kind == headDecide && c.refuse(fd) {
				c.refused = true
				continue
			}
			if kind == headBad {
				// The buffer is full behind a request net/http holds:
				// net/http's to refuse.
				c.raw = true
				c.leave(false)
				continue
			}
			c.passed++
			c.pass = int64(c.h.n) + c.h.length
			c.leave(true)
		}
	}
}

// moreHead reads more of a head that is not whole yet; a head larger than
// the buffer goes to net/http as it is.
func (c *conn) moreHead(fd int) error {
	if c.w-c.r == bufSize {
		c.raw = true // a head larger than the buffer
		c.leave(false)
		return nil
	}
	mode := fillHead
	switch {
	case c.passed != c.answered.Load():
		mode = fillNetHTTP // net/http's watch: its deadline, its abort
	case c.refused:
		mode = fillIdle
	}
	err := c.fill(fd, mode)
	if err != nil && err != errWouldBlock {
		c.rdl, c.wdl = time.Time{}, time.Time{}
		if !isTimeout(err) {
			c.releaseBuf()
		}
	}
	return err
}

// handOver copies buffered bytes of a request net/http is to read into p.
func (c *conn) handOver(p []byte) int {
	b := c.buf[c.r:c.w]
	if !c.raw && int64(len(b)) > c.pass {
		b = b[:c.pass]
	}
	n := copy(p, b)
	c.r += n
	if !c.raw {
		c.pass -= int64(n)
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	return n
}

// How fill sets the read deadline.
const (
	fillHead    = iota // part of a head is in: the header timeout; else net/http's deadline
	fillIdle           // the front waits on its own account: the idle timeout, or the header one
	fillNetHTTP        // net/http's deadline stands
)

// fill reads more of the connection into the buffer. Once part of a head
// is in, the header timeout applies from its first byte; while the front
// waits on its own account (after answering a request) the idle timeout;
// otherwise the deadline is the one net/http set.
func (c *conn) fill(fd, mode int) error {
	if fd < 0 && c.outN > 0 {
		// The read below blocks: the answers go out first.
		if err := c.flushOut(fd); err != nil {
			return err
		}
	}
	if c.buf == nil {
		c.buf = bufs.Get().(*[bufSize]byte)
	}
	if c.r > 0 {
		c.w = copy(c.buf[:], c.buf[c.r:c.w])
		c.r = 0
	}
	switch {
	case mode == fillNetHTTP:
		if fd >= 0 && !c.held {
			// net/http's watch while it serves a request, which its abort
			// always ends: wait before the first read. A notice the poller
			// gave since the front's last read may be lost to this wait's
			// reset; what it stood for (a pipelined request, the client
			// leaving) is then read after the abort, when net/http reads
			// again.
			c.held = true
			c.idleBuf()
			return errWouldBlock
		}
	case c.w > 0:
		if c.headStart.IsZero() {
			c.headStart = time.Now()
		}
		if c.to.Header > 0 {
			c.setReadDeadline(c.headStart.Add(c.to.Header), false)
		}
	case mode == fillIdle && c.to.Idle > 0:
		if c.drained {
			// The read that brought the request emptied the socket: wait
			// for more before reading, for at most probeEvery.
			c.drained = false
			c.setReadDeadline(c.answeredAt.Add(min(cmp.Or(c.to.Probe, probeEvery), c.to.Idle)), true)
			c.probeAt = c.rdl
			c.idleBuf()
			return errWouldBlock
		}
		if c.probeAt.IsZero() || !c.rdl.Equal(c.probeAt) {
			c.setReadDeadline(c.answeredAt.Add(c.to.Idle), true)
		}
	}
	c.drained = false
	for {
		space := len(c.buf) - c.w
		n, err := c.readConn(fd, c.buf[c.w:])
		c.w += n
		if n > 0 {
			c.drained = fd >= 0 && n < space
			return nil
		}
		if err == errWouldBlock {
			c.idleBuf()
		}
		if err != nil {
			return err
		}
	}
}

// readConn reads into b: through the connection's Read when fd < 0, else
// with one non-blocking read of fd.
func (c *conn) readConn(fd int, b []byte) (int, error) {
	if fd < 0 {
		return c.Conn.Read(b)
	}
	n, e := rawio.ReadOnce(fd, b)
	if c.test != nil {
		c.test.reads++
	}
	switch {
	case e == 0 && n > 0:
		return n, nil
	case e == 0:
		return 0, io.EOF
	case e == syscall.EAGAIN:
		return 0, errWouldBlock
	}
	return 0, c.opError(os.NewSyscallError("read", e))
}

// opError wraps an error of a raw read as the connection's Read would.
func (c *conn) opError(err error) error { return rawio.OpError("read", c.Conn, err) }

// idleBuf gives the buffer back while the front waits for more of a
// connection with nothing buffered: a connection waiting for its next
// request holds no buffer, and the next one read comes into a buffer
// another connection just used, still in the cache.
func (c *conn) idleBuf() {
	if c.buf != nil && c.r == c.w {
		if c.test != nil {
			c.test.idled++
		}
		c.releaseBuf()
	}
}

func (c *conn) releaseBuf() {
	if c.buf != nil && c.r == c.w {
		bufs.Put(c.buf)
		c.buf, c.r, c.w = nil, 0, 0
	}
}

// refuse asks the Decider about the parsed head c.h, and when the router
// turns the request away answers it and drops it. It reports whether it
// did.
func (c *conn) refuse(fd int) bool {
	h := &c.h
	if h.length > maxDiscard {
		return false
	}
	if !c.peerRead {
		c.peerRead = true
		c.peer, c.peerOK = peerOf(c.Conn.RemoteAddr())
	}
	if !c.peerOK {
		return false
	}
	dst, err := c.answerRoom(fd)
	if err != nil {
		return false
	}
	r, ok := c.d.Refuse(h, c.peer, dst)
	if !ok {
		c.releaseOut()
		return false
	}
	if c.to.Write > 0 {
		c.setWriteDeadline(r.At.Add(c.to.Write))
	}
	if appendedTo(r.Answer, dst) {
		c.outN += len(r.Answer)
	} else {
		err = c.queueAnswer(fd, r.Answer)
	}
	c.r += h.n
	c.skip = h.length
	if r.Close || err != nil {
		c.done = true
	}
	c.answeredAt = r.At // the idle timeout runs from here
	return true
}

// peerOf returns the socket peer of a connection as net/http gives it to
// ServeHTTP (RemoteAddr's string, parsed).
func peerOf(a net.Addr) (netip.Addr, bool) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return ap.Addr(), ap.Addr().IsValid()
	}
	if a == nil {
		return netip.Addr{}, false
	}
	return clientip.ParsePeer(a.String())
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true // the poller's, without errors.As's allocation
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
