package clientip

import (
	"errors"
	"net"
	"net/netip"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// DefaultProxyHeaderTimeout bounds the wait for a PROXY header when
// ProxyListener is given no timeout.
const DefaultProxyHeaderTimeout = 10 * time.Second

// ErrProxyHeaderAddress is the error a connection's first read returns when
// a trusted peer's PROXY header carries no usable TCP source address (a
// Unix socket, UDP, or a PROXY command with no address).
var ErrProxyHeaderAddress = errors.New("clientip: PROXY header has no TCP source address")

// ProxyListener wraps l so that connections may start with a PROXY
// protocol v1 or v2 header (listen_proxy_protocol), on these terms:
//
//   - from a trusted peer (e.Trusted), a header is used when present: the
//     connection's RemoteAddr becomes the header's source address. A
//     connection without one is served as it is (its peer is the client),
//     so load-balancer health checks without a header still work. A LOCAL
//     header keeps the socket peer;
//   - from any other peer, a header is refused: the first read fails, so
//     net/http answers 400 and closes the connection before any handler
//     runs, and the peer cannot pass itself off as someone else. Plain
//     traffic from such a peer is served normally.
//
// A trusted peer's header whose source is not a TCP address is refused the
// same way (ErrProxyHeaderAddress). Each connection waits at most
// readHeaderTimeout (DefaultProxyHeaderTimeout when not positive) for the
// header; the wait happens in the connection's own goroutine on its first
// read, never in Accept.
//
// The returned listener's Accept never fails because of one peer, so
// http.Server.Serve keeps running.
func ProxyListener(l net.Listener, e *Extractor, readHeaderTimeout time.Duration) net.Listener {
	if readHeaderTimeout <= 0 {
		readHeaderTimeout = DefaultProxyHeaderTimeout
	}
	return &proxyproto.Listener{
		Listener:          l,
		ConnPolicy:        e.proxyPolicy,
		ValidateHeader:    validateProxyHeader,
		ReadHeaderTimeout: readHeaderTimeout,
	}
}

// proxyPolicy never returns an error: the library's Accept would hand it to
// http.Server.Serve, which would stop serving.
func (e *Extractor) proxyPolicy(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
	if peer, ok := netAddr(o.Upstream); ok && e.Trusted(peer) {
		return proxyproto.USE, nil
	}
	return proxyproto.REJECT, nil
}

func validateProxyHeader(h *proxyproto.Header) error {
	if h.Command.IsLocal() {
		return nil
	}
	src, _, ok := h.TCPAddrs()
	if !ok || src == nil {
		return ErrProxyHeaderAddress
	}
	if _, ok := netip.AddrFromSlice(src.IP); !ok {
		return ErrProxyHeaderAddress
	}
	return nil
}

// netAddr returns the IP address of a socket address.
func netAddr(a net.Addr) (netip.Addr, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return normalize(ip), ok
	case nil:
		return netip.Addr{}, false
	}
	return ParsePeer(a.String())
}
