package front

import "time"

// The deadlines the front sets while it reads on net/http's behalf.

// probed reports whether the deadline that passed bounded a wait started
// without a read (see probeEvery) rather than the idle timeout. Then it
// sets the idle deadline again, and the caller reads before it waits.
func (c *conn) probed() bool {
	if c.probeAt.IsZero() || !c.rdl.Equal(c.probeAt) {
		return false
	}
	c.probeAt = time.Time{}
	idleUntil := c.answeredAt.Add(c.to.Idle)
	if !time.Now().Before(idleUntil) {
		return false
	}
	c.setReadDeadline(idleUntil, false)
	return true
}

// setReadDeadline sets the read deadline to d, or when lazy is true leaves
// one the front set up to deadlineSlack earlier than d.
func (c *conn) setReadDeadline(d time.Time, lazy bool) {
	if c.rdl.Equal(d) || lazy && !c.rdl.IsZero() && !c.rdl.After(d) && d.Sub(c.rdl) < deadlineSlack {
		return
	}
	c.rdl = d
	c.Conn.SetReadDeadline(d)
}

// leave undoes the front's deadlines before net/http reads a request. The
// write deadline becomes none when net/http sets none. With whole true (a
// complete head is handed over) the read deadline becomes what net/http
// sets for a whole request, as it sets its own only when its header and
// request timeouts differ; otherwise a head in progress keeps its header
// deadline.
func (c *conn) leave(whole bool) {
	if whole && !c.rdl.IsZero() {
		var d time.Time
		if c.to.Read > 0 {
			d = time.Now().Add(c.to.Read)
		}
		c.Conn.SetReadDeadline(d)
	}
	if !c.wdl.IsZero() && c.to.Write <= 0 {
		c.Conn.SetWriteDeadline(time.Time{})
	}
	c.rdl, c.wdl = time.Time{}, time.Time{}
}

func (c *conn) setWriteDeadline(d time.Time) {
	if !c.wdl.IsZero() && d.Sub(c.wdl) < deadlineSlack {
		return
	}
	c.wdl = d
	c.Conn.SetWriteDeadline(d)
}
