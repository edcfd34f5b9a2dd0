package front

import (
	"bufio"
	"errors"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection: the client's and
// the accepted one.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// awaitReadable spends the poller's notice that c is readable, without
// reading, so that the front's first read finds it spent (as it is when
// the poller woke the connection's reader). RawConn.Read drops a notice
// already delivered and waits for one still to come; the deadline ends the
// wait in the first case.
func awaitReadable(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	waited := false
	err = rc.Read(func(uintptr) bool {
		if waited {
			return true
		}
		waited = true
		return false
	})
	if ne, ok := err.(net.Error); err != nil && !(ok && ne.Timeout()) {
		t.Fatal(err)
	}
}

// refuser is the Decider of these tests: it turns away every request for
// a path under /limited/ with the router's 429, as the router does once the
// client's one token is spent.
type refuser struct{}

func (refuser) ForwardedField() string { return "X-Forwarded-For" }

func (refuser) Refuse(h *Head, _ netip.Addr, dst []byte) (Refusal, bool) {
	if !strings.HasPrefix(h.Path(), "/limited/") {
		return Refusal{}, false
	}
	return Refusal{Answer: append(dst, tooMany...), Close: h.Closing(), At: time.Now()}, true
}

var tooMany = []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 60\r\nContent-Length: 18\r\n\r\ntoo many requests\n")

// frontConn puts server under the front with the refuser and to, counting
// what it does.
func frontConn(server net.Conn, to Timeouts) *conn {
	fc := newConn(server, refuser{}, &to)
	fc.test = &counts{}
	return fc
}

func get1(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"
}

// startReading runs fc.Read on its own goroutine, where the front answers
// refusals until the client leaves; the channel gets Read's error.
func startReading(fc *conn) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := fc.Read(make([]byte, 4096))
		done <- err
	}()
	return done
}

// expect429 reads one answer from br and fails unless it is a 429.
func expect429(t *testing.T, br *bufio.Reader, i int) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request %d: %v", i, err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 429 {
		t.Fatalf("request %d: %d", i, resp.StatusCode)
	}
}

// leave closes the client and waits for the front's Read to end in EOF.
func leave(t *testing.T, client net.Conn, done <-chan error) {
	t.Helper()
	client.Close()
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("Read after the client left: %v, want EOF", err)
	}
}

// The front reads a refused request once: after the read that emptied the
// socket it answers and waits for the poller, instead of reading again
// only to find nothing (what a read through net.Conn does each time).
func TestFrontReadsEachRefusedRequestOnce(t *testing.T) {
	client, server := tcpPair(t)
	fc := frontConn(server, Timeouts{Idle: 10 * time.Second})
	if fc.rc == nil {
		t.Fatal("a TCP connection is not read through its raw socket")
	}
	done := startReading(fc)
	const n = 50
	br := bufio.NewReader(client)
	for i := range n {
		if _, err := io.WriteString(client, get1("/limited/x")); err != nil {
			t.Fatal(err)
		}
		expect429(t, br, i)
	}
	leave(t, client, done)
	// n reads that brought a request and one that found the EOF; a read
	// per request more would be 2n+1. A spurious wake-up costs one read.
	if fc.test.reads > n+n/5 {
		t.Errorf("%d reads for %d refused requests", fc.test.reads, n)
	}
	t.Logf("%d reads for %d refused requests", fc.test.reads, n)
}

// Refused requests that arrive together are answered together: the
// answers to a pipelined batch go out in one write, not one each.
func TestFrontAnswersAPipelinedBatchInOneWrite(t *testing.T) {
	client, server := tcpPair(t)
	fc := frontConn(server, Timeouts{Idle: 10 * time.Second})
	done := startReading(fc)
	const batches, n = 5, 12
	br := bufio.NewReader(client)
	for b := range batches {
		if _, err := io.WriteString(client, strings.Repeat(get1("/limited/x"), n)); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			expect429(t, br, b*n+i)
		}
	}
	leave(t, client, done)
	// A batch the socket delivers in two reads costs a write more.
	if fc.test.writes > batches+batches/2 {
		t.Errorf("%d writes for %d batches of %d refused requests", fc.test.writes, batches, n)
	}
	t.Logf("%d writes for %d batches of %d refused requests", fc.test.writes, batches, n)
}

// A client that closes its side right after a refused request: its FIN is
// already in when the front reads the request, and the poller will not
// report it again. The front reads once more after the probe interval and
// sees it, long before the idle timeout.
func TestFrontSeesAFinThatCameWithTheRequest(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := io.WriteString(client, get1("/limited/x")); err != nil {
		t.Fatal(err)
	}
	client.CloseWrite()
	testutil.WaitFor(t, 5*time.Second, func() bool { return testutil.TCPState(t, server) == testutil.TCPCloseWait },
		"the FIN did not arrive")
	const probe = 200 * time.Millisecond
	fc, took, err := readRefused(t, client, server, Timeouts{Idle: 30 * time.Second, Probe: probe})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Read: %v, want EOF", err)
	}
	// Sooner would mean it read again at once; later, that it missed the FIN.
	if took < probe || took > 5*time.Second {
		t.Errorf("EOF after %v, want just over %v", took, probe)
	}
	if fc.test.reads != 2 {
		t.Errorf("%d reads, want 2 (the request with the FIN behind it, then the EOF)", fc.test.reads)
	}
}

