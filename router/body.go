package router

import (
	"errors"
	"io"
	"math/bits"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// Request bodies. One that fits in server.body_buffer is read whole before
// the request may take a backend slot or a queue place, and forwarded with
// a Content-Length (a chunked one is turned into one); a larger one
// streams. Either way the client must keep up server.min_body_rate, and an
// error reading its body is its own fault, never the backend's.

// bodyFault is what went wrong reading a client's request body.
type bodyFault uint8

const (
	bodyOK        bodyFault = iota
	bodyMalformed           // broken framing: 400, a strike against the client
	bodySlow                // below min_body_rate or past read_timeout: 408
	bodyTooLarge            // over max_body_bytes: 413
	bodyGone                // the client left or reset: 499, logged only
)

// status is the answer the client gets for f.
func (f bodyFault) status() int {
	switch f {
	case bodyMalformed:
		return http.StatusBadRequest
	case bodySlow:
		return http.StatusRequestTimeout
	case bodyTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return StatusClientClosed
}

// reason is the refusal f is counted as.
func (f bodyFault) reason() stats.Reason {
	switch f {
	case bodySlow:
		return stats.SlowBody
	case bodyTooLarge:
		return stats.BodyTooLarge
	}
	return stats.BadRequest
}

// clientBodyError is an error reading the client's request body. The
// transport passes it on (wrapped); the mark tells the error path that the
// client, not the backend, failed.
type clientBodyError struct {
	fault bodyFault
	err   error
}

func (e *clientBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// classifyBodyError says whose fault an error reading a client's body is:
// bodyOK for an error of the router's own making (the body closed under a
// reader), else the client's fault of that kind.
func classifyBodyError(err error) bodyFault {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, http.ErrBodyReadAfterClose):
		return bodyOK
	case errors.As(err, &tooLarge):
		return bodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return bodySlow
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.As(err, &op):
		return bodyGone
	}
	// What is left is net/http's complaints about the framing: a chunk
	// size that is not hex, a chunk line too long, bad trailers.
	return bodyMalformed
}

// errBodyDone is what a body read after its request ended returns.
var errBodyDone = errors.New("router: request body read after the request ended")

// deadliner sets a connection's read deadline (*http.response and
// http.ResponseController do).
type deadliner interface{ SetReadDeadline(time.Time) error }

// deadlineStep is how far the deadline the rate allows may run ahead of the
// one set before it is set again: a client may be cut up to this much
// early, and a fast body costs a deadline change per this much of it.
const deadlineStep = 100 * time.Millisecond

// maxRateWait bounds the time the rate alone grants a body, so the
// deadline arithmetic never overflows; read_timeout is usually shorter.
const maxRateWait = 24 * time.Hour

// bodyGuard reads a client's request body for the router. It holds the
// client to min_body_rate through the connection's read deadline, moved
// forward as bytes arrive: after t seconds the client must have sent
// rate × (t − 1s) bytes. Its errors are marked as the client's. Its
// methods may be called from a transport's goroutine while the request
// ends, hence the lock; it is never read by two goroutines at once.
type bodyGuard struct {
	mu      sync.Mutex
	rc      io.ReadCloser
	dl      deadliner // nil: no deadlines of its own (no minimum rate)
	rate    float64   // bytes per second
	start   time.Time // when the router started on the body
	until   time.Time // read_timeout's deadline for the request; zero: none
	set     time.Time // the read deadline last set; zero: none
	n       int64     // bytes read
	reading bool      // a Read is waiting on the client
	settled bool      // the whole body is in: no more deadlines
	closed  bool      // the reader closed it: later errors are not the client's
	done    bool      // the request ended
	fault   bodyFault
	err     error // the first error, marked
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return 0, errBodyDone
	}
	if g.err != nil {
		err := g.err
		g.mu.Unlock()
		return 0, err
	}
	g.arm()
	g.reading = true
	g.mu.Unlock()

	n, err := g.rc.Read(p)

	g.mu.Lock()
	defer g.mu.Unlock()
	g.reading = false
	g.n += int64(n)
	switch {
	case err == nil:
	case err == io.EOF:
		g.settle()
	case g.closed || g.done:
	default:
		if f := classifyBodyError(err); f != bodyOK {
			g.fault = f
			g.err = &clientBodyError{fault: f, err: err}
			err = g.err
		}
	}
	return n, err
}

// Close closes the client's body (net/http then drains what is left of it).
func (g *bodyGuard) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return g.rc.Close()
}

