package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/bulwark-router/bulwark/config"
)

// errBadSwitch is a 101 Switching Protocols the router will not tunnel:
// the request did not ask for a switch it allows, or the backend named
// another protocol than the one asked for.
var errBadSwitch = errors.New("backend switched protocols unasked")

// tunnelLinger is how long a tunnel stays open in one direction after the
// other ended: long enough for a closing handshake, not for a half-open
// connection to hold the router's goroutines and descriptors.
const tunnelLinger = 10 * time.Second

// upgradeProtocol returns the protocol an upgrade request may switch to:
// the first its Upgrade field lists whose name (before any "/version") is
// in allowed, compared without case; never h2c. It returns "" when there
// is none, or when the Connection field does not name Upgrade (RFC 9110,
// section 7.8).
func upgradeProtocol(h http.Header, allowed []string) string {
	if !httpHasToken(h["Connection"], "upgrade") {
		return ""
	}
	for _, v := range h["Upgrade"] {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			p = textproto.TrimString(p)
			name, version, versioned := strings.Cut(p, "/")
			if !config.IsToken(name) || versioned && !config.IsToken(version) || strings.EqualFold(name, "h2c") {
				continue
			}
			for _, a := range allowed {
				if strings.EqualFold(name, a) {
					return p
				}
			}
		}
	}
	return ""
}

// switchedTo reports whether a 101's header switches to proto alone: its
// Connection field names Upgrade and its Upgrade field lists proto and
// nothing else.
func switchedTo(h http.Header, proto string) bool {
	if proto == "" || !httpHasToken(h["Connection"], "upgrade") {
		return false
	}
	n := 0
	for _, v := range h["Upgrade"] {
		for v != "" {
			var p string
			p, v, _ = strings.Cut(v, ",")
			if p = textproto.TrimString(p); p == "" {
				continue
			}
			if n++; n > 1 || !strings.EqualFold(p, proto) {
				return false
			}
		}
	}
	return n == 1
}

// switchProtocols answers a backend's 101: a tunnel between the client's
// connection and the backend's when the request asked for proto (allowed
// by server.upgrades) and the backend switched to it; else a 502, with the
// backend's connection closed.
func (rt *Router) switchProtocols(rw http.ResponseWriter, out *http.Request, res *http.Response, st *requestState, proto string) {
	backend, ok := res.Body.(io.ReadWriteCloser)
	if !ok || !switchedTo(res.Header, proto) {
		res.Body.Close()
		rt.proxyError(rw, out, fmt.Errorf("%w: asked for %q, got Upgrade %q", errBadSwitch, proto, res.Header["Upgrade"]))
		return
	}
	defer backend.Close()
	st.upstreamDur = time.Since(st.upstreamStart)
	conn, brw, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		rt.proxyError(rw, out, fmt.Errorf("switching protocols: %w", err))
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	st.w.status = http.StatusSwitchingProtocols

	h := rw.Header()
	stripHopByHop(res.Header)
	for k, vv := range res.Header {
		h[k] = append(h[k], vv...)
	}
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = []string{proto}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	h.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	// Bytes the client sent after its request head may wait in net/http's
	// reader; after them the tunnel reads the connection itself.
	var client io.Reader = conn
	if n := brw.Reader.Buffered(); n > 0 {
		early, _ := brw.Reader.Peek(n)
		client = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	st.w.bytes += tunnel(out.Context(), conn, client, backend)
}

// tunnelEnd is how one direction of a tunnel ended.
type tunnelEnd struct {
	toClient bool
	n        int64
	err      error
}

// tunnel copies between the client's connection and the backend's until
// both directions end, and returns the bytes sent to the client. A
// direction that ends cleanly is passed on as a half close where the
// connection allows it; the other then has tunnelLinger to finish. An
// error, a close that cannot be passed on, or ctx ending closes both.
// The caller closes both connections after.
func tunnel(ctx context.Context, conn net.Conn, client io.Reader, backend io.ReadWriteCloser) int64 {
	ends := make(chan tunnelEnd, 2)
	go func() {
		n, err := io.Copy(conn, backend)
		ends <- tunnelEnd{toClient: true, n: n, err: err}
	}()
	go func() {
		n, err := io.Copy(backend, client)
		ends <- tunnelEnd{n: n, err: err}
	}()
	closeBoth := func() {
		conn.Close()
		backend.Close()
	}
	var sent int64
	var linger <-chan time.Time
	done := ctx.Done()
	for pending := 2; pending > 0; {
		select {
		case e := <-ends:
			pending--
			if e.toClient {
				sent = e.n
			}
			if pending == 0 {
				break
			}
			var dst any = backend
			if e.toClient {
				dst = conn
			}
			cw, ok := dst.(interface{ CloseWrite() error })
			if e.err != nil || !ok || cw.CloseWrite() != nil {
				closeBoth()
				continue
			}
			t := time.NewTimer(tunnelLinger)
			defer t.Stop()
			linger = t.C
		case <-linger:
			closeBoth()
			linger = nil
		case <-done:
			closeBoth()
			done = nil
		}
	}
	return sent
}