// readRefused has the front read one refused request from server, whose
// poller notice is spent first, and returns how long its Read took and
// what it returned; the client must have had its 429.
func readRefused(t *testing.T, client, server *net.TCPConn, to Timeouts) (*conn, time.Duration, error) {
	t.Helper()
	awaitReadable(t, server)
	fc := frontConn(server, to)
	start := time.Now()
	_, err := fc.Read(make([]byte, 4096))
	took := time.Since(start)
	resp, rerr := http.ReadResponse(bufio.NewReader(client), nil)
	if rerr != nil || resp.StatusCode != 429 {
		t.Fatalf("the client's answer: %v %v", resp, rerr)
	}
	return fc, took, err
}

// The probe is not the idle timeout: a quiet connection after a refusal is
// read once more at the probe, then kept until idle_timeout.
func TestFrontProbeKeepsTheIdleTimeout(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := io.WriteString(client, get1("/limited/x")); err != nil {
		t.Fatal(err)
	}
	const idle = 800 * time.Millisecond
	fc, took, err := readRefused(t, client, server, Timeouts{Idle: idle, Probe: 100 * time.Millisecond})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read: %v, want the idle timeout", err)
	}
	if took < idle || took > 10*time.Second {
		t.Errorf("timed out after %v, want just over %v", took, idle)
	}
	if fc.test.reads != 2 {
		t.Errorf("%d reads, want 2 (the request, the probe's that found nothing)", fc.test.reads)
	}
}

// A client that sends refused requests faster than it reads the answers
// fills the socket's send buffer: the front's non-blocking write then takes
// part of an answer or none, and the rest waits on the poller. Every answer
// still arrives whole and in order.
func TestFrontWritesToAClientThatReadsLate(t *testing.T) {
	client, server := tcpPair(t)
	// Small buffers both ways (which also stop the kernel from growing
	// them), so the answers back up after a few hundred. The client's
	// window stays above loopback's segment size (64 KiB): below it the
	// kernel sends only on zero-window probes, which back off to seconds.
	if err := server.SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if err := client.SetReadBuffer(128 << 10); err != nil {
		t.Fatal(err)
	}
	fc := frontConn(server, Timeouts{Idle: 10 * time.Second})
	done := startReading(fc)
	const n = 20000 // about 5 MB of answers
	sent := make(chan error, 1)
	go func() {
		bw := bufio.NewWriter(client)
		for range n {
			if _, err := bw.WriteString(get1("/limited/x")); err != nil {
				sent <- err
				return
			}
		}
		sent <- bw.Flush()
	}()
	// Let the answers back up: the client's socket fills.
	testutil.WaitFor(t, 10*time.Second, func() bool { return testutil.Unread(t, client) >= 64<<10 },
		"the answers never filled the client's socket")
	br := bufio.NewReader(client)
	for i := range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 429 || string(body) != "too many requests\n" {
			t.Fatalf("answer %d: %d %q %v", i, resp.StatusCode, body, err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	leave(t, client, done)
	if fc.test.queued == 0 {
		t.Error("every answer went out at once: the test did not fill the send buffer")
	}
	t.Logf("%d writes of %d answers waited for the client", fc.test.queued, n)
}

// A connection the front waits on with nothing buffered holds no buffer: a
// flood of clients refused and kept waiting costs no 4 KiB each. A head
// that comes in parts keeps its buffer until it is whole.
func TestFrontHoldsNoBufferWhileWaiting(t *testing.T) {
	client, server := tcpPair(t)
	fc := frontConn(server, Timeouts{Idle: 10 * time.Second})
	done := startReading(fc)
	br := bufio.NewReader(client)
	const n = 20
	for i := range n {
		req := get1("/limited/x")
		if i%2 == 1 { // in two parts: the wait between them keeps the buffer
			io.WriteString(client, req[:10])
			time.Sleep(5 * time.Millisecond)
			req = req[10:]
		}
		if _, err := io.WriteString(client, req); err != nil {
			t.Fatal(err)
		}
		expect429(t, br, i)
	}
	leave(t, client, done)
	// One wait after each answer, none between the parts of a head.
	if fc.test.idled < n || fc.test.idled > n+n/5 {
		t.Errorf("%d waits without a buffer for %d refused requests", fc.test.idled, n)
	}
	if fc.buf != nil {
		t.Error("the front kept a buffer after the connection ended")
	}
	t.Logf("%d waits without a buffer, %d reads, for %d refused requests", fc.test.idled, fc.test.reads, n)
}
