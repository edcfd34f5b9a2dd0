package router

import (
	"bufio"
	"errors"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A client that leaves while its request is at the backend cancels it: the
// front's watch for net/http (its background read) sees the FIN, and the
// backend's request ends with it.
func TestFrontSeesTheClientLeaveMidRequest(t *testing.T) {
	started := make(chan struct{}, 1)
	canceled := make(chan struct{}, 1)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			canceled <- struct{}{}
		case <-time.After(20 * time.Second):
		}
	}))
	defer be.Close()
	_, base := startRouter(t, frontConfig(be.URL, ""))
	c := dialRaw(t, base)
	c.send(get1("/slow"))
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	c.c.Close()
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's request was not canceled when the client left")
	}
}

// TestFrontOnPlainConns runs the front tests again on connections that hide
// their socket (as PROXY protocol's do): the front reads them through their
// own Read.
func TestFrontOnPlainConns(t *testing.T) {
	testPlainConns = true
	defer func() { testPlainConns = false }()
	for name, f := range map[string]func(*testing.T){
		"LikeTheFullPath": TestFrontAnswersRefusalsLikeTheFullPath,
		"Pipelined":       TestFrontKeepsPipelinedAnswersInOrder,
		"Alternates":      TestFrontAlternatesWithNetHTTP,
		"DropsBody":       TestFrontDropsARefusedBody,
		"Head":            TestFrontAnswersHeadWithoutBody,
		"ConnectionClose": TestFrontHonoursConnectionClose,
		"Unusual":         TestFrontLeavesTheUnusualToNetHTTP,
		"Timeouts":        TestFrontTimeouts,
		"HeaderTimeout":   TestFrontHeaderTimeoutPerHead,
		"Draining":        TestFrontClosesWhileDraining,
		"DeniedAndBanned": TestFrontRefusesDeniedAndBanned,
	} {
		t.Run(name, f)
	}
}

// bigBackend answers every request with n bytes of a pattern whose every
// position is checkable.
func bigBackend(t *testing.T, n int) string {
	t.Helper()
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(i % 251)
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	t.Cleanup(be.Close)
	return be.URL
}

// dialSmall connects to base with a 128 KiB receive buffer, which also
// stops the kernel from growing it; the connection closes with the test.
// The window stays above loopback's segment size (64 KiB): below it the
// kernel may send only on zero-window probes, which back off to seconds,
// and whether it does depends on where the answer's bytes fall.
func dialSmall(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(128 << 10)
	return c
}

// net/http writes answers through the front's Write, which sends with
// sendto and waits on the poller when the socket is full: an 8 MiB answer
// to a client with small buffers that starts reading only once its socket
// is full arrives whole. (The front package's tests count the writes that
// waited.)
func TestFrontWritesALargeAnswerToALateReader(t *testing.T) {
	const n = 8 << 20
	_, base := startRouter(t, frontConfig(bigBackend(t, n), ""))
	c := dialSmall(t, base)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	for round := range 2 { // the second answer on the same connection too
		io.WriteString(c, get1("/big"))
		// The router fills the client's socket and waits on the poller.
		testutil.WaitFor(t, 10*time.Second, func() bool { return testutil.Unread(t, c.(*net.TCPConn)) >= 64<<10 },
			"answer %d: the client's socket never filled", round)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", round, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || len(body) != n {
			t.Fatalf("answer %d: %d, %d bytes, %v", round, resp.StatusCode, len(body), err)
		}
		for i, b := range body {
			if b != byte(i%251) {
				t.Fatalf("answer %d: byte %d is %d", round, i, b)
			}
		}
	}
}

// A client that stops reading is cut off when the write timeout passes:
// the front's Write keeps net/http's write deadline.
func TestFrontWriteKeepsTheWriteTimeout(t *testing.T) {
	const n = 64 << 20
	_, base := startRouter(t, frontConfig(bigBackend(t, n), "server: {write_timeout: 300ms}"))
	c := dialSmall(t, base)
	io.WriteString(c, get1("/big"))
	time.Sleep(time.Second) // past the write timeout, reading nothing
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.Copy(io.Discard, c)
	if got >= n {
		t.Fatalf("the whole %d-byte answer came through a stalled client", got)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the router kept the connection open after its write timeout (%d bytes read)", got)
	}
	t.Logf("%d bytes before the router gave up (%v)", got, err)
}
