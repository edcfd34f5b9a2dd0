package front

// A drain closes at once the connections that have handed net/http
// nothing (half a head, a slowloris's; one whose requests the front
// refused): net/http's Shutdown would wait up to 5 s for each to be idle.

// Close stops accepting and closes the connections that have handed
// net/http nothing: no request of theirs can be lost, and a drain need not
// wait for them.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	fresh := l.fresh
	l.fresh = nil
	l.mu.Unlock()
	for c := range fresh {
		if c.state.CompareAndSwap(connFresh, connShut) {
			c.Conn.Close()
		}
	}
	return err
}

// forget drops c from the fresh connections.
func (l *Listener) forget(c *conn) {
	l.mu.Lock()
	delete(l.fresh, c) // a no-op once closed
	l.mu.Unlock()
}

// A connection's state for its listener's Close.
const (
	connFresh   = iota // nothing handed to net/http yet
	connStarted        // net/http has bytes of it: Close leaves it to net/http
	connShut           // closed by Close: it hands nothing more
)

// handing reports whether the connection may hand net/http bytes. The
// first time it marks the connection started, unless its listener's Close
// came first.
func (c *conn) handing() bool {
	if c.started || c.ls == nil {
		return true
	}
	if !c.state.CompareAndSwap(connFresh, connStarted) {
		return false
	}
	c.started = true
	c.ls.forget(c)
	return true
}

// Close closes the connection; its listener forgets it.
func (c *conn) Close() error {
	if c.ls != nil {
		c.ls.forget(c)
	}
	return c.Conn.Close()
}
