package stats

import (
	"errors"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
}

// ci reports whether the suite runs in CI, where a missing tool fails a test
// instead of skipping it.
func ci() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test, or fails it in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if ci() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// udpListener is a statsd server stand-in: a real UDP socket on loopback.
type udpListener struct {
	t    testing.TB
	conn net.PacketConn
}

func listenUDP(t testing.TB) *udpListener {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpListener{t: t, conn: c}
}

func (l *udpListener) addr() string { return l.conn.LocalAddr().String() }

// lines returns every statsd line already delivered, sorted. Call it after
// the sender is flushed (Close): loopback delivery is synchronous, so the
// packets are queued on the socket by then; the short deadline only ends
// the read once the queue is empty.
func (l *udpListener) lines() []string {
	l.t.Helper()
	var out []string
	buf := make([]byte, 65536)
	for {
		l.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _, err := l.conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			l.t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(buf[:n]), "\n") {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}
