package router

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// relay forwards every request to its backend and copies the answer back:
// the router's one forwarding path, for real traffic and the heartbeat's
// probes alike. It does what httputil.ReverseProxy does, with the same
// results (a test compares the two), without its per-request copies: the
// incoming header is edited in place instead of cloned (net/http lets a
// handler change it), the outgoing URL, the X-Forwarded-* values and the
// 1xx hook live in one allocation, and the response header's values are
// handed over instead of copied. Where it differs, it is stricter: the
// query goes out as the client sent it (ReverseProxy re-encodes one with
// ';' or a bad escape, nginx does not), upgrades are tunnelled only to the
// protocols of server.upgrades and only after a 101 that switches to the
// one asked for, a backend's 100 Continue is not passed on (net/http's
// server sends the client its own when the body is first read, so the
// client gets exactly one), and informational answers are capped.
type relay struct {
	ctx   relayCtx
	url   url.URL
	xff   [1]string
	xfh   [1]string
	rid   [1]string
	trace httptrace.ClientTrace

	// rw is the client's writer, for 1xx answers. The standard transport
	// reports them from its own goroutine, possibly after RoundTrip
	// returned, so they are taken under mu and refused once done is set.
	rw     http.ResponseWriter
	mu     sync.Mutex
	bodyMu sync.Mutex // guards bodyCut, held through relayBody's reads
	done   bool
	http10 bool  // the client speaks HTTP/1.0: no 1xx for it
	got100 bool  // a 100 Continue came (the first is not counted)
	n1xx   uint8 // informational answers counted against maxInformational
	// bodyCut ends the transport's reads of the client's body (relayBody)
	// when the relay returns.
	bodyCut bool
	// bodyRead: the transport began reading the body; it can't be sent
	// again (resendBody).
	bodyRead bool
}

// maxInformational bounds the informational answers (103 Early Hints and
// the like, and any 100 Continue after the first) a backend may send
// before its final answer; past it the client gets a 502 and the
// backend's connection is closed.
const maxInformational = 5

// errTooManyInformational is a backend that sent more than
// maxInformational informational answers.
var errTooManyInformational = errors.New("backend sent too many informational answers")

// relayCtx carries the request state for the transport and the error
// handler.
type relayCtx struct {
	context.Context
	st *requestState
}

func (c *relayCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.st
	}
	return c.Context.Value(key)
}

// Values shared by every relayed request; nobody appends to or edits them.
var (
	protoHTTP   = []string{"http"}
	protoHTTPS  = []string{"https"}
	emptyValue  = []string{""}
	teTrailers  = []string{"trailers"}
	connUpgrade = []string{"Upgrade"}
)

