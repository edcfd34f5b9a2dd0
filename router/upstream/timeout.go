package upstream

import (
	"context"
	"net/http"
	"time"
)

type headerTimeoutKey struct{}

// WithResponseHeaderTimeout returns a context whose requests wait d for
// their response head instead of Options.ResponseHeaderTimeout (a route's
// own timeout). d <= 0 leaves the transport's. The router's standard
// transport honours it too.
func WithResponseHeaderTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, headerTimeoutKey{}, d)
}

// ResponseHeaderTimeout returns the override WithResponseHeaderTimeout set
// on ctx; ok is false when there is none.
func ResponseHeaderTimeout(ctx context.Context) (d time.Duration, ok bool) {
	d, ok = ctx.Value(headerTimeoutKey{}).(time.Duration)
	return d, ok && d > 0
}

// headerTimeout is the wait for req's response head: its context's
// override, else Options.ResponseHeaderTimeout.
func (c *conn) headerTimeout(req *http.Request) time.Duration {
	if d, ok := ResponseHeaderTimeout(req.Context()); ok {
		return d
	}
	return c.p.t.opts.ResponseHeaderTimeout
}
