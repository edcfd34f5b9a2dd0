package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// StatusClientClosed is logged (never sent) when the client went away before
// the answer was ready, after nginx's 499.
const StatusClientClosed = 499

// ErrNoTarget means every target of a backend is down, open or already tried.
var ErrNoTarget = errors.New("no healthy target")

// unavailableError is a backend the router can't send to right now.
type unavailableError struct {
	reason     stats.Reason
	retryAfter time.Duration
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: %v", ErrNoTarget, e.reason)
}

func (e *unavailableError) Is(target error) bool { return target == ErrNoTarget }

func (e *unavailableError) RetryAfterSeconds() int { return retryAfterSeconds(e.retryAfter) }

// retryAfterSeconds is d for a Retry-After field: whole seconds, rounded up,
// at least 1.
func retryAfterSeconds(d time.Duration) int { return int(max(wholeSeconds(d), 1)) }

// wholeSeconds is d in whole seconds, rounded up; 0 for none or less.
func wholeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// RetryAfterError carries how long a client should wait before trying again.
type RetryAfterError interface {
	error
	RetryAfterSeconds() int
}

// statusFor maps a forwarding error to the status the client gets. It is the
// only place that decides this.
func statusFor(ctx context.Context, err error) int {
	var maxBytes *http.MaxBytesError
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge
	case errors.Is(ctx.Err(), context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return StatusClientClosed
	case errors.Is(err, ErrNoTarget), errors.As(err, new(RetryAfterError)):
		return http.StatusServiceUnavailable
	case errors.As(err, &op) && op.Op == "dial":
		if op.Timeout() {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// isConnectError reports whether err happened while connecting, so the
// request never reached the backend.
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
