package stats

import (
	"errors"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
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

// packets returns every datagram already delivered, in order of arrival.
// Call it after the sender is flushed (Close): loopback delivery is
// synchronous, so the packets are queued on the socket by then; the short
// deadline only ends the read once the queue is empty.
func (l *udpListener) packets() []string {
	return l.startReading()()
}

// startReading reads packets as they arrive, so a long burst cannot
// overflow the socket's buffer, until stop is called after the sender is
// flushed; stop returns every packet, in order of arrival.
func (l *udpListener) startReading() (stop func() []string) {
	var (
		out     []string
		closing atomic.Bool
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			l.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := l.conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && !closing.Load() {
					continue
				}
				return // the queue is empty after stop, or the socket closed
			}
			out = append(out, string(buf[:n]))
		}
	}()
	return func() []string {
		closing.Store(true)
		<-done
		return out
	}
}

// lines returns every statsd line already delivered (see packets), as
// sumCounters gives them.
func (l *udpListener) lines() []string {
	l.t.Helper()
	return sumCounters(l.t, l.packets())
}

// sumCounters returns the lines of packets, sorted, with the counter lines
// of each name summed into one, name:N|c: the sender sums counters per
// flush interval, and how a count splits across intervals is a matter of
// timing. Timer lines stay one per value. A counter line that is malformed
// or counts zero fails the test.
func sumCounters(t testing.TB, packets []string) []string {
	t.Helper()
	var out []string
	sums := map[string]int64{}
	for _, p := range packets {
		for line := range strings.SplitSeq(p, "\n") {
			v, ok := strings.CutSuffix(line, "|c")
			if !ok {
				out = append(out, line)
				continue
			}
			name, count, _ := strings.Cut(v, ":")
			n, err := strconv.ParseInt(count, 10, 64)
			if err != nil || n <= 0 {
				t.Errorf("bad counter line %q", line)
				continue
			}
			sums[name] += n
		}
	}
	for name, n := range sums {
		out = append(out, name+":"+strconv.FormatInt(n, 10)+"|c")
	}
	sort.Strings(out)
	return out
}

// promtoolPath returns promtool's path, or skips the test (fails it in CI).
func promtoolPath(t *testing.T) string {
	t.Helper()
	return testutil.Tool(t, "promtool", "Debian package prometheus")
}
