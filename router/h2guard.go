package router

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// x/net/http2's server bounds streams and queued control frames, but it
// does not count frames per second nor tell which connection crossed a
// bound. h2Conn sits between the server and the connection and reads the
// frame headers (9 bytes each) as they go by, without copying or holding
// payloads: a connection that crosses a bound of server.http2 gets, at its
// next frame boundary, a read error that x/net/http2 answers with GOAWAY
// ENHANCE_YOUR_CALM before closing the connection.

// h2Kind is an HTTP/2 abuse, the label of bulwark_h2_abuse_total.
type h2Kind uint8

const (
	h2RapidReset h2Kind = iota
	h2Continuation
	h2SettingsFlood
	h2PingFlood
	h2EmptyFrames
	h2TooManyStreams
	numH2Kinds
)

var h2KindNames = [numH2Kinds]string{"rapid_reset", "continuation", "settings_flood", "ping_flood",
	"empty_frames", "too_many_streams"}

func (k h2Kind) String() string { return h2KindNames[k] }

// H2AbuseKinds are the labels of H2Abuse's counts, in order.
func H2AbuseKinds() []string { return h2KindNames[:] }

// H2Abuse is how many HTTP/2 connections were closed for each kind of abuse
// (H2AbuseKinds' order).
func (rt *Router) H2Abuse() []uint64 {
	out := make([]uint64, numH2Kinds)
	for i := range out {
		out[i] = rt.h2abuse[i].Load()
	}
	return out
}

// h2Counts are the router's counts of HTTP/2 abuses.
type h2Counts [numH2Kinds]atomic.Uint64

// errCalm is what an h2Conn's Read returns once its connection has crossed
// a bound: x/net/http2 sends GOAWAY with its code and closes.
var errCalm = http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)

// Frame types and flags h2Conn looks at (RFC 9113, section 6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePing         = 0x6
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagEndHeaders = 0x4
	flagAck        = 0x1
)

// h2Conn is one HTTP/2 connection under the router's bounds. Read is
// called by x/net/http2's frame reader only; the counts it keeps are its
// own. abuse may be called from the server's goroutine (CountError).
type h2Conn struct {
	net.Conn
	rt     *Router
	limits config.HTTP2
	maxHdr int
	peer   netip.Addr

	buf  []byte // read ahead: buf[r:w] is still to pass on
	r, w int
	rerr error // the read error to return once buf is drained

	hdr        [9]byte // the frame header being read
	hn         int     // its bytes read so far
	left       uint32  // payload bytes of the current frame still to go by
	typ, flags byte    // the current frame's

	trusted bool       // the peer is a trusted proxy
	streams *h2Streams // a trusted peer's streams' clients; nil for others

	sec                    int64 // the second the per-second counts are of
	resets, control, empty int
	conts, block           int // CONTINUATION frames and bytes of the header block being read
	opened, allResets      int // HEADERS and RST_STREAM frames in all

	crossed atomic.Bool // a bound was crossed: reads fail with errCalm
}

func newH2Conn(c net.Conn, rt *Router, limits config.HTTP2, maxHdr int) *h2Conn {
	hc := &h2Conn{Conn: c, rt: rt, limits: limits, maxHdr: maxHdr}
	hc.peer, _ = netAddrIP(c.RemoteAddr())
	if ext := rt.table.Load().clientIP; hc.peer.IsValid() && ext.Trusted(hc.peer) {
		hc.trusted = true
		hc.streams = newH2Streams(ext.Header(), func(fwd []string) netip.Addr { return ext.Client(hc.peer, fwd) })
	}
	return hc
}

// h2ReadBuf is the most an h2Conn reads ahead of x/net/http2, which reads
// a frame at a time (9 bytes, then the payload) and only once it has dealt
// with the last: reading ahead, the bounds see frames as they arrive, not
// as fast as the server gets through them.
const h2ReadBuf = 8 << 10

