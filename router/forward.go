package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/router/breaker"
)

// bufferPool lends 32 KiB copy buffers to the relay. A sync.Pool
// holds pointers, and the relay hands back slices, so the pointers that
// carried lent buffers are kept in a second pool to carry them back:
// neither Get nor Put allocates once both are warm.
type bufferPool struct {
	bufs    sync.Pool // *[]byte holding a buffer
	holders sync.Pool // *[]byte holding nil
}

const copyBufSize = 32 << 10

func newBufferPool() *bufferPool { return &bufferPool{} }

func (bp *bufferPool) Get() []byte {
	h, _ := bp.bufs.Get().(*[]byte)
	if h == nil {
		return make([]byte, copyBufSize)
	}
	b := *h
	*h = nil
	bp.holders.Put(h)
	return b
}

func (bp *bufferPool) Put(b []byte) {
	if cap(b) < copyBufSize {
		return
	}
	h, _ := bp.holders.Get().(*[]byte)
	if h == nil {
		h = new([]byte)
	}
	*h = b[:copyBufSize]
	bp.bufs.Put(h)
}

// errBadStatus is a backend's answer with a status code outside
// 100..599 (RFC 9110, section 15): no client gets it.
var errBadStatus = errors.New("backend answered with a status code outside 100..599")

// backendTransport hands each outgoing request to its backend.
type backendTransport struct{}

func (backendTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateFrom(req.Context())
	return st.backend.roundTrip(req, st)
}

// roundTrip sends req to a target, retrying on another target only when the
// request can't have reached the first one (a connect error) and has no body
// that was consumed.
func (b *Backend) roundTrip(req *http.Request, st *requestState) (*http.Response, error) {
	var tried uint64
	for {
		t := b.pick(tried)
		if t == nil {
			return nil, b.unavailable(st.err)
		}
		tried |= 1 << t.index
		tok, berr := t.breaker.Allow()
		if berr != nil {
			continue // opened since pick; try another
		}
		st.target = t
		st.attempts++
		req.URL.Scheme, req.URL.Host = t.url.Scheme, t.url.Host
		t.inFlight.Add(1)
		t.requests.Add(1)
		start := time.Now()
		if st.upstreamStart.IsZero() {
			st.upstreamStart = start
		}
		resp, err := b.send(req, st)
		if err == nil && (resp.StatusCode < 100 || resp.StatusCode > 599) {
			resp.Body.Close() // unread: the connection is not reused
			resp, err = nil, fmt.Errorf("%w: %d", errBadStatus, resp.StatusCode)
		}
		if err == nil {
			if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
				t.breaker.Done(tok, breaker.Success)
				resp.Body = &upgradedBody{targetBody{ReadCloser: rwc, t: t, st: st}, rwc}
				return resp, nil
			}
			if resp.StatusCode >= 500 {
				t.breaker.Done(tok, breaker.Failure)
				t.failures.Add(1)
				tok = breaker.Token{}
			}
			// Below 500 the verdict waits for the body: an answer that
			// breaks off mid-body is a failure.
			resp.Body = &targetBody{ReadCloser: resp.Body, t: t, st: st, ctx: req.Context(), tok: tok}
			return resp, nil
		}
		t.inFlight.Add(-1)
		st.err, st.failed = err, t
		if st.bodyFault(err) != bodyOK || statusFor(req.Context(), err) == StatusClientClosed {
			t.breaker.Done(tok, breaker.Ignore)
		} else {
			t.breaker.Done(tok, breaker.Failure)
			t.failures.Add(1)
		}
		if !isConnectError(err) || st.attempts > b.cfg.Retries || req.Context().Err() != nil || !bodyless(req) {
			return nil, err
		}
	}
}

// bodyless reports whether req carries no body, so it can be sent again.
func bodyless(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody
}

// targetBody releases the target's in-flight slot when the response body is
// closed, and then reports the attempt to the target's breaker: a failure
// when reading the body broke off (not because the client left), a success
// otherwise. The zero tok reports nothing.
type targetBody struct {
	io.ReadCloser
	t     *Target
	st    *requestState
	ctx   context.Context
	tok   breaker.Token
	broke bool
	once  sync.Once
}

func (b *targetBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx != nil && b.ctx.Err() == nil {
		b.broke = true
	}
	return n, err
}

func (b *targetBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.t.inFlight.Add(-1)
		res := breaker.Success
		if b.broke {
			res = breaker.Failure
			b.t.failures.Add(1)
			b.st.bodyBroke = true
		}
		b.t.breaker.Done(b.tok, res)
	})
	return err
}

// upgradedBody keeps an upgraded connection writable through the wrapper.
type upgradedBody struct {
	targetBody
	w io.Writer
}

func (b *upgradedBody) Write(p []byte) (int, error) { return b.w.Write(p) }

// proxyError answers a request the backend could not serve.
func (rt *Router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateFrom(r.Context())
	st.err = err
	if !st.upstreamStart.IsZero() {
		st.upstreamDur = time.Since(st.upstreamStart)
	}
	if f := st.bodyFault(err); f != bodyOK {
		rt.refuseBody(st, f) // the client's fault, not the backend's
		return
	}
	code := statusFor(r.Context(), err)
	if code == StatusClientClosed {
		st.w.status = StatusClientClosed // logged only; nobody is listening
		return
	}
	var ue *unavailableError
	if errors.As(err, &ue) {
		st.reason = ue.reason.String()
		rt.rec.Rejected(ue.reason)
		st.err = nil // the router refused; the backend did not fail
	}
	var ra RetryAfterError
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfterSeconds()))
	} else if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeSmall(w, code, http.StatusText(code))
}

// writeSmall writes a short plain-text answer made by the router itself.
func writeSmall(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h["Content-Type"] = plainText
	h["X-Content-Type-Options"] = nosniff
	h["Cache-Control"] = noStore
	w.WriteHeader(code)
	io.WriteString(w, msg)
	io.WriteString(w, "\n")
}

var (
	plainText = []string{"text/plain; charset=utf-8"}
	nosniff   = []string{"nosniff"}
	noStore   = []string{"no-store"}
	connClose = []string{"close"}
)
