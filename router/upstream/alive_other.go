//go:build !unix

package upstream

type sockState uint8

const (
	sockIdle sockState = iota
	sockData
	sockClosed
)

// idleState reports whether an idle conn can carry a request. Without a
// non-blocking peek only unasked buffered bytes give a bad conn away; the
// retry of a request that failed on a reused conn covers closed ones.
func (c *conn) idleState() sockState {
	if c.br.Buffered() > 0 {
		return sockData
	}
	return sockIdle
}

func (c *conn) peekFD(uintptr) bool    { return true }
func (c *conn) peek(uintptr) sockState { return sockIdle }
