package front

import (
	"os"
	"syscall"
	"time"

	"github.com/bulwark-router/bulwark/internal/rawio"
)

// badRequestAnswer is net/http's answer to a request line it refuses.
var badRequestAnswer = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\n\r\n400 Bad Request")

// badRequest answers a request line whose version net/http does not serve
// (headBad) with net/http's 400, at once rather than once the head is in,
// and ends the exchange: net/http reads EOF and closes the connection.
func (c *conn) badRequest(fd int) {
	if c.to.Write > 0 {
		c.setWriteDeadline(time.Now().Add(c.to.Write))
	}
	c.queueAnswer(fd, badRequestAnswer)
	c.done = true
}

// Write is net/http's: on a raw socket it sends with rawio.Write inside one
// RawConn.Write, which waits on the poller while the socket's buffer is
// full and keeps the write deadline, without the file layer of write(2).
func (c *conn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.Conn.Write(p)
	}
	c.wp, c.wn, c.werrno = p, 0, 0
	err := c.rc.Write(c.writeFn)
	n, errno := c.wn, c.werrno
	c.wp = nil
	switch {
	case errno != 0:
		err = os.NewSyscallError("write", errno)
	case err == nil:
		return n, nil
	}
	return n, rawio.OpError("write", c.Conn, err)
}

// writeFD is Write's RawConn.Write callback: false asks the poller to wait
// until the socket can take more.
func (c *conn) writeFD(fd uintptr) bool {
	m, e := rawio.WriteAll(int(fd), c.wp[c.wn:])
	c.wn += m
	if e == syscall.EAGAIN {
		return false
	}
	c.werrno = e
	return true
}

// queueAnswer queues an answer behind those not yet written, writing them
// first when it does not fit.
func (c *conn) queueAnswer(fd int, b []byte) error {
	if c.outN+len(b) > bufSize {
		if err := c.flushOut(fd); err != nil {
			return err
		}
		if len(b) > bufSize {
			return c.write(fd, b)
		}
	}
	if c.out == nil {
		c.out = bufs.Get().(*[bufSize]byte)
	}
	c.outN += copy(c.out[c.outN:], b)
	return nil
}

// answerRoom returns where the next answer goes: the end of the queued
// ones, with room for AnswerRoom bytes, written first when there is less.
// The Decider appends the answer in place, so a pipelined batch's answers
// are queued without a copy and go out in one write.
func (c *conn) answerRoom(fd int) ([]byte, error) {
	if bufSize-c.outN < AnswerRoom {
		if err := c.flushOut(fd); err != nil {
			return nil, err
		}
	}
	if c.out == nil {
		c.out = bufs.Get().(*[bufSize]byte)
	}
	return c.out[c.outN:c.outN], nil
}

// appendedTo reports whether answer is dst with bytes appended in place
// (rather than a copy append made, or bytes of the Decider's own).
func appendedTo(answer, dst []byte) bool {
	return len(answer) <= cap(dst) && (len(answer) == 0 || &answer[0] == &dst[:1][0])
}

// releaseOut gives the answers' buffer back when none is queued.
func (c *conn) releaseOut() {
	if c.out != nil && c.outN == 0 {
		bufs.Put(c.out)
		c.out = nil
	}
}

// flushOut writes the queued answers. After an error the front is done
// with the connection.
func (c *conn) flushOut(fd int) error {
	if c.outN == 0 {
		return nil
	}
	err := c.write(fd, c.out[:c.outN])
	c.outN = 0
	bufs.Put(c.out)
	c.out = nil
	if err != nil {
		c.done = true
	}
	return err
}

// write writes b to the connection: on a raw socket first with
// non-blocking writes of fd, the rest (if the socket's buffer was full)
// through the connection's Write.
func (c *conn) write(fd int, b []byte) error {
	if c.test != nil {
		c.test.writes++
	}
	if fd >= 0 {
		n, errno := rawio.WriteAll(fd, b)
		switch errno {
		case 0:
			return nil
		case syscall.EAGAIN:
		default:
			return os.NewSyscallError("write", errno)
		}
		b = b[n:]
		if c.test != nil {
			c.test.queued++
		}
	}
	_, err := c.Conn.Write(b)
	return err
}
