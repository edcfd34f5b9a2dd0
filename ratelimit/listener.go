package ratelimit

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
)

// Listener wraps l so that no client holds more than
// abuse.max_conns_per_client connections: one over the cap is closed as
// soon as it is accepted, before a byte of it is read, and counted as
// too_many_conns. Peers for which trusted returns true (load balancers,
// proxies that speak for many clients) and allow-listed clients are never
// capped; trusted may be nil. IPv6 peers are grouped by
// client_ip.ipv6_prefix. The cap follows reloads; with it at 0 connections
// are not counted (so raising it from 0 counts only later connections).
//
// The peer is the socket's: wrap the TCP listener itself, under any PROXY
// protocol listener (whose RemoteAddr would wait for the client's header
// in the accept loop); the load balancer speaking PROXY protocol is then a
// trusted peer.
func (a *Admission) Listener(l net.Listener, trusted func(netip.Addr) bool) net.Listener {
	return &listener{Listener: l, a: a, trusted: trusted}
}

type listener struct {
	net.Listener
	a       *Admission
	trusted func(netip.Addr) bool
}

func (l *listener) Accept() (net.Conn, error) {
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
		k, counted, over := l.a.acquireConn(peer)
		if over {
			c.Close()
			continue
		}
		if !counted {
			return c, nil
		}
		release := &connRelease{a: l.a, k: k}
		if tc, ok := c.(*net.TCPConn); ok {
			return &trackedTCPConn{TCPConn: tc, release: release}, nil
		}
		return &trackedConn{Conn: c, release: release}, nil
	}
}

// acquireConn counts a new connection from peer. It returns over when the
// client is at its cap, counted when the connection must be released on
// close.
func (a *Admission) acquireConn(peer netip.Addr) (k key, counted, over bool) {
	st := a.state.Load()
	ab := st.abuse
	if ab.maxConns <= 0 {
		return k, false, false
	}
	k = a.clientKey(peer)
	if ab.lists.lookup(k) == allowed {
		return k, false, false
	}
	t := a.ns(a.now())
	s, h := a.shard(k)
	s.mu.Lock()
	e := s.find(h, k)
	if e == nil {
		e = s.insert(h, k, t, a, ab)
	}
	if e != nil { // else the table is saturated: accept uncounted
		over = int(e.conns) >= ab.maxConns
		if (!over || ab.dryRun) && e.conns < 1<<16-1 {
			e.conns++
			counted = true
		}
	}
	s.mu.Unlock()
	if over {
		msg, lvl := "connection refused", zap.WarnLevel
		if ab.dryRun {
			a.dry[stats.TooManyConns].Add(1)
			msg, lvl = "connection would be refused (dry run)", zap.InfoLevel
		} else {
			a.rec.Rejected(stats.TooManyConns)
		}
		if a.gate.pass(hash64(k, a.seed)|1, uint32(t/1e9)) {
			if ce := a.log.Check(lvl, msg); ce != nil {
				ce.Write(zap.Stringer("client", k.addr()),
					zap.String("reason", stats.TooManyConns.String()), zap.Int("max_conns_per_client", ab.maxConns))
			}
		}
	}
	return k, counted, over && !ab.dryRun
}

// connRelease gives a connection's slot back exactly once.
type connRelease struct {
	a    *Admission
	k    key
	done atomic.Bool
}

func (r *connRelease) release() {
	if r.done.Swap(true) {
		return
	}
	s, h := r.a.shard(r.k)
	s.mu.Lock()
	if e := s.find(h, r.k); e != nil && e.conns > 0 {
		e.conns--
	}
	s.mu.Unlock()
}

// trackedTCPConn keeps every *net.TCPConn method (ReadFrom for sendfile,
// CloseWrite, keep-alive settings) visible to net/http.
type trackedTCPConn struct {
	*net.TCPConn
	release *connRelease
}

func (c *trackedTCPConn) Close() error {
	err := c.TCPConn.Close()
	c.release.release()
	return err
}

// NetConn returns the underlying connection.
func (c *trackedTCPConn) NetConn() net.Conn { return c.TCPConn }

type trackedConn struct {
	net.Conn
	release *connRelease
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.release.release()
	return err
}

// NetConn returns the underlying connection.
func (c *trackedConn) NetConn() net.Conn { return c.Conn }
