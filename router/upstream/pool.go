package upstream

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// pool holds the connections to one target. Its fields are guarded by mu.
type pool struct {
	t    *Transport
	addr string // host:port to dial

	mu      sync.Mutex
	idle    []*conn // oldest first; taken from the end
	open    int     // idle + busy + dialing, counted against MaxConnsPerTarget
	waiters []*waiter
	closed  bool
	// sweep closes expired idle conns; armed means it is pending, and then
	// t.sweeps counts it.
	sweep *time.Timer
	armed bool
}

// waiter is a request waiting for a connection under MaxConnsPerTarget. It
// receives an idle conn, or nil: a slot to dial in.
type waiter struct{ ch chan *conn }

// get returns a conn for one request: the most recently used idle one, else
// a new one, else (at the cap) the first one another request gives up. fresh
// skips idle conns: a retry wants a new connection. check peeks at an idle
// conn first and retires it if the backend closed it or sent something:
// worth a syscall for a request with a body, which is then not read from
// before a usable conn is found. Every request peeks again right before its
// first write (conn.writeFD); a request without a body meets a bad conn
// there, and is retried on a new one.
func (p *pool) get(ctx context.Context, fresh, check bool) (*conn, error) {
	max := p.t.opts.MaxConnsPerTarget
	for {
		p.mu.Lock()
		if fresh && (max == 0 || p.open < max) {
			p.open++
			p.mu.Unlock()
			return p.dial(ctx)
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			if fresh { // at the cap: trade an idle conn's slot for a new one
				p.retire(c)
				return p.dial(ctx)
			}
			if p.expired(c, time.Now()) {
				p.t.stale.Add(1)
				p.discard(c, false)
				continue
			}
			if check {
				if st := c.idleState(); st != sockIdle {
					p.count(st)
					p.discard(c, false)
					continue
				}
			}
			p.t.reused.Add(1)
			return c, nil
		}
		if max == 0 || p.open < max {
			p.open++
			p.mu.Unlock()
			return p.dial(ctx)
		}
		w := &waiter{ch: make(chan *conn, 1)}
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()
		return p.wait(ctx, w, fresh)
	}
}

// wait blocks until w is served or ctx ends.
func (p *pool) wait(ctx context.Context, w *waiter, fresh bool) (*conn, error) {
	select {
	case c := <-w.ch:
		if c == nil {
			return p.dial(ctx)
		}
		if fresh { // keep the slot, trade the conn for a new one
			p.retire(c)
			return p.dial(ctx)
		}
		p.t.reused.Add(1)
		return c, nil
	case <-ctx.Done():
		p.mu.Lock()
		queued := p.dropWaiterLocked(w)
		p.mu.Unlock()
		if !queued { // served meanwhile: pass it on
			if c := <-w.ch; c != nil {
				p.put(c)
			} else {
				p.releaseSlot()
			}
		}
		return nil, fmt.Errorf("upstream: waiting for a connection to %s: %w", p.addr, ctx.Err())
	}
}

// dial opens a conn in a slot already counted in p.open.
func (p *pool) dial(ctx context.Context) (*conn, error) {
	nc, err := p.t.dial(ctx, p.addr)
	if err != nil {
		p.t.dialErrors.Add(1)
		p.releaseSlot()
		return nil, err
	}
	p.t.dials.Add(1)
	return newConn(p, nc), nil
}

// put takes back a conn whose response was read to the end: to the first
// waiter, else idle, else (over MaxIdlePerTarget, closed, or with unasked
// bytes buffered) it is closed.
func (p *pool) put(c *conn) {
	if c.br.Buffered() > 0 { // the backend sent more than it announced
		p.t.unsolicited.Add(1)
		p.discard(c, false)
		return
	}
	c.reused = true
	p.mu.Lock()
	if w := p.popWaiterLocked(); w != nil {
		p.mu.Unlock()
		w.ch <- c
		return
	}
	if p.closed || len(p.idle) >= p.t.opts.MaxIdlePerTarget {
		p.mu.Unlock()
		p.discard(c, false)
		return
	}
	c.idleAt = time.Now()
	p.idle = append(p.idle, c)
	p.armLocked()
	p.mu.Unlock()
}

