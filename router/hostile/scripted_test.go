package hostile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// seenReq is one request the scripted backend read, as it read it.
type seenReq struct {
	conn   int    // which of the backend's connections (from 1)
	head   string // the raw head, through its blank line
	method string
	target string
	header http.Header
	body   string
	err    string // why the head or the body could not be read whole; "" when it was

	trailer []string // trailer lines of a chunked body
	chunked bool     // the body is chunked
	length  int64    // else its Content-Length
}

// key is how cases name a request the backend sees: "METHOD target", and
// " body" when it has one.
func (r *seenReq) key() string {
	k := r.method + " " + r.target
	if r.body != "" {
		k += " " + r.body
	}
	return k
}

// script answers a request of the hostile client (its target holds the
// case's marker). It writes whatever it likes to c and reports whether the
// backend should read the next request of the connection.
type script func(c *bconn, r *seenReq) bool

// bconn is one connection of the scripted backend, as a script sees it.
type bconn struct {
	net.Conn
	b    *scriptedBackend
	br   *bufio.Reader
	m    markers
	stop <-chan struct{}
}

// pause waits d, or less when the backend is closing; it reports whether
// the whole time passed.
func (c *bconn) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// send writes s, its markers filled, and reports whether all of it went
// out.
func (c *bconn) send(s string) bool {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c, c.m.fill(s))
	return err == nil
}

// quietFor waits up to d for the router's next move on the connection:
// quiet when it sends nothing, closed when it closes it.
func (c *bconn) quietFor(d time.Duration) (quiet, closed bool) {
	if c.br.Buffered() > 0 {
		return false, false
	}
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil && !isTimeout(err) {
		return false, true
	}
	return isTimeout(err), false
}

// note records a problem the script found.
func (c *bconn) note(p string) {
	c.b.mu.Lock()
	c.b.problems = append(c.b.problems, p)
	c.b.mu.Unlock()
}

// readBody reads r's body, for a script that answers before it does.
func (c *bconn) readBody(r *seenReq) bool {
	readBody(c.br, r)
	return r.err == ""
}

// drip writes s a piece of n bytes at a time, pausing d between pieces.
func (c *bconn) drip(s string, n int, d time.Duration) bool {
	for len(s) > 0 {
		k := min(n, len(s))
		if !c.send(s[:k]) || !c.pause(d) {
			return false
		}
		s = s[k:]
	}
	return true
}

// scriptedBackend is a raw TCP backend. It parses every request it gets
// strictly, logs it, and answers it with echo, or with its script when the
// request's target holds the hostile marker.
type scriptedBackend struct {
	ln     net.Listener
	m      markers
	script script
	// early: the script runs before the request's body is read, and
	// reads it itself (readBody) if it wants to.
	early bool

	mu       sync.Mutex
	reqs     []seenReq
	problems []string // what scripts noted
	conns    map[net.Conn]struct{}
	nconn    int

	running atomic.Int64 // scripts in progress
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newScriptedBackend(t testing.TB, m markers, s script) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", loopbackHost()+":0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scriptedBackend{ln: ln, m: m, script: s,
		conns: map[net.Conn]struct{}{}, stop: make(chan struct{})}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.close)
	return b
}

func (b *scriptedBackend) url() string { return "http://" + b.ln.Addr().String() }

func (b *scriptedBackend) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		select {
		case <-b.stop:
			b.mu.Unlock()
			c.Close()
			return
		default:
		}
		b.nconn++
		n := b.nconn
		b.conns[c] = struct{}{}
		b.wg.Add(1)
		b.mu.Unlock()
		go b.serve(c, n)
	}
}

// close stops the backend and waits for its goroutines.
func (b *scriptedBackend) close() {
	b.mu.Lock()
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.ln.Close()
	b.wg.Wait()
}

func (b *scriptedBackend) serve(c net.Conn, n int) {
	defer b.wg.Done()
	defer func() {
		c.Close()
		b.mu.Lock()
		delete(b.conns, c)
		b.mu.Unlock()
	}()
	bc := &bconn{Conn: c, b: b, br: bufio.NewReaderSize(c, 64<<10), m: b.m, stop: b.stop}
	for {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		r, ok := readHead(bc.br)
		if !ok {
			return // closed between requests
		}
		r.conn = n
		scripted := r.err == "" && b.script != nil && strings.Contains(r.target, b.m.H) && !strings.Contains(r.target, "/probe")
		if scripted && b.early {
			b.log(r)
			b.running.Add(1)
			more := b.script(bc, &r)
			b.running.Add(-1)
			if !more {
				return
			}
			continue
		}
		if r.err == "" {
			readBody(bc.br, &r)
		}
		b.log(r)
		if r.err != "" {
			return
		}
		if scripted {
			b.running.Add(1)
			more := b.script(bc, &r)
			b.running.Add(-1)
			if !more {
				return
			}
			continue
		}
		if !bc.send(echo(&r)) {
			return
		}
	}
}

func (b *scriptedBackend) log(r seenReq) {
	b.mu.Lock()
	b.reqs = append(b.reqs, r)
	b.mu.Unlock()
}

