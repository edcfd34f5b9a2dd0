package upstream

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// plan is what RoundTrip decides about a request before it takes a
// connection: how its body is framed and which connection headers it sends.
type plan struct {
	method string
	host   string
	// length is the body's length: 0 none, -1 unknown (sent chunked).
	length  int64
	chunked bool
	// trailers: declared request trailers, sent after a chunked body.
	trailers bool
	expect   bool   // "Expect: 100-continue" with a body
	upgrade  string // the Upgrade header of an upgrade request
	close    bool   // "Connection: close"
	teTrail  bool   // "TE: trailers"
	// connection holds the Connection header when it names other headers,
	// which are then not sent.
	connection []string
}

// prepare fills pl from req and checks what can be checked before writing.
// Header names and values are checked as they are written.
func (pl *plan) prepare(req *http.Request, body io.Reader) error {
	if req.URL == nil {
		return fmt.Errorf("%w: nil URL", ErrInvalidRequest)
	}
	if req.URL.Scheme != "http" {
		return fmt.Errorf("%w %q", ErrUnsupportedScheme, req.URL.Scheme)
	}
	if req.URL.Host == "" {
		return fmt.Errorf("%w: no host in URL", ErrInvalidRequest)
	}
	pl.method = req.Method
	if pl.method == "" {
		pl.method = http.MethodGet
	}
	if !validToken(pl.method) {
		return fmt.Errorf("%w: method %q", ErrInvalidRequest, pl.method)
	}
	pl.host = req.Host
	if pl.host == "" {
		pl.host = req.URL.Host
	}
	if !validHost(pl.host) {
		return fmt.Errorf("%w: host %q", ErrInvalidRequest, pl.host)
	}
	if !validURIPart(req.URL.RawQuery) || !validURIPart(req.URL.Opaque) {
		return fmt.Errorf("%w: URI %q", ErrInvalidRequest, req.URL.String())
	}
	switch {
	case body == nil:
		pl.length = 0
	case req.ContentLength > 0:
		pl.length = req.ContentLength
	default:
		pl.length = -1
	}
	pl.trailers = pl.length != 0 && len(req.Trailer) > 0
	pl.chunked = pl.length < 0 || pl.trailers
	h := req.Header
	pl.close = req.Close
	if conn := h["Connection"]; len(conn) > 0 {
		pl.close = pl.close || hasToken(conn, "close")
		if up := h.Get("Upgrade"); up != "" && hasToken(conn, "upgrade") {
			pl.upgrade = up
			if !validValue(up) {
				return fmt.Errorf("%w: Upgrade %q", ErrInvalidRequest, up)
			}
		}
		pl.connection = conn
	}
	pl.expect = pl.length != 0 && hasToken(h["Expect"], "100-continue")
	pl.teTrail = hasToken(h["Te"], "trailers")
	return nil
}

// skipHeader reports whether header k is not copied from req.Header: the
// transport writes framing and connection headers itself, drops hop-by-hop
// ones and those the Connection header names.
func (pl *plan) skipHeader(k string) bool {
	switch len(k) {
	case 2:
		return strings.EqualFold(k, "Te")
	case 4:
		return strings.EqualFold(k, "Host")
	case 7:
		return strings.EqualFold(k, "Upgrade") || strings.EqualFold(k, "Trailer")
	case 10:
		if strings.EqualFold(k, "Connection") || strings.EqualFold(k, "Keep-Alive") {
			return true
		}
	case 14:
		if strings.EqualFold(k, "Content-Length") {
			return true
		}
	case 16:
		if strings.EqualFold(k, "Proxy-Connection") {
			return true
		}
	case 17:
		if strings.EqualFold(k, "Transfer-Encoding") {
			return true
		}
	case 18:
		if strings.EqualFold(k, "Proxy-Authenticate") {
			return true
		}
	case 19:
		if strings.EqualFold(k, "Proxy-Authorization") {
			return true
		}
	}
	return pl.connection != nil && hasToken(pl.connection, k)
}

// idempotent reports whether sending req twice does no more than once.
func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	h := req.Header
	return len(h["Idempotency-Key"]) > 0 || len(h["X-Idempotency-Key"]) > 0
}

// progress records how far one attempt got, to decide on a retry, and
// the informational heads seen.
type progress struct {
	bodyStarted bool // the request body was read from
	gotByte     bool // a byte of the response arrived
	unsent      bool // not a byte of the request was written
	fatal       bool // the failure was not the connection's: don't retry

	informational int  // 1xx heads read
	continued     bool // a 100 Continue was passed on
}

// retryable reports whether the attempt may be sent again on a new
// connection (the caller checks that the failed one was reused).
func (pr *progress) retryable(req *http.Request) bool {
	switch {
	case pr.gotByte || pr.fatal:
		return false
	case !pr.bodyStarted:
		return true
	case pr.unsent: // the backend saw nothing: only the body must be replayed
		return req.GetBody != nil
	}
	return idempotent(req) && req.GetBody != nil
}

// offered reports whether the protocols a 101 answer switches to (its
// Upgrade field) are all among those the request offered: a switch
// nobody asked for is not passed on.
func (pl *plan) offered(switched []string) bool {
	if pl.upgrade == "" {
		return false
	}
	n := 0
	for _, v := range switched {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			if item = strings.Trim(item, " \t"); item == "" {
				continue
			}
			if !hasToken([]string{pl.upgrade}, item) {
				return false
			}
			n++
		}
	}
	return n > 0
}
