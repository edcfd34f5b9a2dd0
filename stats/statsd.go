package stats

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cactus/go-statsd-client/v5/statsd"
)

// Statsd defaults.
const (
	DefaultPrefix        = "bulwark"
	DefaultFlushInterval = 100 * time.Millisecond
)

// statsdSink writes the statsd names the README lists (Observability)
// through one non-blocking buffered sender. Requests, the hot path, format their timer lines straight
// into a stack buffer, one message per request. Counters are summed by the
// Stats and appended by the sender's flush hook once per flush interval, as
// PREFIX.NAME:N|c. Rare events go at once through a cactus statsd client
// sharing the same sender. It is immutable once built, safe for concurrent
// use, and replaced whole when the address, prefix or flush interval change.
type statsdSink struct {
	cfg    StatsdOptions // as given, to detect changes
	prefix string
	send   *sender
	client statsd.Statter
}

// newStatsdSink starts the sink's sender. counters, called from the sender's
// flushing goroutine at each flush and once on close, appends the counter
// lines under prefix (see sender.counters); it may be nil.
func newStatsdSink(cfg StatsdOptions, counters func(b []byte, prefix string) []byte, dropped func(int), failing func(error, int)) (*statsdSink, error) {
	prefix := statsdPrefix(cfg.Prefix)
	interval := cfg.FlushInterval
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	if err := checkStatsdAddress(cfg.Address); err != nil {
		return nil, err
	}
	addr := cfg.Address
	dial := func() (packetConn, error) {
		// The dialer's timeout covers resolving the name too.
		c, err := (&net.Dialer{Timeout: dialTimeout}).Dial("udp", addr)
		if err != nil {
			return nil, err
		}
		return c.(*net.UDPConn), nil
	}
	var hook func([]byte) []byte
	if counters != nil {
		hook = func(b []byte) []byte { return counters(b, prefix) }
	}
	snd := newSender(dial, interval, dropped, failing, hook, packetBytes(addr))
	client, err := statsd.NewClientWithSender(snd, prefix, 0)
	if err != nil {
		snd.Close()
		return nil, fmt.Errorf("stats: statsd client: %w", err)
	}
	return &statsdSink{cfg: cfg, prefix: prefix, send: snd, client: client}, nil
}

// packetBytes is the largest packet to build for a statsd at addr:
// loopbackFlushBytes for a loopback address or localhost, else flushBytes.
func packetBytes(addr string) int {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return flushBytes
	}
	if host == "localhost" {
		return loopbackFlushBytes
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return loopbackFlushBytes
	}
	return flushBytes
}

// dialTimeout bounds resolving and dialing the statsd address.
const dialTimeout = 2 * time.Second

// checkStatsdAddress accepts host:port with a numeric port. The host is
// resolved later, off the request path, so a name that does not resolve yet
// is not an error.
func checkStatsdAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("stats: statsd address %q: %w", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("stats: statsd address %q: port must be a number from 1 to 65535", addr)
	}
	return nil
}

// statsdPrefix makes every dot-separated segment of p safe, dropping empty
// ones; empty means DefaultPrefix. Config prefixes are already safe.
func statsdPrefix(p string) string {
	var segs []string
	for seg := range strings.SplitSeq(p, ".") {
		if seg != "" {
			segs = append(segs, statsdSegment(seg))
		}
	}
	if len(segs) == 0 {
		return DefaultPrefix
	}
	return strings.Join(segs, ".")
}

func (k *statsdSink) close() error { return k.send.Close() }

// inc counts one event under PREFIX.name. Errors are the sender's to count.
func (k *statsdSink) inc(name string) { _ = k.client.Inc(name, 1, 1) }

// timers writes a request's timer lines as one message:
//
//	PREFIX.response_time:MS|ms
//	PREFIX.backend.NAME.latency:MS|ms (when the backend was asked)
//
// Its counters are the Stats' to sum.
func (k *statsdSink) timers(r *Request, p *pair) {
	var arr [512]byte
	b := arr[:0]
	b = append(b, k.prefix...)
	b = append(b, ".response_time:"...)
	b = appendMillis(b, r.Duration)
	b = append(b, "|ms"...)
	if p.sdBackend != "" && r.BackendLatency > 0 {
		b = append(b, '\n')
		b = append(b, k.prefix...)
		b = append(b, ".backend."...)
		b = append(b, p.sdBackend...)
		b = append(b, ".latency:"...)
		b = appendMillis(b, r.BackendLatency)
		b = append(b, "|ms"...)
	}
	_, _ = k.send.Send(b)
}

// appendMillis appends d in milliseconds with microsecond precision and no
// trailing zeros: 12.5, 0.042, 3. Negative durations count as 0.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}
