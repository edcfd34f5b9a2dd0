package stats

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memConn records packets; with stall set, every Write waits for its write
// deadline and fails, like a socket whose send buffer never drains.
type memConn struct {
	stall bool

	mu       sync.Mutex
	packets  []string
	deadline time.Time
	closed   bool
}

func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return nil
}

func (c *memConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	d := c.deadline
	c.mu.Unlock()
	if c.stall {
		<-time.After(time.Until(d))
		return 0, os.ErrDeadlineExceeded
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.packets = append(c.packets, string(b))
	return len(b), nil
}

func (c *memConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *memConn) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.packets)
}

func TestSenderFlushesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		s := newSender(func() (packetConn, error) { return c, nil }, 100*time.Millisecond, nil, nil, nil, flushBytes)
		start := time.Now()
		for _, tt := range []struct {
			at   time.Duration
			send []string
			want []string // every packet so far
		}{
			{at: 0, send: []string{"a:1|c"}},
			{at: 99 * time.Millisecond},
			{at: 100 * time.Millisecond, want: []string{"a:1|c"}},
			{at: 150 * time.Millisecond, send: []string{"b:1|c", "c:2|ms\nd:1|c"}, want: []string{"a:1|c"}},
			{at: 200 * time.Millisecond, want: []string{"a:1|c", "b:1|c\nc:2|ms\nd:1|c"}},
			{at: 300 * time.Millisecond, want: []string{"a:1|c", "b:1|c\nc:2|ms\nd:1|c"}}, // nothing to send
			{at: 350 * time.Millisecond, send: []string{"e:1|c"}, want: []string{"a:1|c", "b:1|c\nc:2|ms\nd:1|c"}},
		} {
			time.Sleep(start.Add(tt.at).Sub(time.Now()))
			for _, m := range tt.send {
				if _, err := s.Send([]byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			synctest.Wait()
			if got := c.got(); !slices.Equal(got, tt.want) {
				t.Errorf("at %v: packets %q, want %q", tt.at, got, tt.want)
			}
		}
		// Close sends what is left and closes the connection.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := c.got(); len(got) != 3 || got[2] != "e:1|c" || !c.closed {
			t.Errorf("after Close: %q, closed %v", got, c.closed)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestSenderSplitsAtFlushBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		s := newSender(func() (packetConn, error) { return c, nil }, time.Hour, nil, nil, nil, flushBytes)
		line := strings.Repeat("x", 99) + ":1|c" // 103 bytes
		for range 100 {
			s.Send([]byte(line))
		}
		synctest.Wait() // full packets go at once, without waiting for the tick
		full := c.got()
		if len(full) != 100*104/flushBytes {
			t.Errorf("%d full packets before the tick, want %d", len(full), 100*104/flushBytes)
		}
		s.Close()
		lines := 0
		for _, p := range c.got() {
			if len(p) > flushBytes {
				t.Errorf("packet of %d bytes", len(p))
			}
			for l := range strings.SplitSeq(p, "\n") {
				if l != line {
					t.Fatalf("torn line %q", l)
				}
				lines++
			}
		}
		if lines != 100 {
			t.Errorf("%d lines arrived, want 100", lines)
		}
	})
}

func TestSenderLargeMessageGoesAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		s := newSender(func() (packetConn, error) { return c, nil }, time.Hour, nil, nil, nil, flushBytes)
		big := strings.Repeat("z", 2*flushBytes)
		s.Send([]byte("a:1|c"))
		s.Send([]byte(big))
		s.Send([]byte("b:1|c"))
		s.Close()
		if got, want := c.got(), []string{"a:1|c", big, "b:1|c"}; !slices.Equal(got, want) {
			t.Errorf("packets of %d, %d, … bytes; want a, big, b", len(got[0]), len(got[1]))
		}
	})
}

