package stats

import (
	"bytes"
	"errors"
	"sync"
	"time"
)

// errSenderClosed is returned by sender.Send after Close.
var errSenderClosed = errors.New("stats: statsd sender closed")

// Defaults of the statsd sender.
const (
	// flushBytes is the largest packet the sender builds for a statsd
	// across a network: the size Etsy's statsd documents as safe on one.
	flushBytes = 1432
	// loopbackFlushBytes is the largest for a statsd on this host, where no
	// link limits a datagram: the size Etsy's statsd documents for jumbo
	// frames, and Datadog's agent reads by default. Every daemon known to
	// read statsd reads 8 KiB datagrams; fewer, larger packets cost the
	// router less under load.
	loopbackFlushBytes = 8192
	// queuedPackets is how many full packets may wait for the network
	// before new ones are dropped.
	queuedPackets = 64
	// stageBytes is how much of a packet Send gathers before it copies it
	// into the packet's buffer: several requests' timer lines.
	stageBytes = 512
	// writeTimeout bounds one packet write, so Close always returns.
	writeTimeout = time.Second
	// redialEvery is how often a sender without a working connection dials
	// again (resolving the name again, so a moved statsd is found).
	redialEvery = 5 * time.Second
)

// packetConn is where packets go: a connected *net.UDPConn in production.
type packetConn interface {
	Write(b []byte) (int, error)
	Close() error
}

// dialFunc opens the connection. It runs on the flushing goroutine only,
// never on a caller's.
type dialFunc func() (packetConn, error)

// sender is a buffered statsd sender that never blocks its callers. Send
// appends a message (one or more newline-separated statsd lines) to the
// packet being filled; a full packet is handed to the flushing goroutine
// through a bounded queue, and dropped (and counted) when the queue is full.
// The flusher also sends whatever is buffered every interval, after the
// lines of its counters hook (the aggregated statsd counters), and owns the
// connection: it dials (and resolves) at start, and again at most every
// redialEvery while dialing or writing fails, so neither a name that does
// not resolve nor a statsd that is down ever reaches Send. Send and Close
// are safe for concurrent use; it implements cactus statsd.Sender.
type sender struct {
	dial     dialFunc
	interval time.Duration
	// dropped is called, outside any lock, with the number of packets or
	// messages lost: queue full, no connection, write error, or Send after
	// Close.
	dropped func(n int)
	// failing is called from the flusher with a dial or write error and the
	// number of errors it stands for, at most once per failReportEvery.
	failing func(err error, n int)
	// counters, when not nil, is called from the flusher at each interval
	// tick and once more on Close. It appends lines, each ending in '\n', to
	// b and returns it; they are sent after every message Sent before it
	// returned, packed into the same packets.
	counters func(b []byte) []byte

	size int // largest packet built (a single larger message goes alone)

	mu sync.Mutex
	// The packet being filled is buf then stage[:staged]. Send writes small
	// messages into stage, whose lines every Send touches and so stay in
	// cache, and copies stage into buf in one piece when it is full: a
	// packet's lines are cold by the time they are written (hundreds of
	// requests pass while one fills), and one copy waits for its cache
	// misses together where a copy per message waited for each in turn.
	stage  [stageBytes]byte
	staged int
	buf    []byte
	closed bool

	full chan []byte // packets waiting for the flusher
	free chan []byte // empty buffers for reuse
	stop chan struct{}
	done chan struct{}

	// Owned by the flushing goroutine.
	conn     packetConn // nil until dialed, or after a failure
	lastDial time.Time
	fail     failState
	closeErr error  // of conn.Close, read by Close after done
	lines    []byte // reused for the counters' lines
}

// newSender starts the flushing goroutine; Close stops it. dropped, failing
// and counters may be nil.
func newSender(dial dialFunc, interval time.Duration, dropped func(int), failing func(error, int), counters func([]byte) []byte, size int) *sender {
	if dropped == nil {
		dropped = func(int) {}
	}
	if failing == nil {
		failing = func(error, int) {}
	}
	s := &sender{
		dial:     dial,
		interval: interval,
		dropped:  dropped,
		failing:  failing,
		counters: counters,
		size:     size,
		buf:      make([]byte, 0, size),
		full:     make(chan []byte, queuedPackets),
		free:     make(chan []byte, queuedPackets+2),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go s.run()
	return s
}

// Send buffers data as one message; it never waits for the network.
func (s *sender) Send(data []byte) (int, error) {
	lost := 0
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.dropped(1)
		return 0, errSenderClosed
	}
	n := len(s.buf) + s.staged
	if n > 0 && n+1+len(data) > s.size {
		lost = s.queueLocked()
		n = 0
	}
	need := len(data)
	if n > 0 {
		need++ // the newline before it
	}
	if s.staged+need > stageBytes {
		s.unstage()
	}
	if need <= stageBytes {
		if n > 0 {
			s.stage[s.staged] = '\n'
			s.staged++
		}
		s.staged += copy(s.stage[s.staged:], data)
	} else {
		if n > 0 {
			s.buf = append(s.buf, '\n')
		}
		s.buf = append(s.buf, data...)
	}
	if len(s.buf)+s.staged >= s.size {
		lost += s.queueLocked()
	}
	s.mu.Unlock()
	if lost > 0 {
		s.dropped(lost)
	}
	return len(data), nil
}

