package upstream

import (
	"context"
	"errors"
	"net"
	"os"
)

var (
	// ErrClosed is kept for callers that match it; RoundTrip no longer
	// fails after Close.
	ErrClosed = errors.New("upstream: transport closed")
	// ErrUnsupportedScheme is returned for a URL whose scheme is not "http".
	ErrUnsupportedScheme = errors.New("upstream: unsupported URL scheme")
	// ErrHeaderTooLarge means the response heads exceeded
	// Options.MaxResponseHeaderBytes; the connection was closed.
	ErrHeaderTooLarge = errors.New("upstream: response header too large")
	// ErrInvalidRequest wraps a request that can't be written as HTTP/1.1
	// (bad method, header name or value, host or URI).
	ErrInvalidRequest = errors.New("upstream: invalid request")
	// ErrBodyClosed is returned by a read on a response body after Close.
	ErrBodyClosed = errors.New("upstream: read on closed response body")
	// ErrUnsolicited means the backend sent bytes on a connection before it
	// was asked anything: the connection was closed unused. A request that
	// meets it on a reused connection is sent again on a new one when that
	// is safe.
	ErrUnsolicited = errors.New("upstream: backend sent bytes nobody asked for")
	// ErrTooManyInformational means more than maxInformational 1xx heads
	// came before the final response; the connection was closed.
	ErrTooManyInformational = errors.New("upstream: too many 1xx responses")
	// ErrBadStatus means a response's status code was outside 100..599
	// (RFC 9110, section 15); the connection was closed.
	ErrBadStatus = errors.New("upstream: status code outside 100..599")
	// ErrUnaskedUpgrade means a 101 Switching Protocols answered a request
	// that did not ask for an upgrade, or switched to a protocol the request
	// did not offer; the connection was closed.
	ErrUnaskedUpgrade = errors.New("upstream: backend switched protocols unasked")
)

// errClosedIdle: the peek before a request's first write found the
// connection closed. Nothing was sent.
var errClosedIdle = errors.New("upstream: backend closed the idle connection")

// timeoutError is a net.Error whose Timeout() is true, returned when the
// response head did not arrive within ResponseHeaderTimeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// Is lets errors.Is(err, os.ErrDeadlineExceeded) hold, as it does for the
// standard library's timeouts.
func (e *timeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

var errHeaderTimeout net.Error = &timeoutError{"upstream: timeout awaiting response headers"}

// isTimeout reports whether err is a deadline passing on a connection.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// ctxErr returns the context's error when it has ended, else nil.
func ctxErr(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	return ctx.Err()
}

// dialError gives err the shape the router relies on: a *net.OpError with
// Op "dial".
func dialError(addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: stringAddr(addr), Err: err}
}

// stringAddr is a net.Addr for a target that was never resolved.
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