// relay sends in to st's backend and copies the answer to rw. Like
// ReverseProxy it aborts the handler (panics with http.ErrAbortHandler)
// when copying the answer to a server's client breaks off.
func (rt *Router) relay(rw http.ResponseWriter, in *http.Request, st *requestState) {
	rl := &relay{rw: rw, http10: !in.ProtoAtLeast(1, 1)}
	upgrade := "" // the protocol the request may switch to
	if len(in.Header["Upgrade"]) > 0 && in.ProtoMajor == 1 && !rl.http10 {
		upgrade = upgradeProtocol(in.Header, rt.table.Load().cfg.Server.Upgrades)
	}
	out, relaysBody := rl.outgoing(in, st, upgrade)
	if relaysBody {
		defer rl.stopBody()
	}

	res, err := backendTransport{}.RoundTrip(out)
	rl.mu.Lock()
	rl.done = true
	rl.mu.Unlock()
	if err != nil {
		st.setAnswerID(rw.Header()) // cleared by an informational answer
		rt.proxyError(rw, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		rt.switchProtocols(rw, out, res, st, upgrade)
		return
	}
	stripHopByHop(res.Header)
	stream := isEventStream(res.Header["Content-Type"])
	// Event streams and answers of unknown length are flushed as they
	// come, as ReverseProxy does.
	flush := stream || res.ContentLength == -1
	buf := rt.bufs.Get()
	defer rt.bufs.Put(buf)
	var ahead int
	var aheadErr error
	if !flush && res.ContentLength <= int64(len(buf)) {
		// Until a byte of the answer goes out, a backend that fails can
		// still get the client a 502 (net/http's writer keeps the head
		// while the body is short, and a handler's panic drops it).
		if ahead, aheadErr = readAhead(res.Body, buf, res.ContentLength); aheadErr != nil && aheadErr != io.EOF {
			res.Body.Close()
			rt.proxyError(rw, out, aheadErr)
			return
		}
	}
	if stream {
		liftDeadlines(st)
	}
	st.upstreamDur = time.Since(st.upstreamStart)

	announced := writeAnswerHead(rw, res, st)
	if err := rt.copyAnswer(rw, res.Body, buf, ahead, aheadErr == io.EOF, flush); err != nil {
		res.Body.Close()
		if in.Context().Value(http.ServerContextKey) != nil {
			panic(http.ErrAbortHandler)
		}
		return
	}
	res.Body.Close() // now, to fill res.Trailer
	writeTrailers(rw, res, announced)
}

// outgoing makes the request for the backend out of in: st's context and
// the relay's trace, a copy of the URL, the body as the router took it
// (relaysBody: stopBody is owed), and the header rewritten.
func (rl *relay) outgoing(in *http.Request, st *requestState, upgrade string) (out *http.Request, relaysBody bool) {
	rl.ctx = relayCtx{Context: in.Context(), st: st}
	rl.trace.Got1xxResponse = rl.got1xx
	rl.trace.GotConn = guardGotConn
	out = in.WithContext(httptrace.WithClientTrace(&rl.ctx, &rl.trace))
	rl.url = *in.URL
	out.URL = &rl.url
	if in.ContentLength == 0 {
		out.Body = nil // as ReverseProxy: the standard transport may then retry
	} else if st.body != nil {
		out.Body = relayBody{rl}
		switch st.backend.transport.(type) {
		case *headTimeoutTransport, *http.Transport: // net/http's
			out.GetBody = rl.resendBody
		}
		relaysBody = true
	}
	out.Close = false
	rl.rewrite(out, in, st, upgrade)
	if out.Trailer != nil {
		// Known now when the body was read ahead, else announced; the
		// rest comes at the body's end (relayBody.Read).
		dropForbiddenTrailers(out.Trailer)
		st.trailer = out.Trailer
	}
	return out, relaysBody
}

// writeAnswerHead writes the backend's answer head to rw: its fields added
// to the router's, the route's edits, and the trailers it announces, which
// it returns the number of.
func writeAnswerHead(rw http.ResponseWriter, res *http.Response, st *requestState) (announced int) {
	h := rw.Header()
	for k, vv := range res.Header {
		if old, ok := h[k]; ok {
			h[k] = append(old, vv...)
		} else {
			h[k] = vv
		}
	}
	st.editAnswer(h)
	dropForbiddenTrailers(res.Trailer)
	announced = len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	rw.WriteHeader(res.StatusCode)
	return announced
}

// writeTrailers passes the backend's trailers (res.Trailer, filled once
// its body is closed) to the client: as announced when they are the ones
// the head announced, else each under http.TrailerPrefix.
func writeTrailers(rw http.ResponseWriter, res *http.Response, announced int) {
	dropForbiddenTrailers(res.Trailer)
	if len(res.Trailer) > 0 {
		// Chunked, so net/http does not count a short body and send a length.
		http.NewResponseController(rw).Flush()
	}
	h := rw.Header()
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			h[k] = append(h[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			h.Add(k, v)
		}
	}
}

// rewrite turns the incoming request's header into the outgoing one, as
// ReverseProxy with the router's Rewrite did: hop-by-hop fields and
// client-sent X-Forwarded-* go (a trusted peer's chain and proto stay),
// the peer is appended to the chain, and the request id is set. For an
// allowed upgrade (upgrade, "" for none) the Connection and Upgrade
// fields name that one protocol.
func (rl *relay) rewrite(out, in *http.Request, st *requestState, upgrade string) {
	h := out.Header
	te := httpHasToken(h["Te"], "trailers")
	var prior []string
	proto := protoHTTP
	if in.TLS != nil {
		proto = protoHTTPS
	}
	if st.trusted {
		prior = h["X-Forwarded-For"]
		if v := h.Get("X-Forwarded-Proto"); v == "https" {
			proto = protoHTTPS
		} else if v == "http" {
			proto = protoHTTP
		}
	}
	stripHopByHop(h)
	if te {
		h["Te"] = teTrailers
	}
	if upgrade != "" {
		h["Connection"] = connUpgrade
		h["Upgrade"] = []string{upgrade}
	}
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")

	out.URL.Scheme = "http"
	out.URL.Host = st.backend.name // replaced by the transport per attempt
	out.Host = ""
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		if len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		rl.xff[0] = ip
		h["X-Forwarded-For"] = rl.xff[:]
	}
	rl.xfh[0] = in.Host
	h["X-Forwarded-Host"] = rl.xfh[:]
	h["X-Forwarded-Proto"] = proto
	rl.rid[0] = st.requestID
	h["X-Request-Id"] = rl.rid[:]
	editRequest(out, st)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = emptyValue // no Go default
	}
}