// arm sets the read deadline the rate allows for the bytes read so far,
// when it moved on by deadlineStep. g.mu is held.
func (g *bodyGuard) arm() {
	if g.dl == nil || g.settled {
		return
	}
	wait := time.Second + time.Duration(min(float64(g.n)/g.rate*1e9, float64(maxRateWait)))
	want := g.start.Add(wait)
	if !g.until.IsZero() && want.After(g.until) {
		want = g.until
	}
	if !g.set.IsZero() && want.Sub(g.set) < deadlineStep {
		return
	}
	g.set = want
	g.dl.SetReadDeadline(want)
}

// settle gives the connection back read_timeout's deadline once the whole
// body is in, as net/http set it: with the rate's deadline left behind,
// net/http's watch for the client leaving would end the request when it
// passed. g.mu is held.
func (g *bodyGuard) settle() {
	if g.settled {
		return
	}
	g.settled = true
	if !g.set.IsZero() {
		g.dl.SetReadDeadline(g.until)
		g.set = time.Time{}
	}
}

// faulted returns the client's fault, if any: one a read returned, or a
// read still waiting past the deadline the rate set (the transport may
// give up on the request, its context ended by net/http, before that read
// returns).
func (g *bodyGuard) faulted() bodyFault {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.fault
	}
	if g.reading && !g.set.IsZero() && !time.Now().Before(g.set) {
		return bodySlow
	}
	return bodyOK
}

// heldBody is a body the router read ahead: b, then rest (nil when b is
// all of it). After release its reads fail: b went back to the pool,
// maybe while a transport still holds the body.
type heldBody struct {
	mu       sync.Mutex
	b        []byte
	all      []byte // what b was at first, when it is the whole body: see rewind
	rest     io.Reader
	released bool
}

func (h *heldBody) Read(p []byte) (int, error) {
	h.mu.Lock()
	if h.released {
		h.mu.Unlock()
		return 0, errBodyDone
	}
	if len(h.b) > 0 {
		n := copy(p, h.b)
		h.b = h.b[n:]
		last := len(h.b) == 0 && h.rest == nil
		h.mu.Unlock()
		if last {
			return n, io.EOF
		}
		return n, nil
	}
	rest := h.rest
	h.mu.Unlock()
	if rest == nil {
		return 0, io.EOF
	}
	return rest.Read(p)
}

// Close does nothing: net/http closes the client's body when the request
// ends.
func (h *heldBody) Close() error { return nil }

// rewind makes a body held whole readable from its start again, and takes
// what was read of it off the count; false for a body streamed in part,
// or released. The caller keeps reads out meanwhile.
func (bs *bodyState) rewind() bool {
	h := &bs.held
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released || h.all == nil {
		return false
	}
	bs.count.n -= int64(len(h.all) - len(h.b))
	h.b = h.all
	return true
}

// bodyState is a request's body as the router takes it: one allocation
// per request with a body (requests without one, most of them, carry a
// nil pointer). It is never recycled: a transport may still hold the body
// after the request ended.
type bodyState struct {
	guard bodyGuard
	held  heldBody
	count countingBody
	buf   *[]byte // the pooled buffer held.b is in; nil when none
}

// end releases the body when the request ends: a transport still holding
// it reads no more, and the buffer goes back to the pool.
func (bs *bodyState) end() {
	bs.guard.mu.Lock()
	bs.guard.done = true
	bs.guard.mu.Unlock()
	if bs.buf == nil {
		return
	}
	bs.held.mu.Lock()
	bs.held.released = true
	bs.held.b, bs.held.all = nil, nil
	bs.held.mu.Unlock()
	putBodyBuf(bs.buf)
	bs.buf = nil
}

// firstBodyClass bounds the first buffer a body gets (16 KiB): a body
// announced large but sent slowly holds only what it sent, give or take
// a factor of two.
const firstBodyClass = 14

// takeBody takes r's body for forwarding (it must have one): a body that
// fits in body_buffer is read whole now; a larger one has its first
// body_buffer bytes read now and streams the rest, so a client must have
// sent that much before its request may take a backend slot. All under
// max_body_bytes and min_body_rate. It returns the client's fault when
// reading failed; the caller answers it.
func (rt *Router) takeBody(t *table, rw http.ResponseWriter, r *http.Request, st *requestState, start time.Time) bodyFault {
	bs := new(bodyState)
	st.bs = bs
	g := &bs.guard
	g.rc = http.MaxBytesReader(rw, r.Body, t.maxBody)
	if !rt.realClock {
		start = time.Now() // deadlines need the real clock
	}
	g.start = start
	if t.readTimeout > 0 {
		g.until = start.Add(t.readTimeout)
	}
	if t.minBodyRate > 0 {
		g.rate = t.minBodyRate
		if dl, ok := rw.(deadliner); ok {
			g.dl = dl
		} else {
			g.dl = http.NewResponseController(rw)
		}
	}
	bs.count.rc = g
	st.body = &bs.count
	r.Body = st.body

	n := r.ContentLength
	if t.bodyBuffer <= 0 {
		return bodyOK // streams
	}
	limit := t.bodyBuffer
	if n > 0 {
		limit = min(n, limit)
	}
	b, complete, f := bs.bufferBody(limit, n)
	if f != bodyOK {
		return f
	}
	bs.held.b = b
	bs.count.rc = &bs.held
	if !complete {
		bs.held.rest = g
		return bodyOK
	}
	bs.held.all = b
	g.mu.Lock()
	g.settle()
	g.mu.Unlock()
	if len(r.Trailer) == 0 {
		// A chunked body is sent with a length; one with trailers stays
		// chunked, for them to follow it.
		r.ContentLength = int64(len(b))
		r.TransferEncoding = nil
	}
	// The client's 100-continue was answered when the body was read; the
	// backend gets the whole body at once.
	delete(r.Header, "Expect")
	return bodyOK
}