// A network that never takes a packet costs Send nothing: the queue fills,
// then packets are dropped and counted.
func TestSenderNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{stall: true}
		var dropped atomic.Int64
		var reports []int
		s := newSender(func() (packetConn, error) { return c, nil }, time.Hour, func(n int) { dropped.Add(int64(n)) }, func(err error, n int) {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("reported %v", err)
			}
			reports = append(reports, n)
		}, nil, flushBytes)
		packet := bytes.Repeat([]byte("y"), flushBytes) // one packet per Send
		s.Send(packet)
		synctest.Wait() // the flusher holds the first packet, stuck in Write
		start := time.Now()
		for range queuedPackets + 10 {
			if _, err := s.Send(packet); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Send waited %v", d)
		}
		if got := dropped.Load(); got != 10 {
			t.Errorf("dropped %d packets, want 10", got)
		}
		// Close waits out every queued write (each bounded by writeTimeout).
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := time.Since(start), (queuedPackets+1)*writeTimeout; got != want {
			t.Errorf("Close took %v, want %v", got, want)
		}
		if got := dropped.Load(); got != 10+queuedPackets+1 {
			t.Errorf("dropped %d, want %d", got, 10+queuedPackets+1)
		}
		// 65 write errors over 65 s: reported at 0 s and at 60 s.
		if !slices.Equal(reports, []int{1, 60}) {
			t.Errorf("failure reports %v, want [1 60]", reports)
		}
		if _, err := s.Send(packet); !errors.Is(err, errSenderClosed) || dropped.Load() != 10+queuedPackets+2 {
			t.Errorf("Send after Close: %v, dropped %d", err, dropped.Load())
		}
	})
}

// While dialing fails (a name that does not resolve yet), packets are
// dropped and counted; the flusher dials again every redialEvery.
func TestSenderRedials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		var dials []time.Duration
		start := time.Now()
		failUntil := 7 * time.Second
		dial := func() (packetConn, error) {
			dials = append(dials, time.Since(start))
			if time.Since(start) < failUntil {
				return nil, errors.New("no such host")
			}
			return c, nil
		}
		var dropped atomic.Int64
		var reports int
		s := newSender(dial, 100*time.Millisecond, func(n int) { dropped.Add(int64(n)) }, func(error, int) { reports++ }, nil, flushBytes)
		for _, tt := range []struct {
			at          time.Duration
			wantDials   int
			wantDropped int64
			wantPackets int
		}{
			// Sends fall between ticks (every 100 ms), so each is written at
			// the next tick, 50 ms later.
			{at: 0, wantDials: 1}, // dialed at start, failed
			{at: 1050 * time.Millisecond, wantDials: 1, wantDropped: 1},                  // too soon to dial again: dropped
			{at: 5050 * time.Millisecond, wantDials: 2, wantDropped: 2},                  // dials at 5.1 s, fails again
			{at: 6050 * time.Millisecond, wantDials: 2, wantDropped: 3},                  // too soon
			{at: 10550 * time.Millisecond, wantDials: 3, wantDropped: 3, wantPackets: 1}, // dials at 10.6 s: works
			{at: 11050 * time.Millisecond, wantDials: 3, wantDropped: 3, wantPackets: 2},
		} {
			time.Sleep(start.Add(tt.at).Sub(time.Now()))
			if tt.at > 0 {
				s.Send([]byte("a:1|c"))
				time.Sleep(50 * time.Millisecond) // to the next tick
			}
			synctest.Wait()
			if len(dials) != tt.wantDials || dropped.Load() != tt.wantDropped || len(c.got()) != tt.wantPackets {
				t.Errorf("at %v: %d dials, %d dropped, %d packets; want %d, %d, %d", tt.at,
					len(dials), dropped.Load(), len(c.got()), tt.wantDials, tt.wantDropped, tt.wantPackets)
			}
		}
		s.Close()
		if reports != 1 {
			t.Errorf("%d failure reports in 11 s, want 1", reports)
		}
	})
}

