package config

import (
	"fmt"
	"net/url"
	"strings"
)

// backends checks each backend: its targets, balance, breaker and queue.
func (v *validator) backends() {
	c := v.c
	if len(c.Backends) == 0 {
		v.fail("backends", "at least one backend is required")
	}
	for _, name := range c.BackendNames() {
		b := c.Backends[name]
		p := "backends." + name
		if !nameRE.MatchString(name) {
			v.fail(p, "invalid backend name (want [A-Za-z0-9_.-], at most 64)")
		}
		v.targets(p+".targets", b.Targets)
		switch b.Balance {
		case "round_robin", "least_requests", "p2c":
		default:
			v.fail(p+".balance", "unknown policy %q (want round_robin, least_requests or p2c)", b.Balance)
		}
		switch b.Transport {
		case "fast", "standard":
		default:
			v.fail(p+".transport", "unknown transport %q (want fast or standard)", b.Transport)
		}
		v.positive(p+".connect_timeout", b.ConnectTimeout)
		v.positive(p+".response_timeout", b.ResponseTimeout)
		if b.MaxInFlight < 0 {
			v.fail(p+".max_in_flight", "must not be negative")
		}
		if b.Retries < 0 || b.Retries > 10 {
			v.fail(p+".retries", "must be between 0 and 10")
		}
		if b.Queue.MaxLen < 0 {
			v.fail(p+".queue.max_len", "must not be negative")
		}
		if b.Queue.MaxLen > 0 && b.MaxInFlight == 0 {
			v.fail(p+".queue", "needs max_in_flight")
		}
		h := b.Health
		if h.Path != "" {
			if !strings.HasPrefix(h.Path, "/") {
				v.fail(p+".health.path", "must start with /")
			}
			v.positive(p+".health.interval", h.Interval)
			v.positive(p+".health.timeout", h.Timeout)
			if h.Rise < 1 {
				v.fail(p+".health.rise", "must be at least 1")
			}
			if h.Fall < 1 {
				v.fail(p+".health.fall", "must be at least 1")
			}
		} else if h.Critical {
			v.fail(p+".health.critical", "needs health.path")
		}
		br := b.Breaker
		if !br.Disabled {
			if br.ConsecutiveFailures < 0 {
				v.fail(p+".breaker.consecutive_failures", "must not be negative")
			}
			if br.FailureRatio < 0 || br.FailureRatio > 1 {
				v.fail(p+".breaker.failure_ratio", "must be between 0 and 1")
			}
			if br.MinRequests < 1 {
				v.fail(p+".breaker.min_requests", "must be at least 1")
			}
			v.positive(p+".breaker.window", br.Window)
			v.positive(p+".breaker.open_for", br.OpenFor)
			if br.HalfOpenRequests < 1 {
				v.fail(p+".breaker.half_open_requests", "must be at least 1")
			}
		}
	}
}

// wantTarget is what a target looks like, for error messages.
const wantTarget = "(want http://HOST:PORT or https://HOST:PORT)"

// ParseTarget parses a backend target URL: http or https, a host, no query.
func ParseTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		return nil, fmt.Errorf("invalid URL %q %s", s, wantTarget)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: scheme must be http or https %s", s, wantTarget)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("target %q: missing host %s", s, wantTarget)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("target %q: no query, fragment or user info allowed", s)
	}
	return u, nil
}
