package router

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bulwark-router/bulwark/router/clientip"
	"github.com/bulwark-router/bulwark/router/front"
)

// The connection front (package front, server.early_refusal) answers the
// requests the router refuses from their raw head, before net/http builds
// them. frontDecider is the router as the front sees it.

// EarlyRefusals is how many requests the connection front has answered
// (server.early_refusal).
func (rt *Router) EarlyRefusals() uint64 { return rt.early.Load() }

// frontDecider is a Router answering the front's questions (front.Decider).
type frontDecider Router

func (d *frontDecider) ForwardedField() string {
	return (*Router)(d).table.Load().clientIP.Header()
}

// Refuse decides the parsed head h with ServeHTTP's checks before
// admission (checkIn), and when the router turns the request away counts
// and records it and returns the answer, appended to dst with the request
// id of its access line.
func (d *frontDecider) Refuse(h *front.Head, peer netip.Addr, dst []byte) (front.Refusal, bool) {
	rt := (*Router)(d)
	t := rt.table.Load()
	if !t.early {
		return front.Refusal{}, false
	}
	// method and path apart from in: finish keeps them (in a log line),
	// which would make in, and the forwarded chain on the stack, escape.
	method := h.Method()
	path, pathOK := t.matchPath(h.Path())
	var fwd [front.MaxForwarded]string
	in := arrival{method: method, host: h.Host(), path: path, badPath: !pathOK, fwd: h.AppendForwarded(fwd[:0])}
	st := statePool.Get().(*requestState)
	start := rt.now()
	dec, found := rt.checkIn(t, &in, peer, st, start, true)
	if found != checkRefused {
		st.release()
		return front.Refusal{}, false
	}

	closing := h.Closing() || rt.draining.Load()
	isHead := method == http.MethodHead
	// The id stays bytes (h's, or made in st) unless the access line wants it.
	if id := h.RequestID(); id != nil && t.clientIP.Trusted(peer) && clientip.ValidRequestID(viewString(id)) {
		st.rawID = id
	} else {
		st.rawID = clientip.AppendRequestID(st.newID[:0])
	}
	out := rt.answers.appendWithID(dst, &dec, rt.date.at(start), closing, isHead, st.rawID)
	rt.noteDecision(st, dec.Reason.String(), dec.Status, start)
	body := refusalBodyLen(&dec)
	if isHead {
		body = 0
	}
	rt.early.Add(1) // before the answer is out, so a client that has it sees the count

	st.w.status = dec.Status
	st.host, st.userAgent, st.query = h.Host(), h.UserAgent(), h.Query() // not in.host: in would escape
	st.w.bytes = int64(body)
	end := rt.finish(t, st, method, path, start)
	st.release()
	// The front's timeouts run from here; its deadlines need the real clock.
	if !rt.realClock {
		end = time.Now()
	}
	return front.Refusal{Answer: out, Close: closing, At: end}, true
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true // the poller's, without errors.As's allocation
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// viewString views b as a string without copying. The string is valid only while
// b's bytes are unchanged: the front's bytes within one request's decision.
func viewString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// dateCache holds the Date field of the current second. Its zero value is
// empty and ready; it is safe for concurrent use.
type dateCache struct{ p atomic.Pointer[cachedDate] }

type cachedDate struct {
	sec int64
	b   []byte
}

// at returns now as an IMF-fixdate (the Date field), formatted once per
// second. The bytes are never changed.
func (c *dateCache) at(now time.Time) []byte {
	sec := now.Unix()
	if d := c.p.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &cachedDate{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	c.p.Store(d)
	return d.b
}

// isHex reports whether c is a hex digit (the relay's query check).
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
