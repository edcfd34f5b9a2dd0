// Package upstream is an HTTP/1.1 client for plain-http backends, built for a
// reverse proxy. Its Transport implements http.RoundTripper, so it drops in
// where an *http.Transport serves httputil.ReverseProxy today.
//
// Unlike http.Transport it starts no goroutine per connection and hands
// nothing over channels: the calling goroutine writes the request and reads
// the response head itself, on a pooled keep-alive connection with its own
// buffered reader and writer. The response body gives the connection back to
// the pool when it has been read to the end; a body closed early, a response
// that says "Connection: close", a canceled request or any error closes the
// connection instead.
//
// It speaks HTTP/1.1 over plain TCP only: no TLS, no HTTP/2, no proxy from
// the environment, no transparent compression. It is not full duplex: the
// response head is read once the request body has been written, so a backend
// that answers early (a 413 before reading an upload) is heard when it
// closes or stops reading, or when the body ends. A request with
// "Expect: 100-continue" avoids sending such a body at all.
package upstream

import (
	"context"
	"net"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultConnectTimeout         = 2 * time.Second
	DefaultResponseHeaderTimeout  = 30 * time.Second
	DefaultIdleTimeout            = 90 * time.Second
	DefaultExpectContinueTimeout  = time.Second
	DefaultMaxIdlePerTarget       = 256
	DefaultMaxResponseHeaderBytes = 1 << 20
	DefaultBufferSize             = 16 << 10
)

// Dialer opens connections to targets. *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Options configure a Transport. Every zero field takes the default named
// next to it; none of them means "unlimited" except MaxConnsPerTarget.
type Options struct {
	// ConnectTimeout bounds one dial. Zero means DefaultConnectTimeout (2s);
	// negative means only the request's context bounds it.
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response head once the
	// request has been written. Zero means DefaultResponseHeaderTimeout (30s);
	// negative means only the request's context bounds it. When it passes the
	// error's Timeout() is true.
	ResponseHeaderTimeout time.Duration
	// IdleTimeout closes a pooled connection nobody used for this long. Zero
	// means DefaultIdleTimeout (90s); negative means never.
	IdleTimeout time.Duration
	// ExpectContinueTimeout is how long a request with "Expect: 100-continue"
	// waits for the backend's answer before it sends its body anyway. Zero
	// means DefaultExpectContinueTimeout (1s).
	ExpectContinueTimeout time.Duration
	// MaxIdlePerTarget caps the idle connections kept per target. Zero means
	// DefaultMaxIdlePerTarget (256); negative keeps none (no keep-alive).
	MaxIdlePerTarget int
	// MaxConnsPerTarget caps the connections open to one target, idle, busy
	// or dialing. A request that finds the cap reached waits for a
	// connection, for as long as its context allows. Zero means no cap.
	// Upgraded connections (101 Switching Protocols) leave the pool and stop
	// counting.
	MaxConnsPerTarget int
	// MaxResponseHeaderBytes caps the bytes of response heads (1xx heads
	// included) read for one request. Zero means
	// DefaultMaxResponseHeaderBytes (1 MiB).
	MaxResponseHeaderBytes int64
	// ReadBufferSize and WriteBufferSize size each connection's buffers.
	// Zero means DefaultBufferSize (16 KiB).
	ReadBufferSize, WriteBufferSize int
	// Dialer opens connections. Nil means a net.Dialer with TCP keep-alive;
	// ConnectTimeout applies to either. Dial errors are returned as
	// *net.OpError with Op "dial". Before a request, a connection is checked
	// for bytes the backend sent unasked: a socket by a peek, a conn that
	// wraps one and says so with NetConn (a *tls.Conn) through the wrapper,
	// and any other only for bytes already buffered.
	Dialer Dialer
}

// withDefaults returns o with every zero field replaced by its default and
// every negative "none" mapped to zero.
func (o Options) withDefaults() Options {
	o.ConnectTimeout = durationOr(o.ConnectTimeout, DefaultConnectTimeout)
	o.ResponseHeaderTimeout = durationOr(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	o.IdleTimeout = durationOr(o.IdleTimeout, DefaultIdleTimeout)
	if o.ExpectContinueTimeout <= 0 {
		o.ExpectContinueTimeout = DefaultExpectContinueTimeout
	}
	switch {
	case o.MaxIdlePerTarget == 0:
		o.MaxIdlePerTarget = DefaultMaxIdlePerTarget
	case o.MaxIdlePerTarget < 0:
		o.MaxIdlePerTarget = 0
	}
	if o.MaxConnsPerTarget < 0 {
		o.MaxConnsPerTarget = 0
	}
	if o.MaxResponseHeaderBytes <= 0 {
		o.MaxResponseHeaderBytes = DefaultMaxResponseHeaderBytes
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = DefaultBufferSize
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = DefaultBufferSize
	}
	return o
}

// durationOr maps zero to def and negative to zero ("none").
func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
