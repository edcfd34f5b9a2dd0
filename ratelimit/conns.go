package ratelimit

import (
	"net/netip"
	"sync/atomic"

	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
)

// AcquireConn counts a new connection from peer (the socket's) against
// abuse.max_conns_per_client. It returns over when the client is at its
// cap: the connection is to be closed unread, and it was counted as
// too_many_conns. Otherwise, when it returns a slot, the connection was
// counted and slot.Release must be called once it is closed; nil means it
// was not counted (no cap, an allow-listed client, a full table). IPv6
// peers are grouped by client_ip.ipv6_prefix. The cap follows reloads;
// with it at 0 connections are not counted (so raising it from 0 counts
// only later connections).
func (a *Admission) AcquireConn(peer netip.Addr) (slot *ConnSlot, over bool) {
	k, counted, over := a.acquireConn(peer)
	if !counted {
		return nil, over
	}
	return &ConnSlot{a: a, k: k}, over
}

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
	s, e := a.lockRecord(k, t, ab)
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

// ConnSlot is a connection counted by AcquireConn.
type ConnSlot struct {
	a    *Admission
	k    key
	done atomic.Bool
}

// Release gives the connection's slot back; calls after the first do
// nothing. It is safe for concurrent use.
func (r *ConnSlot) Release() {
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
