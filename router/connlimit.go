package router

import (
	"net"
	"net/netip"

	"github.com/bulwark-router/bulwark/ratelimit"
)

// ConnCapListener wraps l so that no client holds more than
// abuse.max_conns_per_client connections (adm.AcquireConn): one over the
// cap is closed as soon as it is accepted, before a byte of it is read.
// Peers for which trusted returns true (load balancers, proxies that speak
// for many clients) are never capped; trusted may be nil.
//
// The peer is the socket's: wrap the TCP listener itself, under any PROXY
// protocol listener (whose RemoteAddr would wait for the client's header
// in the accept loop); the load balancer speaking PROXY protocol is then a
// trusted peer.
func ConnCapListener(l net.Listener, adm *ratelimit.Admission, trusted func(netip.Addr) bool) net.Listener {
	return &capListener{Listener: l, adm: adm, trusted: trusted}
}

type capListener struct {
	net.Listener
	adm     *ratelimit.Admission
	trusted func(netip.Addr) bool
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, ok := c.RemoteAddr().(*net.TCPAddr)
		if !ok {
			return c, nil
		}
		peer := ap.AddrPort().Addr().Unmap()
		if l.trusted != nil && l.trusted(peer) {
			return c, nil
		}
		slot, over := l.adm.AcquireConn(peer)
		if over {
			c.Close()
			continue
		}
		if slot == nil {
			return c, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			return &countedTCPConn{TCPConn: tc, slot: slot}, nil
		}
		return &countedConn{Conn: c, slot: slot}, nil
	}
}

// countedTCPConn keeps every *net.TCPConn method (ReadFrom for sendfile,
// CloseWrite, keep-alive settings) visible to net/http.
type countedTCPConn struct {
	*net.TCPConn
	slot *ratelimit.ConnSlot
}

func (c *countedTCPConn) Close() error {
	err := c.TCPConn.Close()
	c.slot.Release()
	return err
}

// NetConn returns the underlying connection.
func (c *countedTCPConn) NetConn() net.Conn { return c.TCPConn }

type countedConn struct {
	net.Conn
	slot *ratelimit.ConnSlot
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.slot.Release()
	return err
}

// NetConn returns the underlying connection.
func (c *countedConn) NetConn() net.Conn { return c.Conn }