// hookLines is a counters hook whose lines the test sets before each tick.
type hookLines struct {
	mu    sync.Mutex
	next  []string // returned by the next call, then cleared
	calls []time.Duration
	start time.Time
}

func (h *hookLines) set(lines ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next = lines
}

func (h *hookLines) hook(b []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, time.Since(h.start))
	for _, l := range h.next {
		b = append(b, l...)
		b = append(b, '\n')
	}
	h.next = nil
	return b
}

func (h *hookLines) called() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// The counters hook runs on the flusher at every tick and once more on
// Close; its lines go after what was Sent before the tick, in the same
// packet.
func TestSenderCountersHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		h := &hookLines{start: time.Now()}
		s := newSender(func() (packetConn, error) { return c, nil }, 100*time.Millisecond, nil, nil, h.hook, flushBytes)
		ms := time.Millisecond
		for _, tt := range []struct {
			at    time.Duration
			send  string
			hook  []string // lines of the next call
			want  []string // every packet so far
			calls []time.Duration
		}{
			{at: 0, send: "a:1|ms", hook: []string{"n:1|c"}},
			{at: 100 * ms, want: []string{"a:1|ms\nn:1|c"}, calls: []time.Duration{100 * ms}},
			{at: 150 * ms, send: "b:2|ms", want: []string{"a:1|ms\nn:1|c"}, calls: []time.Duration{100 * ms}},
			// Nothing counted: the buffer goes alone.
			{at: 200 * ms, want: []string{"a:1|ms\nn:1|c", "b:2|ms"}, calls: []time.Duration{100 * ms, 200 * ms}},
			// Nothing buffered: the counters go alone.
			{at: 250 * ms, hook: []string{"n:2|c", "m:3|c"}, want: []string{"a:1|ms\nn:1|c", "b:2|ms"}, calls: []time.Duration{100 * ms, 200 * ms}},
			{at: 300 * ms, want: []string{"a:1|ms\nn:1|c", "b:2|ms", "n:2|c\nm:3|c"}, calls: []time.Duration{100 * ms, 200 * ms, 300 * ms}},
			{at: 350 * ms, send: "d:1|ms", hook: []string{"n:4|c"}, want: []string{"a:1|ms\nn:1|c", "b:2|ms", "n:2|c\nm:3|c"}, calls: []time.Duration{100 * ms, 200 * ms, 300 * ms}},
		} {
			time.Sleep(h.start.Add(tt.at).Sub(time.Now()))
			if tt.send != "" {
				if _, err := s.Send([]byte(tt.send)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.hook != nil {
				h.set(tt.hook...)
			}
			synctest.Wait()
			if got := c.got(); !slices.Equal(got, tt.want) {
				t.Errorf("at %v: packets %q, want %q", tt.at, got, tt.want)
			}
			if got := h.called(); !slices.Equal(got, tt.calls) {
				t.Errorf("at %v: hook called at %v, want %v", tt.at, got, tt.calls)
			}
		}
		// Close calls the hook once more, before the final packet.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got := c.got()
		if len(got) != 4 || got[3] != "d:1|ms\nn:4|c" {
			t.Errorf("after Close: %q", got)
		}
		if calls := h.called(); len(calls) != 4 || calls[3] != 350*ms {
			t.Errorf("hook called at %v, want a fourth call at Close", calls)
		}
	})
}

