package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is an http.RoundTripper for plain-http HTTP/1.1 backends, with
// one connection pool per target (the request URL's host). It is safe for
// concurrent use; make it with New. Targets are expected to be a fixed set:
// a pool, once made, lives as long as the Transport.
type Transport struct {
	opts   Options
	dialer Dialer
	custom bool // the user's Dialer: ConnectTimeout rides on the context

	mu    sync.Mutex // serializes adding pools
	pools atomic.Pointer[map[string]*pool]
	shut  atomic.Bool
	// sweeps counts pending and running idle sweeps, for Close to wait on.
	sweeps sync.WaitGroup

	readers, writers, copyBufs sync.Pool

	dials, dialErrors, reused, retries         atomic.Uint64
	closed, canceled, stale, expired, upgrades atomic.Uint64
	unsolicited                                atomic.Uint64
}

// New returns a Transport with opts (zero fields take their defaults).
func New(opts Options) *Transport {
	opts = opts.withDefaults()
	t := &Transport{opts: opts, dialer: opts.Dialer, custom: opts.Dialer != nil}
	if t.dialer == nil {
		t.dialer = &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	}
	t.copyBufs.New = func() any { b := make([]byte, 32<<10); return &b }
	return t
}

// RoundTrip sends req to req.URL.Host and returns the response head; the
// body streams from the connection. It closes req.Body, also on error.
//
// Before a request's first byte goes out the connection is peeked at: one
// that holds bytes nobody asked for, or that the backend closed, is closed
// unused. A request that fails on a reused connection before any byte of
// the response arrived is sent again once on a new connection: always when
// its body was not touched yet, else when nothing of it was sent and its
// body can be replayed (GetBody), else only when its method is idempotent
// and its body can be replayed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	resp, err := t.roundTrip(req, &body)
	if body != nil {
		body.Close()
	}
	if req.Body != nil && req.Body != body {
		req.Body.Close()
	}
	return resp, err
}

func (t *Transport) roundTrip(req *http.Request, body *io.ReadCloser) (*http.Response, error) {
	var pl plan
	if err := pl.prepare(req, *body); err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := t.poolFor(req.URL.Host)
	for attempt := 0; ; attempt++ {
		c, err := p.get(ctx, attempt > 0, pl.length != 0)
		if err != nil {
			return nil, err
		}
		reused := c.reused
		var pr progress
		resp, err := c.roundTrip(ctx, req, *body, &pl, &pr)
		if err == nil {
			return resp, nil
		}
		if attempt > 0 || !reused || ctx.Err() != nil || !pr.retryable(req) {
			return nil, err
		}
		if pr.bodyStarted {
			nb, gerr := req.GetBody()
			if gerr != nil {
				return nil, err
			}
			if *body != req.Body {
				(*body).Close()
			}
			*body = nb
		}
		t.retries.Add(1)
	}
}

// poolFor returns the pool for host, making it on first use. Lookups take
// no lock.
func (t *Transport) poolFor(host string) *pool {
	if m := t.pools.Load(); m != nil {
		if p := (*m)[host]; p != nil {
			return p
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.pools.Load()
	if old != nil {
		if p := (*old)[host]; p != nil {
			return p
		}
	}
	m := make(map[string]*pool, 1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	p := &pool{t: t, addr: dialAddr(host), closed: t.shut.Load()}
	m[host] = p
	t.pools.Store(&m)
	return p
}

// dialAddr adds port 80 to a host without one.
func dialAddr(host string) string {
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

func (t *Transport) dial(ctx context.Context, addr string) (net.Conn, error) {
	if d := t.opts.ConnectTimeout; d > 0 && t.custom {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, dialError(addr, err)
	}
	return nc, nil
}

// CloseIdleConnections closes the idle connections of every target. Busy
// ones are unaffected and may be pooled again afterwards.
func (t *Transport) CloseIdleConnections() {
	t.eachPool(func(p *pool) { p.closeIdle(false) })
}

// Close closes idle connections and stops pooling: requests in flight
// finish, and their connections are closed after them. A later RoundTrip
// (a request that picked this transport just before a reload retired it)
// is still served, on a connection closed after it. Close waits for idle
// sweeps that are running.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.shut.Store(true)
	t.mu.Unlock()
	t.eachPool(func(p *pool) { p.closeIdle(true) })
	t.sweeps.Wait()
	return nil
}

func (t *Transport) eachPool(f func(*pool)) {
	t.mu.Lock()
	m := t.pools.Load()
	t.mu.Unlock()
	if m == nil {
		return
	}
	for _, p := range *m {
		f(p)
	}
}

// Stats is a snapshot of a Transport's pools and counters.
type Stats struct {
	// Targets holds each target's connections, by request URL host.
	Targets map[string]TargetStats
	// Dials counts connections opened; DialErrors dials that failed.
	Dials, DialErrors uint64
	// Reused counts requests sent on a pooled connection; Retries requests
	// sent again on a new connection after a reused one failed.
	Reused, Retries uint64
	// Closed counts connections the transport closed, for any reason; of
	// those, Canceled were closed because a request's context ended, Stale
	// were found dead or expired when taken from the pool, and Expired were
	// closed by the idle sweep.
	Closed, Canceled, Stale, Expired uint64
	// Upgrades counts connections handed over after 101 Switching Protocols.
	Upgrades uint64
	// Unsolicited counts connections closed because the backend sent bytes
	// nobody asked for: after a response's end, or while idle.
	Unsolicited uint64
}

// TargetStats counts one target's connections.
type TargetStats struct {
	Open    int // idle, busy and dialing
	Idle    int
	Waiting int // requests waiting for a connection under MaxConnsPerTarget
}

// Stats returns the current counts. It locks each pool briefly.
func (t *Transport) Stats() Stats {
	s := Stats{
		Targets:     map[string]TargetStats{},
		Dials:       t.dials.Load(),
		DialErrors:  t.dialErrors.Load(),
		Reused:      t.reused.Load(),
		Retries:     t.retries.Load(),
		Closed:      t.closed.Load(),
		Canceled:    t.canceled.Load(),
		Stale:       t.stale.Load(),
		Expired:     t.expired.Load(),
		Upgrades:    t.upgrades.Load(),
		Unsolicited: t.unsolicited.Load(),
	}
	if m := t.pools.Load(); m != nil {
		for host, p := range *m {
			s.Targets[host] = p.stats()
		}
	}
	return s
}

func (t *Transport) getReader(c *conn) *bufio.Reader {
	if br, ok := t.readers.Get().(*bufio.Reader); ok {
		br.Reset(c)
		return br
	}
	return bufio.NewReaderSize(c, t.opts.ReadBufferSize)
}

func (t *Transport) getWriter(w io.Writer) *bufio.Writer {
	if bw, ok := t.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, t.opts.WriteBufferSize)
}

// putBuffers recycles a closed conn's buffers; c must not be used after.
func (t *Transport) putBuffers(c *conn) {
	if c.br != nil {
		c.br.Reset(nil)
		t.readers.Put(c.br)
		c.br = nil
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		t.writers.Put(c.bw)
		c.bw = nil
	}
}

func (t *Transport) getCopyBuf() *[]byte  { return t.copyBufs.Get().(*[]byte) }
func (t *Transport) putCopyBuf(b *[]byte) { t.copyBufs.Put(b) }

var _ http.RoundTripper = (*Transport)(nil)
