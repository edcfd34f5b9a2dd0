package router

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/router/upstream"
)

// send hands req to the backend's transport with the route's own response
// timeout (routes[].timeouts.response), when it has one, in place of the
// backend's response_timeout. Both transports read it from the context.
func (b *Backend) send(req *http.Request, st *requestState) (*http.Response, error) {
	if st.route != nil && st.route.responseTimeout > 0 {
		req = req.WithContext(upstream.WithResponseHeaderTimeout(req.Context(), st.route.responseTimeout))
	}
	resp, err := b.transport.RoundTrip(req)
	if err != nil && err.Error() == errServerClosedIdle && req.GetBody != nil {
		// net/http's Transport gives this when the backend closed a
		// pooled connection before any of the request went on it (its
		// reader saw the end with no request out), and sends again only
		// an idempotent request. Nothing was sent: any may go again.
		if body, gerr := req.GetBody(); gerr == nil {
			req.Body = body
			resp, err = b.transport.RoundTrip(req)
		}
	}
	return resp, err
}

// errServerClosedIdle is the message of net/http's unexported error.
const errServerClosedIdle = "http: server closed idle connection"

// responseTimeoutError is a response head that did not come in time: a
// net.Error whose Timeout() is true, so it maps to 504 and counts against
// the target like the pooled transport's.
type responseTimeoutError struct{}

func (responseTimeoutError) Error() string   { return "timeout awaiting response headers" }
func (responseTimeoutError) Timeout() bool   { return true }
func (responseTimeoutError) Temporary() bool { return true }

// headTimeoutTransport is net/http's Transport with the response head's
// timeout applied per request: from the request's
// upstream.WithResponseHeaderTimeout, else d (the backend's
// response_timeout). As Transport.ResponseHeaderTimeout, the clock starts
// once the request is written; tr's own must be 0.
type headTimeoutTransport struct {
	tr *http.Transport
	d  time.Duration
}

func (h *headTimeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := h.d
	if o, ok := upstream.ResponseHeaderTimeout(req.Context()); ok {
		d = o
	}
	if d <= 0 {
		return h.tr.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	w := &headWatch{d: d, cancel: cancel}
	trace := &httptrace.ClientTrace{WroteRequest: w.wrote}
	resp, err := h.tr.RoundTrip(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	if w.stop() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, responseTimeoutError{}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	// The context must outlive the head: the body is read under it. It
	// ends with the request's.
	return resp, nil
}

// headWatch is one request's response-head timer: armed when the request
// is written, stopped when RoundTrip returns.
type headWatch struct {
	d      time.Duration
	cancel context.CancelFunc

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	fired   bool
}

func (w *headWatch) wrote(httptrace.WroteRequestInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.t != nil {
		return
	}
	w.t = time.AfterFunc(w.d, func() {
		w.mu.Lock()
		fire := !w.stopped
		w.fired = fire
		w.mu.Unlock()
		if fire {
			w.cancel()
		}
	})
}

// stop disarms the timer and reports whether it fired first.
func (w *headWatch) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.t != nil {
		w.t.Stop()
	}
	return w.fired
}

func (h *headTimeoutTransport) CloseIdleConnections() { h.tr.CloseIdleConnections() }
