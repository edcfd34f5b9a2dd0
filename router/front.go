package router

import (
	"cmp"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/bulwark-router/bulwark/internal/rawio"
	"github.com/bulwark-router/bulwark/router/clientip"
)

// The connection front answers the requests the router refuses before
// net/http has read them. A refusal through net/http costs the whole
// per-request machinery (a Request, a header map, a response writer, their
// buffers) for a 20-byte answer; under a flood that machinery is most of
// what the router spends. The front sits between net/http and the socket:
// when net/http asks for the next request, the front reads the head into
// its own buffer, and if the request is one the router would refuse (the
// deny list, a ban, the per-client in-flight cap, an empty bucket) it writes
// the refusal itself, drops the request and reads the next one. Everything
// else is handed to net/http byte for byte, and the full path decides it
// as if the front were not there.
//
// The front answers only while net/http has no request of the connection
// in hand (every head it handed over has been answered), so responses stay
// in order. It stops looking at a connection, handing everything over
// unread, as soon as it cannot tell where a request ends: a chunked body,
// an upgrade, another protocol version, a head larger than its buffer, or
// anything malformed, which net/http then answers as usual.

const (
	// frontBufSize bounds the heads the front reads; a larger head makes the
	// connection net/http's alone.
	frontBufSize = 4 << 10
	// frontMaxDiscard is the largest body the front reads and drops after
	// refusing its request; a request with a larger one goes the full way.
	frontMaxDiscard = 64 << 10
	// deadlineSlack is how stale a deadline the front keeps may be before it
	// is set again: setting one costs a timer update per request.
	deadlineSlack = time.Second
	// probeEvery bounds a wait the front starts without reading first
	// (after a short read): a client's FIN read along with its request's
	// last bytes is not reported by the poller again, so the front reads
	// once more when a connection has been quiet this long.
	probeEvery = 2 * deadlineSlack
)

var frontBufs = sync.Pool{New: func() any { return new([frontBufSize]byte) }}

// frontTimeouts are the public server's, which the front applies while it
// reads on net/http's behalf.
type frontTimeouts struct {
	header time.Duration // a head, from its first byte
	idle   time.Duration // between requests
	read   time.Duration // a whole request
	write  time.Duration // a response
	probe  time.Duration // see probeEvery; 0 means probeEvery
}

// EarlyRefusals is how many requests the connection front has answered
// (server.early_refusal).
func (rt *Router) EarlyRefusals() uint64 { return rt.early.Load() }

// frontListener wraps the public listener's connections in the front.
type frontListener struct {
	net.Listener
	rt *Router
	to frontTimeouts
}

func (l *frontListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newFrontConn(c, l.rt, &l.to), nil
}

// newFrontConn puts c under the front. A connection whose reads are its
// socket's (a *net.TCPConn, or a wrapper that only embeds one) is read
// through its raw descriptor; one that buffers (PROXY protocol) through its
// own Read.
func newFrontConn(c net.Conn, rt *Router, to *frontTimeouts) *frontConn {
	fc := &frontConn{Conn: c, rt: rt, to: to}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			fc.rc = rc
			fc.stepFn, fc.writeFn = fc.step, fc.writeFD
		}
	}
	return fc
}

// frontConnState is the public server's ConnState hook: each time net/http
// goes idle on a connection it has answered one more request.
func frontConnState(c net.Conn, s http.ConnState) {
	if s == http.StateIdle {
		if fc, ok := c.(*frontConn); ok {
			fc.answered.Add(1)
		}
	}
}