// Counter lines that do not fit one packet are split between whole lines,
// after the messages Sent before them; none is lost to the queue's bound.
func TestSenderCountersHookSplits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		h := &hookLines{start: time.Now()}
		s := newSender(func() (packetConn, error) { return c, nil }, time.Hour, nil, nil, h.hook, flushBytes)
		var want []string
		for i := range 30 * queuedPackets { // twice as many packets as the queue holds
			want = append(want, fmt.Sprintf("%s.%05d:1|c", strings.Repeat("x", 90), i))
		}
		h.set(want...)
		s.Send([]byte("a:1|ms"))
		s.Close()
		var lines []string
		for _, p := range c.got() {
			if len(p) > flushBytes {
				t.Errorf("packet of %d bytes", len(p))
			}
			lines = append(lines, strings.Split(p, "\n")...)
		}
		if len(lines) == 0 || lines[0] != "a:1|ms" || !slices.Equal(lines[1:], want) {
			t.Errorf("%d lines arrived, want a:1|ms then the %d counter lines in order", len(lines), len(want))
		}
		// Packed: every packet but the last holds as many lines as fit.
		perPacket := (flushBytes + 1) / (len(want[0]) + 1)
		if n, most := len(c.got()), (len(want)+1+perPacket-1)/perPacket; n != most {
			t.Errorf("%d packets, want %d", n, most)
		}
	})
}

// What was Sent before the hook returned goes before its lines: a request
// whose timers are Sent just before its count is read has both in one
// flush, the timers first.
func TestSenderCountersAfterEarlierSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		var sp atomic.Pointer[sender] // set after the flusher starts
		calls := 0
		hook := func(b []byte) []byte {
			if calls++; calls > 1 {
				return b // Close: nothing more
			}
			if _, err := sp.Load().Send([]byte("t:1|ms")); err != nil { // the request's timers
				t.Error(err)
			}
			return append(b, "n:1|c\n"...) // and its count
		}
		s := newSender(func() (packetConn, error) { return c, nil }, 100*time.Millisecond, nil, nil, hook, flushBytes)
		sp.Store(s)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if got, want := c.got(), []string{"t:1|ms\nn:1|c"}; !slices.Equal(got, want) {
			t.Errorf("after the tick: %q, want %q", got, want)
		}
		s.Close()
	})
}

// Messages of every size, small ones gathered in the stage and large ones
// not, arrive whole, in order, packed greedily: a packet ends only where
// the next message would not fit, and only a message larger than a packet
// goes over the size, alone.
func TestSenderPacksGreedily(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &memConn{}
		var dropped atomic.Int64
		s := newSender(func() (packetConn, error) { return c, nil }, time.Hour, func(n int) { dropped.Add(int64(n)) }, nil, nil, flushBytes)
		sizes := []int{1, 40, stageBytes - 1, stageBytes, stageBytes + 1, 700, flushBytes - 1, flushBytes, flushBytes + 1, 3 * flushBytes}
		rnd := rand.New(rand.NewPCG(1, 2))
		var sent []string
		for i := range 20000 {
			var n int
			switch r := rnd.IntN(10); {
			case r < 7:
				n = 1 + rnd.IntN(120) // mostly timer-sized lines
			case r < 8:
				n = sizes[rnd.IntN(len(sizes))]
			default:
				n = 1 + rnd.IntN(2*flushBytes)
			}
			m := strings.Repeat(string(rune('a'+i%26)), n)
			sent = append(sent, m)
			if _, err := s.Send([]byte(m)); err != nil {
				t.Fatal(err)
			}
			if i%16 == 0 {
				synctest.Wait() // the flusher takes what is queued
			}
		}
		s.Close()
		if n := dropped.Load(); n > 0 {
			t.Fatalf("%d packets dropped", n)
		}
		var want []string
		cur := ""
		for _, m := range sent {
			if cur != "" && len(cur)+1+len(m) > flushBytes {
				want = append(want, cur)
				cur = ""
			}
			if cur != "" {
				cur += "\n"
			}
			cur += m
			if len(cur) >= flushBytes {
				want = append(want, cur)
				cur = ""
			}
		}
		if cur != "" {
			want = append(want, cur)
		}
		got := c.got()
		if len(got) != len(want) {
			t.Fatalf("%d packets, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("packet %d: %d bytes starting %.20q, want %d bytes starting %.20q", i, len(got[i]), got[i], len(want[i]), want[i])
			}
		}
	})
}