// Read passes on the bytes read, up to the first frame that crosses a
// bound; then it fails with errCalm.
func (c *h2Conn) Read(p []byte) (int, error) {
	if c.r == c.w {
		if c.crossed.Load() {
			return 0, errCalm
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if c.buf == nil {
			c.buf = make([]byte, h2ReadBuf)
		}
		n, err := c.Conn.Read(c.buf)
		c.r, c.w, c.rerr = 0, c.scan(c.buf[:n]), err
		if c.w == 0 {
			if c.crossed.Load() {
				return 0, errCalm
			}
			return 0, err
		}
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += n
	return n, nil
}

// scan counts the frames whose headers are in b and returns how many of
// b's bytes go on: all of them, or those before the frame that crosses a
// bound (which it reports).
func (c *h2Conn) scan(b []byte) int {
	for i := 0; i < len(b); {
		if c.left > 0 {
			step := min(int(c.left), len(b)-i)
			if c.streams != nil {
				c.streams.payload(b[i : i+step])
			}
			c.left -= uint32(step)
			i += step
			if c.left == 0 && c.streams != nil {
				c.streams.end(c.typ, c.flags)
			}
			continue
		}
		start := i - c.hn // where the frame header began (maybe in an earlier read)
		step := copy(c.hdr[c.hn:], b[i:])
		c.hn += step
		i += step
		if c.hn < len(c.hdr) {
			break
		}
		c.hn = 0
		c.left = uint32(c.hdr[0])<<16 | uint32(c.hdr[1])<<8 | uint32(c.hdr[2])
		c.typ, c.flags = c.hdr[3], c.hdr[4]
		if c.streams != nil {
			c.streams.frame(c.typ, c.flags, binary.BigEndian.Uint32(c.hdr[5:])&(1<<31-1))
			if c.left == 0 {
				c.streams.end(c.typ, c.flags)
			}
		}
		if kind, bad := c.frame(c.typ, c.flags, c.left); bad {
			c.abuse(kind, c.culprit(kind))
			return max(start, 0)
		}
	}
	return len(b)
}

// frame counts a frame by its header; true means it crosses a bound.
func (c *h2Conn) frame(typ, flags byte, length uint32) (h2Kind, bool) {
	switch typ {
	case frameData:
		if length == 0 && flags&flagEndStream == 0 {
			return h2EmptyFrames, c.perSecond(&c.empty, c.limits.MaxEmptyPerSecond)
		}
	case frameHeaders:
		c.opened++
		c.conts, c.block = 0, int(length)
		if length == 0 && flags&flagEndHeaders == 0 {
			return h2EmptyFrames, c.perSecond(&c.empty, c.limits.MaxEmptyPerSecond)
		}
		if c.block > c.maxHdr {
			return h2Continuation, true
		}
	case frameContinuation:
		c.conts++
		c.block += int(length)
		if c.conts > c.limits.MaxContinuations || c.block > c.maxHdr {
			return h2Continuation, true
		}
		if length == 0 && flags&flagEndHeaders == 0 {
			return h2EmptyFrames, c.perSecond(&c.empty, c.limits.MaxEmptyPerSecond)
		}
	case framePriority:
		return h2EmptyFrames, c.perSecond(&c.empty, c.limits.MaxEmptyPerSecond)
	case frameRSTStream:
		// Past the bound in a second, or in all once the client has
		// cancelled most of its streams: a server busy with the streams
		// takes in fewer a second than a client sends.
		c.allResets++
		over := c.allResets > c.limits.MaxResetsPerSecond && 2*c.allResets > c.opened
		return h2RapidReset, c.perSecond(&c.resets, c.limits.MaxResetsPerSecond) || over
	case frameSettings:
		if flags&flagAck == 0 {
			return h2SettingsFlood, c.perSecond(&c.control, c.limits.MaxControlPerSecond)
		}
	case framePing:
		return h2PingFlood, c.perSecond(&c.control, c.limits.MaxControlPerSecond)
	}
	return 0, false
}

// perSecond counts one into *n, whose count starts again each second, and
// reports whether it is over max. Only the frames counted read the clock.
func (c *h2Conn) perSecond(n *int, max int) bool {
	if sec := time.Now().Unix(); sec != c.sec {
		c.sec, c.resets, c.control, c.empty = sec, 0, 0, 0
	}
	*n++
	return *n > max
}

// culprit is the client to strike for kind, from the reader (which owns
// streams): the peer, but for a trusted proxy's connection, whose faults
// are the connection's (no address struck) except a stream's reset, which
// is the client's with the most resets on it.
func (c *h2Conn) culprit(kind h2Kind) netip.Addr {
	if !c.trusted {
		return c.peer
	}
	if kind == h2RapidReset && c.streams != nil {
		if client, ok := c.streams.worst(); ok {
			return client
		}
	}
	return netip.Addr{}
}

// abuse records that the connection crossed a bound of kind, once: it
// counts it and strikes client, unless client is invalid or a trusted
// proxy (which carries many clients' streams).
func (c *h2Conn) abuse(kind h2Kind, client netip.Addr) {
	if c.crossed.Swap(true) {
		return
	}
	rt := c.rt
	rt.h2abuse[kind].Add(1)
	rt.rec.Rejected(stats.H2Abuse)
	t := rt.table.Load()
	if client.IsValid() && !t.clientIP.Trusted(client) {
		rt.adm.Strike(rt.now(), t.clientIP.Key(client))
	} else {
		client = netip.Addr{}
	}
	rt.log.Warn("HTTP/2 connection closed for abuse", zap.Stringer("kind", kind),
		zap.Stringer("peer", c.peer), zap.Bool("trusted_peer", c.trusted), zap.Stringer("struck", client))
}

// countError is x/net/http2's report of a fault it found itself on this
// connection, named TYPE_CODE_NAME: streams past the advertised limit, or
// more early resets than it queues (its own Rapid Reset bound, which closes
// the connection).
func (c *h2Conn) countError(errType string) {
	switch {
	case strings.HasSuffix(errType, "_too_many_early_resets"):
		c.abuse(h2RapidReset, c.connCulprit())
	case strings.HasSuffix(errType, "_over_max_streams"): // past the limit it has acknowledged
		c.abuse(h2TooManyStreams, c.connCulprit())
	}
}

// connCulprit is the client to strike for a fault x/net/http2 found (on
// its own goroutine, so streams is not looked at): the peer, none for a
// trusted proxy.
func (c *h2Conn) connCulprit() netip.Addr {
	if c.trusted {
		return netip.Addr{}
	}
	return c.peer
}

// h2TLSConn is an h2Conn over TLS. Its ConnectionState lets x/net/http2
// check the TLS version and set Request.TLS (X-Forwarded-Proto: https).
type h2TLSConn struct {
	*h2Conn
	tc *tls.Conn
}

func (c h2TLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// guardH2 puts c under the router's HTTP/2 bounds; the second result is
// the h2Conn, for its countError.
func (rt *Router) guardH2(c net.Conn, limits config.HTTP2, maxHdr int) (net.Conn, *h2Conn) {
	hc := newH2Conn(c, rt, limits, maxHdr)
	if tc, ok := c.(*tls.Conn); ok {
		return h2TLSConn{hc, tc}, hc
	}
	return hc, hc
}

// netAddrIP is a's IP, unmapped.
func netAddrIP(a net.Addr) (netip.Addr, bool) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, ok := netip.AddrFromSlice(ta.IP)
		return ip.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap(), err == nil
}