// echo is the well-formed answer to r: its key, so a client can tell its
// own answer from anyone else's.
func echo(r *seenReq) string {
	body := "ok " + r.key()
	s := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n"
	if r.method == http.MethodHead {
		return s
	}
	return s + body
}

// reset clears the log (the fuzz target's backend serves many
// iterations).
func (b *scriptedBackend) reset() {
	b.mu.Lock()
	b.reqs, b.problems = nil, nil
	b.mu.Unlock()
}

// saw reports whether the backend has read a request for target.
func (b *scriptedBackend) saw(target string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.reqs {
		if r.target == target {
			return true
		}
	}
	return false
}

// notes returns what the scripts noted.
func (b *scriptedBackend) notes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// requests returns a copy of the log.
func (b *scriptedBackend) requests() []seenReq {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]seenReq(nil), b.reqs...)
}

func (b *scriptedBackend) connCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nconn
}

// idle waits until no script is running, for at most limit.
func (b *scriptedBackend) idle(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for b.running.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// maxSeenBody bounds what the backend reads of one body.
const maxSeenBody = 1 << 20

// readHead reads one request head from br. ok is false when the
// connection ended cleanly before a request began. A head that cannot be
// read whole, or is not clean, is returned with err set.
func readHead(br *bufio.Reader) (r seenReq, ok bool) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err == bufio.ErrBufferFull {
			if len(head) > 1<<20 {
				r.head, r.err = string(head), "head too long"
				return r, true
			}
			continue
		}
		if err != nil {
			if len(head) == 0 {
				return r, false
			}
			r.head, r.err = string(head), "head cut off: "+err.Error()
			r.method, r.target = requestLine(head)
			return r, true
		}
		if string(line) == "\r\n" || string(line) == "\n" {
			if len(head) > len(line) {
				break
			}
			head = head[:0] // a stray blank line before a request is allowed
		}
	}
	r.head = string(head)
	r.method, r.target = requestLine(head)
	if err := headHygiene(head); err != nil {
		r.err = "unclean head: " + err.Error()
		return r, true
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		r.err = "head: " + err.Error()
		return r, true
	}
	r.header = req.Header
	r.chunked = len(req.TransferEncoding) > 0
	r.length = req.ContentLength
	return r, true
}

// readBody reads the body r's head announces into r.
func readBody(br *bufio.Reader, r *seenReq) {
	var body io.Reader
	switch {
	case r.chunked:
		body = httputil.NewChunkedReader(br)
	case r.length > 0:
		body = io.LimitReader(br, r.length)
	default:
		return
	}
	b, err := io.ReadAll(io.LimitReader(body, maxSeenBody))
	r.body = string(b)
	if err == nil && !r.chunked && int64(len(b)) < r.length {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && r.chunked {
		err = readTrailers(br, r)
	}
	if err != nil {
		r.err = "body: " + err.Error()
	}
}

// readTrailers reads the trailer section after a chunked body through
// its blank line, checking its lines as headHygiene does.
func readTrailers(br *bufio.Reader, r *seenReq) error {
	for n := 0; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
		if !strings.HasSuffix(line, "\r\n") || strings.ContainsAny(strings.TrimSuffix(line, "\r\n"), "\r\n\x00") ||
			line[0] == ' ' || line[0] == '\t' || !strings.Contains(line, ":") || n > 100 {
			return fmt.Errorf("unclean trailer line %q", line)
		}
		r.trailer = append(r.trailer, strings.TrimSuffix(line, "\r\n"))
	}
}

// requestLine returns the method and target of a head's first line.
func requestLine(head []byte) (method, target string) {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) > 0 {
		method = f[0]
	}
	if len(f) > 1 {
		target = f[1]
	}
	return method, target
}

// headHygiene checks a head the router sent: lines end in CRLF, no control
// bytes but tab, no folded lines, one Host, no Content-Length beside
// Transfer-Encoding and no two lengths.
func headHygiene(head []byte) error {
	lines := strings.SplitAfter(string(head), "\n")
	var hosts, lengths, codings int
	for i, l := range lines {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\r\n") {
			return fmt.Errorf("line %d does not end in CRLF: %q", i, l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		for _, c := range []byte(l) {
			if c < ' ' && c != '\t' || c == 0x7f {
				return fmt.Errorf("line %d holds control byte %#x: %q", i, c, l)
			}
		}
		if i == 0 || l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			return fmt.Errorf("line %d is folded: %q", i, l)
		}
		name, _, found := strings.Cut(l, ":")
		if !found || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("line %d is no field: %q", i, l)
		}
		switch strings.ToLower(name) {
		case "host":
			hosts++
		case "content-length":
			lengths++
		case "transfer-encoding":
			codings++
		}
	}
	switch {
	case hosts != 1:
		return fmt.Errorf("%d Host fields", hosts)
	case lengths > 1:
		return errors.New("two Content-Length fields")
	case lengths > 0 && codings > 0:
		return errors.New("Content-Length beside Transfer-Encoding")
	case codings > 1:
		return errors.New("two Transfer-Encoding fields")
	}
	return nil
}
