// Package front is the connection front of the public listener: it answers
// the requests the router refuses before net/http has read them.
//
// A refusal through net/http costs the whole per-request machinery (a
// Request, a header map, a response writer, their buffers) for a 20-byte
// answer; under a flood that machinery is most of what the router spends.
// The front sits between net/http and the socket: when net/http asks for
// the next request, the front reads the head into its own buffer, parses
// it (Head), and asks its Decider whether the router turns it away (the
// deny list, a ban, the per-client in-flight cap, an empty bucket). If so
// it writes the Decider's answer itself, drops the request and reads the
// next one. Everything else is handed to net/http byte for byte, and the
// full path decides it as if the front were not there.
//
// The front answers only while net/http has no request of the connection
// in hand (every head it handed over has been answered), so responses stay
// in order. It stops looking at a connection, handing everything over
// unread, as soon as it cannot tell where a request ends: a chunked body,
// an upgrade, another protocol version, a head larger than its buffer, or
// anything malformed, which net/http then answers as usual. The one answer
// of its own is net/http's 400 to a request line whose version net/http
// does not serve (HTTP/0.9, HTTP/2.0 but the h2c preface), given as soon
// as the line is in rather than once a head that may never come is whole.
package front

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Decider is the router as the front sees it. Its methods are called from
// every connection's reads at once.
type Decider interface {
	// ForwardedField is the name, in canonical form, of the field that
	// carries the forwarded chain (client_ip.header); Head collects it.
	ForwardedField() string
	// Refuse decides the request whose head is h, from the socket peer
	// peer, as the full path would up to admission. When the router turns
	// it away Refuse has counted and recorded it and returns the answer
	// to write, appended to dst; false hands the request to net/http.
	// dst is the connection's own, with room for AnswerRoom bytes: an
	// answer that fits costs no allocation. h's bytes are valid only
	// during the call.
	Refuse(h *Head, peer netip.Addr, dst []byte) (Refusal, bool)
}

// AnswerRoom is the room the front leaves in the dst it gives Refuse. The
// router's refusals (a head of a few fields, its X-Request-Id and a short
// body) take less; a longer answer is still written whole.
const AnswerRoom = 512

// Refusal is a Decider's answer to a request it turns away.
type Refusal struct {
	// Answer is the whole response: dst with the answer appended. The
	// front writes it, or has it queued, before its next call to the
	// Decider.
	Answer []byte
	// Close ends the connection after the answer.
	Close bool
	// At is when the refusal was decided, on the wall clock with its
	// monotonic reading: the write timeout and the idle timeout run from it.
	At time.Time
}

// Timeouts are the public server's, which the front applies while it reads
// on net/http's behalf. A zero field means none.
type Timeouts struct {
	Header time.Duration // a head, from its first byte
	Idle   time.Duration // between requests
	Read   time.Duration // a whole request
	Write  time.Duration // a response
	// Probe bounds a wait the front starts without reading first (see
	// probeEvery); 0 means probeEvery. Tests shorten it.
	Probe time.Duration
}

// Listener puts the connections of the listener it wraps under the front.
// The http.Server that serves it must have ConnState as its ConnState hook.
type Listener struct {
	net.Listener
	d  Decider
	to Timeouts

	// fresh holds the connections that have handed net/http nothing yet
	// (nil once closed): Close closes them, where net/http's Shutdown
	// would wait up to 5 s for each (a slowloris's, say) to be idle.
	mu    sync.Mutex
	fresh map[*conn]struct{}
}

// NewListener wraps ln: each accepted connection's requests go through the
// front, which asks d about them and applies to.
func NewListener(ln net.Listener, d Decider, to Timeouts) *Listener {
	return &Listener{Listener: ln, d: d, to: to, fresh: map[*conn]struct{}{}}
}

// Accept waits for the next connection and returns it under the front.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := newConn(c, l.d, &l.to)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fresh == nil {
		c.Close()
		return nil, net.ErrClosed
	}
	fc.ls = l
	l.fresh[fc] = struct{}{}
	return fc, nil
}

// newConn puts c under the front. A connection whose reads are its
// socket's (a *net.TCPConn, or a wrapper that only embeds one) is read
// through its raw descriptor; one that buffers (PROXY protocol) through its
// own Read.
func newConn(c net.Conn, d Decider, to *Timeouts) *conn {
	fc := &conn{Conn: c, d: d, to: to}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			fc.rc = rc
			fc.stepFn, fc.writeFn = fc.step, fc.writeFD
		}
	}
	return fc
}

// ConnState is the hook the http.Server serving a Listener must have as its
// ConnState: each time net/http goes idle on a connection it has answered
// one more request, and the front may answer the next.
func ConnState(c net.Conn, s http.ConnState) {
	if s == http.StateIdle {
		if fc, ok := c.(*conn); ok {
			fc.answered.Add(1)
		}
	}
}
