package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"time"
)

// earlyResponseWait bounds the look for a response the backend sent before
// a request body write failed (say, a 413 followed by a close).
const earlyResponseWait = 250 * time.Millisecond

// maxInformational caps the 1xx heads read for one request, as
// http.Transport once did (max1xxResponses): a backend that sends them
// without end holds the request and the client.
const maxInformational = 5

// roundTrip sends req on c and reads the response head. On error c is
// closed; on success c belongs to the response body (or went back to the
// pool when there is none).
func (c *conn) roundTrip(ctx context.Context, req *http.Request, body io.Reader, pl *plan, pr *progress) (*http.Response, error) {
	c.watch(ctx)
	start, sent := c.nread, c.written
	resp, reuse, err := c.exchange(req, body, pl, pr)
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols && !pl.offered(resp.Header["Upgrade"]) {
		pr.fatal = true
		err = fmt.Errorf("%w: Upgrade %q, asked %q", ErrUnaskedUpgrade, resp.Header["Upgrade"], pl.upgrade)
	}
	if err != nil {
		// Bytes read before any of the request went out (a wrapper's look
		// for unasked ones) are no answer to it.
		pr.unsent = c.written == sent
		pr.gotByte = c.nread > start && !pr.unsent
		switch {
		case errors.Is(err, ErrUnsolicited):
			c.p.t.unsolicited.Add(1)
		case errors.Is(err, errClosedIdle):
			c.p.t.stale.Add(1)
		}
		err = c.failure(ctx, err, pr)
		c.release(false)
		return nil, err
	}
	reuse = reuse && !resp.Close && !pl.close
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols:
		if !c.unwatch() {
			c.p.discard(c, true)
			return nil, ctx.Err()
		}
		c.p.detach()
		resp.Body = &upgradeBody{c: c}
	case resp.Body == http.NoBody:
		c.release(reuse)
	default:
		resp.Body = &bodyReader{c: c, rc: resp.Body, keep: reuse}
	}
	return resp, nil
}

// exchange writes the request and reads the final response head. reuse is
// false when the connection must close after this response (the body was
// never sent).
func (c *conn) exchange(req *http.Request, body io.Reader, pl *plan, pr *progress) (resp *http.Response, reuse bool, err error) {
	sent := c.written
	c.check = true      // the first write makes sure nothing unasked is waiting
	if c.inner != nil { // a wrapper's first write can't peek: look now
		switch c.idleState() {
		case sockData:
			return nil, false, ErrUnsolicited
		case sockClosed:
			return nil, false, errClosedIdle
		}
	}
	if err := c.writeHead(req, pl, pr); err != nil {
		return nil, false, err
	}
	if pl.expect {
		if err := c.bw.Flush(); err != nil {
			return nil, false, err
		}
		resp, err := c.awaitContinue(req, pr)
		if err != nil || resp != nil {
			// A final answer before the body: the body is never sent and
			// the connection closes after the response.
			return resp, false, err
		}
	}
	if pl.length != 0 {
		err = c.writeBody(req, body, pl, pr)
	}
	d := c.headerTimeout(req)
	if err == nil {
		if d > 0 {
			c.setReadTimeout(d) // flushAwait may wait for the head
		}
		// An answer that comes before the last write of a request sent in
		// several is served (RFC 9112, section 9.5), but the backend may
		// not have read the rest: the connection closes after it.
		c.early = c.written != sent && c.br.Buffered() > 0
		c.note = c.written != sent
		err = c.flushAwait(sent)
		c.note = false
	}
	if err != nil {
		if !pr.fatal && pr.bodyStarted {
			if resp := c.earlyResponse(req, pr); resp != nil {
				return resp, false, nil
			}
		}
		return nil, false, err
	}
	resp, err = c.readHead(req, pr, false, true)
	if err != nil {
		return nil, false, err
	}
	if d > 0 {
		c.setReadTimeout(0)
	}
	return resp, !c.early, nil
}

// awaitContinue waits, after a head with "Expect: 100-continue", for the
// backend's 100 (resp nil: send the body), a final answer (resp set: don't),
// or ExpectContinueTimeout to pass (resp nil: send the body anyway).
func (c *conn) awaitContinue(req *http.Request, pr *progress) (*http.Response, error) {
	c.limit = c.p.t.opts.MaxResponseHeaderBytes
	c.setReadTimeout(c.p.t.opts.ExpectContinueTimeout)
	if _, err := c.br.Peek(1); err != nil {
		c.limit = math.MaxInt64
		if isTimeout(err) && !c.aborted.Load() {
			c.setReadTimeout(0)
			return nil, nil
		}
		return nil, err
	}
	c.setReadTimeout(c.headerTimeout(req))
	resp, err := c.readHead(req, pr, true, false)
	if err != nil {
		return nil, err
	}
	c.setReadTimeout(0)
	if resp.StatusCode == http.StatusContinue {
		return nil, nil
	}
	return resp, nil
}

// earlyResponse looks for a response that arrived before a body write
// failed. The connection closes after it.
func (c *conn) earlyResponse(req *http.Request, pr *progress) *http.Response {
	c.setReadTimeout(earlyResponseWait)
	resp, err := c.readHead(req, pr, false, true)
	if err != nil {
		return nil
	}
	c.setReadTimeout(0)
	return resp
}

// readHead reads response heads until a final one (or a 100 when
// stopAt100). 1xx heads other than 101 go to the request's
// httptrace.ClientTrace.Got1xxResponse, as http.Transport does, so
// ReverseProxy forwards them; a 100 only once per request. At most
// maxInformational of them are read, and all the heads of one call share
// one header budget (budget starts it).
func (c *conn) readHead(req *http.Request, pr *progress, stopAt100, budget bool) (*http.Response, error) {
	max := c.p.t.opts.MaxResponseHeaderBytes
	if budget {
		c.limit = max
	}
	defer func() { c.limit = math.MaxInt64 }()
	for {
		resp, err := readResponse(c.br, req, &c.lr)
		if err != nil {
			if c.limit <= 0 || errors.Is(err, ErrHeaderTooLarge) {
				pr.fatal = true
				err = fmt.Errorf("%w: over %d bytes", ErrHeaderTooLarge, max)
			}
			return nil, err
		}
		code := resp.StatusCode
		if code < 100 || code > 599 {
			pr.fatal = true
			return nil, fmt.Errorf("%w: %d", ErrBadStatus, code)
		}
		if code > 199 || code == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if pr.informational++; pr.informational > maxInformational {
			pr.fatal = true
			return nil, fmt.Errorf("%w: over %d", ErrTooManyInformational, maxInformational)
		}
		if code == http.StatusContinue {
			if pr.continued {
				continue // said once already
			}
			pr.continued = true
		}
		trace := httptrace.ContextClientTrace(req.Context())
		if code == http.StatusContinue && stopAt100 && trace != nil && trace.Got100Continue != nil {
			trace.Got100Continue()
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(resp.Header)); err != nil {
				pr.fatal = true
				return nil, err
			}
		}
		if code == http.StatusContinue && stopAt100 {
			return resp, nil
		}
	}
}

// failure turns an exchange error into what RoundTrip returns: the
// context's error when it ended, a timeout error when the response head
// did not come in time, else the error with the target named.
func (c *conn) failure(ctx context.Context, err error, pr *progress) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	if isTimeout(err) {
		pr.fatal = true
		return errHeaderTimeout
	}
	if pr.fatal {
		return err
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("upstream: %s closed the connection before answering: %w", c.p.addr, err)
	}
	return fmt.Errorf("upstream: %s: %w", c.p.addr, err)
}