// got1xx passes an informational answer on to the client, but for 100
// Continue (the client gets net/http's own when its body is first read)
// and for an HTTP/1.0 client (RFC 9110, section 15.2). Past
// maxInformational it fails the exchange.
func (rl *relay) got1xx(code int, header textproto.MIMEHeader) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.done {
		return nil
	}
	if code != http.StatusContinue || rl.got100 {
		if rl.n1xx++; rl.n1xx > maxInformational {
			return errTooManyInformational
		}
	}
	if code == http.StatusContinue {
		rl.got100 = true
		return nil
	}
	if rl.http10 {
		return nil
	}
	h := rl.rw.Header()
	for k, vv := range header {
		h[k] = append(h[k], vv...)
	}
	rl.rw.WriteHeader(code)
	clear(h) // WriteHeader keeps them for a 1xx
	return nil
}

// readAhead reads an answer's body of the given length, no longer than
// buf, into buf before its head is written. A backend that fails in it
// gets the client a 502 rather than a closed connection. It returns the
// bytes read, and io.EOF when the body ended.
func readAhead(body io.Reader, buf []byte, length int64) (int, error) {
	want := int(length)
	n := 0
	for n < want {
		nr, err := body.Read(buf[n:want])
		n += nr
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// copyAnswer copies the answer's body to rw with buf, whose first ahead
// bytes were read already (eof: they were the whole body), flushing after
// each write when flush is set. It returns write errors and read errors
// but EOF.
func (rt *Router) copyAnswer(rw http.ResponseWriter, body io.Reader, buf []byte, ahead int, eof, flush bool) error {
	var fl http.Flusher
	if flush {
		fl, _ = rw.(http.Flusher)
		if fl != nil {
			fl.Flush() // the head goes out before the first event
		}
	}
	for first := true; ; first = false {
		var nr int
		var rerr error
		switch {
		case first && eof:
			nr, rerr = ahead, io.EOF
		case first && ahead > 0:
			nr = ahead
		default:
			nr, rerr = body.Read(buf)
		}
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			if ce := rt.log.Check(zap.InfoLevel, "reading the backend's answer failed"); ce != nil {
				ce.Write(zap.Error(rerr))
			}
		}
		if nr > 0 {
			nw, werr := rw.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return nil
			}
			return rerr
		}
	}
}

// relayBody hands the client's body to the transport, hiding its Close
// (the body is net/http's to close), and cuts it off when the relay ends:
// the standard transport may go on reading it after RoundTrip returned
// (the rest of a body the backend answered early), while the handler goes
// on to count what was read.
type relayBody struct{ rl *relay }

func (b relayBody) Read(p []byte) (int, error) {
	rl := b.rl
	rl.bodyMu.Lock()
	defer rl.bodyMu.Unlock()
	if rl.bodyCut {
		return 0, http.ErrBodyReadAfterClose
	}
	rl.bodyRead = true
	n, err := rl.ctx.st.body.Read(p)
	if err == io.EOF && rl.ctx.st.trailer != nil {
		dropForbiddenTrailers(rl.ctx.st.trailer) // before the transport sends them
	}
	return n, err
}

// errBodySent refuses to send a client's body again once part of it went.
var errBodySent = errors.New("the request's body was sent already")

// resendBody is the request's GetBody for the standard transport: it
// sends a request again on another connection when the one it got closed
// before any of the request was written (guardConn.settle), which it does
// only for a body that can still be sent whole: one not read yet, or one
// held whole (the transport may have read it all into its buffer before
// its first write failed).
func (rl *relay) resendBody() (io.ReadCloser, error) {
	rl.bodyMu.Lock()
	defer rl.bodyMu.Unlock()
	if rl.bodyCut {
		return nil, errBodySent
	}
	if rl.bodyRead {
		if bs := rl.ctx.st.bs; bs == nil || !bs.rewind() {
			return nil, errBodySent
		}
	}
	return relayBody{rl}, nil
}

func (relayBody) Close() error { return nil }

// stopBody cuts the transport off the client's body, after a Read in
// progress (net/http's own Close of the body would wait for it too).
func (rl *relay) stopBody() {
	rl.bodyMu.Lock()
	rl.bodyCut = true
	rl.bodyMu.Unlock()
}

// liftDeadlines lifts the server's deadlines for an answer meant to stay
// open.
func liftDeadlines(st *requestState) {
	rc := http.NewResponseController(&st.w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
}