// count counts a conn found unusable by a peek.
func (p *pool) count(st sockState) {
	if st == sockData {
		p.t.unsolicited.Add(1)
	} else {
		p.t.stale.Add(1)
	}
}

// discard closes c and frees its slot. canceled says the request's context
// ended, for the counters.
func (p *pool) discard(c *conn, canceled bool) {
	if canceled {
		p.t.canceled.Add(1)
	}
	p.retire(c)
	p.releaseSlot()
}

// retire closes c but keeps its slot for the caller.
func (p *pool) retire(c *conn) {
	c.nc.Close()
	p.t.closed.Add(1)
	p.t.putBuffers(c)
}

// detach takes an upgraded conn out of the pool's count; its new owner
// closes it.
func (p *pool) detach() {
	p.t.upgrades.Add(1)
	p.releaseSlot()
}

// releaseSlot gives one slot of p.open to the first waiter, or frees it.
func (p *pool) releaseSlot() {
	p.mu.Lock()
	if w := p.popWaiterLocked(); w != nil {
		p.mu.Unlock()
		w.ch <- nil
		return
	}
	p.open--
	p.mu.Unlock()
}

func (p *pool) popWaiterLocked() *waiter {
	if len(p.waiters) == 0 {
		return nil
	}
	w := p.waiters[0]
	copy(p.waiters, p.waiters[1:])
	p.waiters[len(p.waiters)-1] = nil
	p.waiters = p.waiters[:len(p.waiters)-1]
	return w
}

// dropWaiterLocked removes w from the queue; false means it was served.
func (p *pool) dropWaiterLocked(w *waiter) bool {
	for i, x := range p.waiters {
		if x == w {
			copy(p.waiters[i:], p.waiters[i+1:])
			p.waiters[len(p.waiters)-1] = nil
			p.waiters = p.waiters[:len(p.waiters)-1]
			return true
		}
	}
	return false
}

// expired reports whether idle conn c outlived IdleTimeout at now.
func (p *pool) expired(c *conn, now time.Time) bool {
	d := p.t.opts.IdleTimeout
	return d > 0 && !now.Before(c.idleAt.Add(d))
}

// armLocked schedules the sweep for the oldest idle conn's expiry.
func (p *pool) armLocked() {
	d := p.t.opts.IdleTimeout
	if d <= 0 || p.armed || p.closed || len(p.idle) == 0 {
		return
	}
	wait := time.Until(p.idle[0].idleAt.Add(d))
	p.armed = true
	p.t.sweeps.Add(1)
	if p.sweep == nil {
		p.sweep = time.AfterFunc(wait, p.sweepIdle)
	} else {
		p.sweep.Reset(wait)
	}
}

// disarmLocked cancels a pending sweep.
func (p *pool) disarmLocked() {
	if p.armed && p.sweep.Stop() {
		p.armed = false
		p.t.sweeps.Done()
	}
}

// sweepIdle closes the idle conns that expired and re-arms for the rest.
func (p *pool) sweepIdle() {
	defer p.t.sweeps.Done()
	now := time.Now()
	p.mu.Lock()
	p.armed = false
	n := 0
	for n < len(p.idle) && p.expired(p.idle[n], now) {
		n++
	}
	expired := append([]*conn(nil), p.idle[:n]...)
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	p.armLocked()
	p.mu.Unlock()
	for _, c := range expired {
		p.t.expired.Add(1)
		p.discard(c, false)
	}
}

// closeIdle closes every idle conn; with shut, p also stops pooling.
func (p *pool) closeIdle(shut bool) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if shut {
		p.closed = true
	}
	p.disarmLocked()
	p.mu.Unlock()
	for _, c := range idle {
		p.discard(c, false)
	}
}

// stats returns p's counts.
func (p *pool) stats() TargetStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return TargetStats{Open: p.open, Idle: len(p.idle), Waiting: len(p.waiters)}
}