// bufferBody reads up to limit bytes of the body into bs's buffer, which
// grows as they come; n is the declared length (0 or less: unknown).
// complete says the body ended within limit; a fault, that reading failed.
func (bs *bodyState) bufferBody(limit, n int64) (b []byte, complete bool, f bodyFault) {
	g := &bs.guard
	bs.buf = getBodyBuf(min(bodyClass(limit), firstBodyClass))
	b = (*bs.buf)[:0]
	for !complete {
		if room := min(int64(cap(b)), limit); int64(len(b)) == room {
			if room == limit {
				break // larger than body_buffer: the rest streams
			}
			bigger := getBodyBuf(min(bits.Len(uint(cap(b))), bodyClass(limit)))
			b = append((*bigger)[:0], b...)
			putBodyBuf(bs.buf)
			bs.buf = bigger
		}
		room := min(int64(cap(b)), limit)
		k, err := g.Read(b[len(b):room])
		b = b[:len(b)+k]
		switch {
		case err == io.EOF:
			complete = true
		case err != nil:
			g.mu.Lock()
			f = g.fault
			g.mu.Unlock()
			if f == bodyOK {
				f = bodyGone
			}
			return b, false, f
		case n > 0 && int64(len(b)) == n:
			complete = true
		}
	}
	return b, complete, bodyOK
}

// refuseBody answers a request whose body the client failed to send. A
// client that left is only logged (499) and its connection aborted; the
// others get their status, with the connection closed after it (what is
// left of the body cannot be trusted), and broken framing counts as a
// strike against the client.
func (rt *Router) refuseBody(st *requestState, f bodyFault) {
	st.err = nil // the backend did not fail
	if f == bodyGone {
		st.w.status = StatusClientClosed
		st.abort = true
		return
	}
	if f == bodyMalformed && st.admitted {
		rt.adm.Strike(rt.now(), st.key)
	}
	st.w.Header().Set("Connection", "close")
	rt.refuse(st, f.reason(), f.status())
}

// bodyFault returns the client's fault in a request that failed with err,
// bodyOK when its body was not to blame.
func (st *requestState) bodyFault(err error) bodyFault {
	if err != nil {
		if f := markedFault(err); f != bodyOK {
			return f
		}
	}
	if st.bs == nil {
		return bodyOK
	}
	return st.bs.guard.faulted()
}

// markedFault returns the fault err carries as a clientBodyError, bodyOK
// when it carries none. (A function of its own: the target errors.As
// fills escapes, and costs an allocation only where it is declared.)
func markedFault(err error) bodyFault {
	var ce *clientBodyError
	if errors.As(err, &ce) {
		return ce.fault
	}
	return bodyOK
}

// Body buffers come in power-of-two size classes from 1 KiB to
// config.MaxBodyBuffer (16 MiB), one pool each.
const (
	minBodyClass = 10
	maxBodyClass = 24
)

var bodyBufs [maxBodyClass - minBodyClass + 1]sync.Pool

// bodyClass is the smallest class that holds n bytes.
func bodyClass(n int64) int {
	c := bits.Len64(uint64(max(n, 1) - 1))
	return min(max(c, minBodyClass), maxBodyClass)
}

// getBodyBuf lends a buffer of class c (1<<c bytes).
func getBodyBuf(c int) *[]byte {
	if p, _ := bodyBufs[c-minBodyClass].Get().(*[]byte); p != nil {
		return p
	}
	b := make([]byte, 1<<c)
	return &b
}

// putBodyBuf takes back a buffer getBodyBuf lent.
func putBodyBuf(p *[]byte) {
	c := bits.Len(uint(cap(*p))) - 1
	if c < minBodyClass || c > maxBodyClass || cap(*p) != 1<<c {
		return
	}
	*p = (*p)[:cap(*p)]
	bodyBufs[c-minBodyClass].Put(p)
}