// unstage moves the staged bytes to the end of buf.
func (s *sender) unstage() {
	s.buf = append(s.buf, s.stage[:s.staged]...)
	s.staged = 0
}

// queueLocked hands the current packet to the flusher, or drops it when the
// queue is full, and returns the number of packets dropped.
func (s *sender) queueLocked() int {
	s.unstage()
	select {
	case s.full <- s.buf:
		s.buf = s.emptyBuf()
		return 0
	default:
		s.buf = s.buf[:0]
		return 1
	}
}

func (s *sender) emptyBuf() []byte {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]byte, 0, s.size)
	}
}

// take swaps out the packet being filled; nil when it is empty.
func (s *sender) take() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unstage()
	if len(s.buf) == 0 {
		return nil
	}
	b := s.buf
	s.buf = s.emptyBuf()
	return b
}

// Close sends what is buffered and the counters' last lines, stops the
// flusher, waits for it and closes the connection. Later Sends are dropped.
// Calling Close twice is harmless.
func (s *sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return s.closeErr
}

func (s *sender) run() {
	defer close(s.done)
	s.connect()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case b := <-s.full:
			s.write(b)
		case <-t.C:
			s.flush()
		case <-s.stop:
			// Send stopped queueing before stop was closed: this sends all
			// that is left.
			s.flush()
			if s.conn != nil {
				s.closeErr = s.conn.Close()
			}
			return
		}
	}
}

// flush reads the counters, then sends the packets queued and the one being
// filled, with the counters' lines packed after it. Reading the counters
// first means every message Sent before (a request's timers, which the
// recorder Sends before it counts the request) goes before them. Counter
// packets are written here, not queued, so the queue's bound never drops
// them. Only the packets queued when it starts are sent, so senders that
// keep the queue full cannot hold the flusher here.
func (s *sender) flush() {
	var lines []byte
	if s.counters != nil {
		lines = s.counters(s.lines[:0])
		s.lines = lines[:0]
	}
	for n := len(s.full); n > 0; n-- {
		s.write(<-s.full)
	}
	b := s.take()
	for len(lines) > 0 {
		line, rest, _ := bytes.Cut(lines, []byte{'\n'})
		lines = rest
		if len(line) == 0 {
			continue
		}
		if b == nil {
			b = s.emptyBuf()
		}
		if len(b) > 0 && len(b)+1+len(line) > s.size {
			s.write(b)
			b = s.emptyBuf()
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, line...)
	}
	if len(b) > 0 {
		s.write(b)
	}
}

// connect dials; on failure the connection stays nil and the error is
// reported like a write error.
func (s *sender) connect() {
	s.lastDial = time.Now()
	c, err := s.dial()
	if err != nil {
		s.report(err)
		return
	}
	s.conn = c
}

// failState rate-limits the report of write errors: a dead statsd answers
// UDP with ICMP errors on every other packet, so it is reported at most once
// per failReportEvery, with the number of errors since the last report.
type failState struct {
	last   time.Time // of the last report; zero before the first
	errors int       // since the last report
}

const failReportEvery = time.Minute

type deadliner interface{ SetWriteDeadline(time.Time) error }

// write sends one packet and recycles its buffer. A packet that cannot be
// sent is dropped and counted.
func (s *sender) write(b []byte) {
	defer func() {
		select {
		case s.free <- b[:0]:
		default:
		}
	}()
	if s.conn == nil && time.Since(s.lastDial) >= redialEvery {
		s.connect()
	}
	if s.conn == nil {
		s.dropped(1)
		return
	}
	if d, ok := s.conn.(deadliner); ok {
		_ = d.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
	if _, err := s.conn.Write(b); err != nil {
		s.dropped(1)
		s.report(err)
		if time.Since(s.lastDial) >= redialEvery {
			// Dial again on the next packet, in case statsd moved.
			s.conn.Close()
			s.conn = nil
		}
	}
}

// report passes err on to failing, at most once per failReportEvery, with
// the number of errors since the last report.
func (s *sender) report(err error) {
	s.fail.errors++
	if now := time.Now(); s.fail.last.IsZero() || now.Sub(s.fail.last) >= failReportEvery {
		s.failing(err, s.fail.errors)
		s.fail.last, s.fail.errors = now, 0
	}
}
