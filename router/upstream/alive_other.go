//go:build !unix

package upstream

// alive reports whether an idle conn can carry a request. Without a
// non-blocking peek only unasked buffered bytes give a stale conn away; the
// retry of a request that failed on a reused conn covers the rest.
func (c *conn) alive() bool { return c.br.Buffered() == 0 }

func (c *conn) peekFD(uintptr) bool { return true }