// frontConn is one connection under the front. Read is called by net/http
// only, never concurrently (net/http's own reader guarantees it).
type frontConn struct {
	net.Conn
	rt *Router
	to *frontTimeouts

	buf  *[frontBufSize]byte // nil until needed; bytes read, not yet handed over: buf[r:w]
	r, w int
	h    head

	pass int64 // bytes of the current request (head and body) still to hand over
	skip int64 // body bytes of a refused request still to drop
	raw  bool  // the front no longer reads: everything goes to net/http
	done bool  // the front closed the exchange (Connection: close)

	passed   uint64        // heads handed over
	answered atomic.Uint64 // responses net/http finished

	peer     netip.Addr
	peerOK   bool
	peerRead bool

	// The socket's raw descriptor, nil when the connection's reads are not
	// the socket's; stepFn and writeFn are step and writeFD, bound once.
	rc              syscall.RawConn
	stepFn, writeFn func(fd uintptr) bool
	reads           int // read system calls made on fd (for tests)
	writes          int // writes of answers (for tests)
	queued          int // writes of answers the socket took only in part at once (for tests)
	idled           int // waits begun without a buffer (for tests)

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
	out  *[frontBufSize]byte
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
func (c *frontConn) Read(p []byte) (int, error) {
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

// probed reports whether the deadline that passed bounded a wait started
// without a read (see probeEvery) rather than the idle timeout. Then it
// sets the idle deadline again, and the caller reads before it waits.
func (c *frontConn) probed() bool {
	if c.probeAt.IsZero() || !c.rdl.Equal(c.probeAt) {
		return false
	}
	c.probeAt = time.Time{}
	idleUntil := c.answeredAt.Add(c.to.idle)
	if !time.Now().Before(idleUntil) {
		return false
	}
	c.setReadDeadline(idleUntil, false)
	return true
}

// step is the RawConn.Read callback: false asks the poller to wait until
// the socket is readable and call it again.
func (c *frontConn) step(fd uintptr) bool {
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
func (c *frontConn) read(p []byte, fd int) (int, error) {
	n, err := c.readLoop(p, fd)
	if c.outN > 0 && c.flushOut(fd) != nil && n == 0 {
		return 0, io.EOF // as after any answer that could not be written
	}
	return n, err
}

// readLoop is read without the last flush of queued answers.
func (c *frontConn) readLoop(p []byte, fd int) (int, error) {
	for {
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
		t := c.rt.table.Load()
		kind := headShort
		if c.skip == 0 && c.r < c.w {
			kind = parseHead(c.buf[c.r:c.w], t.clientIP.Header(), &c.h)
		}
		switch kind {
		case headShort:
			if c.w-c.r == frontBufSize {
				c.raw = true // a head larger than the buffer
				c.leave(false)
				continue
			}
			mode := fillHead
			switch {
			case c.passed != c.answered.Load():
				mode = fillHold // net/http's watch: its deadline, its abort
			case c.refused:
				mode = fillIdle
			}
			if err := c.fill(fd, mode); err != nil {
				if err == errWouldBlock {
					return 0, err
				}
				c.rdl, c.wdl = time.Time{}, time.Time{}
				if !isTimeout(err) {
					c.releaseBuf()
				}
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
				if c.w-c.r < frontBufSize {
					err := c.fill(fd, fillHold)
					if err == nil {
						continue
					}
					if err == errWouldBlock || isTimeout(err) {
						return 0, err
					}
				}
			} else if kind == headBad && t.early {
				c.badRequest(fd)
				continue
			} else if kind == headDecide && t.early && c.refuse(t, fd) {
				c.refused = true
				continue
			}
			if kind == headBad {
				// The front is off, or the buffer is full behind a
				// request net/http holds: net/http's to refuse.
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

// handOver copies buffered bytes of a request net/http is to read into p.
func (c *frontConn) handOver(p []byte) int {
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
	fillHead = iota // part of a head is in: the header timeout; else net/http's deadline
	fillIdle        // the front waits on its own account: the idle timeout, or the header one
	fillHold        // net/http's deadline stands
)

// fill reads more of the connection into the buffer. Once part of a head
// is in, the header timeout applies from its first byte; while the front
// waits on its own account (after answering a request) the idle timeout;
// otherwise the deadline is the one net/http set.
func (c *frontConn) fill(fd, mode int) error {
	if fd < 0 && c.outN > 0 {
		// The read below blocks: the answers go out first.
		if err := c.flushOut(fd); err != nil {
			return err
		}
	}
	if c.buf == nil {
		c.buf = frontBufs.Get().(*[frontBufSize]byte)
	}
	if c.r > 0 {
		c.w = copy(c.buf[:], c.buf[c.r:c.w])
		c.r = 0
	}
	switch {
	case mode == fillHold:
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
		if c.to.header > 0 {
			c.setReadDeadline(c.headStart.Add(c.to.header), false)
		}
	case mode == fillIdle && c.to.idle > 0:
		if c.drained {
			// The read that brought the request emptied the socket: wait
			// for more before reading, for at most probeEvery.
			c.drained = false
			c.setReadDeadline(c.answeredAt.Add(min(cmp.Or(c.to.probe, probeEvery), c.to.idle)), true)
			c.probeAt = c.rdl
			c.idleBuf()
			return errWouldBlock
		}
		if c.probeAt.IsZero() || !c.rdl.Equal(c.probeAt) {
			c.setReadDeadline(c.answeredAt.Add(c.to.idle), true)
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
func (c *frontConn) readConn(fd int, b []byte) (int, error) {
	if fd < 0 {
		return c.Conn.Read(b)
	}
	n, e := rawio.ReadOnce(fd, b)
	c.reads++
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
func (c *frontConn) opError(err error) error { return rawio.OpError("read", c.Conn, err) }

// setReadDeadline sets the read deadline to d, or when lazy is true leaves
// one the front set up to deadlineSlack earlier than d.
func (c *frontConn) setReadDeadline(d time.Time, lazy bool) {
	if c.rdl.Equal(d) || lazy && !c.rdl.IsZero() && !c.rdl.After(d) && d.Sub(c.rdl) < deadlineSlack {
		return
	}
	c.rdl = d
	c.Conn.SetReadDeadline(d)
}

// leave undoes the front's deadlines before net/http reads a request. The
// write deadline becomes none when net/http sets none. With whole true (a
// complete head is handed over) the read deadline becomes what net/http
// sets for a whole request, as it sets its own only when its header and
// request timeouts differ; otherwise a head in progress keeps its header
// deadline.
func (c *frontConn) leave(whole bool) {
	if whole && !c.rdl.IsZero() {
		var d time.Time
		if c.to.read > 0 {
			d = time.Now().Add(c.to.read)
		}
		c.Conn.SetReadDeadline(d)
	}
	if !c.wdl.IsZero() && c.to.write <= 0 {
		c.Conn.SetWriteDeadline(time.Time{})
	}
	c.rdl, c.wdl = time.Time{}, time.Time{}
}

// idleBuf gives the buffer back while the front waits for more of a
// connection with nothing buffered: a connection waiting for its next
// request holds no buffer, and the next one read comes into a buffer
// another connection just used, still in the cache.
func (c *frontConn) idleBuf() {
	if c.buf != nil && c.r == c.w {
		c.idled++
		c.releaseBuf()
	}
}

func (c *frontConn) releaseBuf() {
	if c.buf != nil && c.r == c.w {
		frontBufs.Put(c.buf)
		c.buf, c.r, c.w = nil, 0, 0
	}
}

// refuse decides the parsed head c.h as ServeHTTP would, up to admission,
// and when the router turns the request away answers it and drops it. It
// reports whether it did.
func (c *frontConn) refuse(t *table, fd int) bool {
	h := &c.h
	if h.length > frontMaxDiscard {
		return false
	}
	if !c.peerRead {
		c.peerRead = true
		c.peer, c.peerOK = peerOf(c.Conn.RemoteAddr())
	}
	if !c.peerOK {
		return false
	}
	path := bstr(h.path)
	switch path {
	case "/__lbheartbeat__", "/__version__", "/__heartbeat__":
		return false
	}
	rt := c.rt
	rte := t.route(bstr(h.method), bstr(h.host), path)
	if rte == nil {
		return false
	}
	var fwd [maxFwdLines]string
	for i := range h.nfwd {
		fwd[i] = bstr(h.fwd[i])
	}
	client := t.clientIP.Client(c.peer, fwd[:h.nfwd])
	key := t.clientIP.Key(client)
	start := rt.now()
	d, ok := rt.adm.Refuse(start, key, rte.limit)
	if !ok {
		return false
	}
	if d.Allow {
		// A check the look leaves to the decision admitted it: the
		// request goes the full way, which admits it again.
		rt.adm.Done(start, key, StatusClientClosed, false)
		return false
	}

	closing := h.closing || rt.draining.Load()
	isHead := string(h.method) == http.MethodHead
	out := rt.answers.Bytes(&d, httpDate(start), closing, isHead)
	body := d.BodyLen()
	if isHead {
		body = 0
	}
	if c.to.write > 0 {
		c.setWriteDeadline(start.Add(c.to.write))
	}
	rt.early.Add(1) // before the answer is out, so a client that has it sees the count
	err := c.queueAnswer(fd, out)
	c.r += h.n
	c.skip = h.length
	if closing || err != nil {
		c.done = true
	}

	st := statePool.Get().(*requestState)
	st.route, st.backend = rte, rte.backend
	st.client, st.key = client, key
	st.reason = d.Reason.String()
	st.w.status = d.Status
	st.w.bytes = int64(body)
	if h.reqID != nil && t.clientIP.Trusted(c.peer) && clientip.ValidRequestID(bstr(h.reqID)) {
		st.rawID = h.reqID
	}
	end := rt.finish(t, st, bstr(h.method), path, start)
	st.release()
	// The idle timeout runs from here; the deadlines need the real clock.
	if rt.realClock {
		c.answeredAt = end
	} else {
		c.answeredAt = time.Now()
	}
	return true
}

// badRequestAnswer is net/http's answer to a request line it refuses.
var badRequestAnswer = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\n\r\n400 Bad Request")

// badRequest answers a request line whose version net/http does not serve
// (headBad) with net/http's 400, at once rather than once the head is in,
// and ends the exchange: net/http reads EOF and closes the connection.
func (c *frontConn) badRequest(fd int) {
	if c.to.write > 0 {
		c.setWriteDeadline(time.Now().Add(c.to.write))
	}
	c.queueAnswer(fd, badRequestAnswer)
	c.done = true
}

func (c *frontConn) setWriteDeadline(d time.Time) {
	if !c.wdl.IsZero() && d.Sub(c.wdl) < deadlineSlack {
		return
	}
	c.wdl = d
	c.Conn.SetWriteDeadline(d)
}

// peerOf returns the socket peer of a connection as ServeHTTP finds it.
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

// bstr views b as a string without copying. The string is valid only while
// b's bytes are unchanged: the front uses it within one request's decision.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// httpDate returns now as an IMF-fixdate (the Date field), formatted once
// per second.
func httpDate(now time.Time) []byte {
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &cachedDate{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	dateCache.Store(d)
	return d.b
}

type cachedDate struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[cachedDate]

// Write is net/http's: on a raw socket it sends with rawio.Write inside one
// RawConn.Write, which waits on the poller while the socket's buffer is
// full and keeps the write deadline, without the file layer of write(2).
func (c *frontConn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.Conn.Write(p)
	}
	c.wp, c.wn, c.werrno = p, 0, 0
	err := c.rc.Write(c.writeFn)
	n, errno := c.wn, c.werrno
	c.wp = nil
	switch {
	case errno != 0:
		err = os.NewSyscallError("write", errno)
	case err == nil:
		return n, nil
	}
	return n, rawio.OpError("write", c.Conn, err)
}

// writeFD is Write's RawConn.Write callback: false asks the poller to wait
// until the socket can take more.
func (c *frontConn) writeFD(fd uintptr) bool {
	m, e := rawio.WriteAll(int(fd), c.wp[c.wn:])
	c.wn += m
	if e == syscall.EAGAIN {
		return false
	}
	c.werrno = e
	return true
}

// write writes b to the connection: on a raw socket first with
// non-blocking writes of fd, the rest (if the socket's buffer was full)
// through the connection's Write.
// queueAnswer queues an answer behind those not yet written, writing them
// first when it does not fit.
func (c *frontConn) queueAnswer(fd int, b []byte) error {
	if c.outN+len(b) > frontBufSize {
		if err := c.flushOut(fd); err != nil {
			return err
		}
		if len(b) > frontBufSize {
			return c.write(fd, b)
		}
	}
	if c.out == nil {
		c.out = frontBufs.Get().(*[frontBufSize]byte)
	}
	c.outN += copy(c.out[c.outN:], b)
	return nil
}

// flushOut writes the queued answers. After an error the front is done
// with the connection.
func (c *frontConn) flushOut(fd int) error {
	if c.outN == 0 {
		return nil
	}
	err := c.write(fd, c.out[:c.outN])
	c.outN = 0
	frontBufs.Put(c.out)
	c.out = nil
	if err != nil {
		c.done = true
	}
	return err
}

func (c *frontConn) write(fd int, b []byte) error {
	c.writes++
	if fd >= 0 {
		n, errno := rawio.WriteAll(fd, b)
		switch errno {
		case 0:
			return nil
		case syscall.EAGAIN:
		default:
			return os.NewSyscallError("write", errno)
		}
		b = b[n:]
		c.queued++
	}
	_, err := c.Conn.Write(b)
	return err
}
