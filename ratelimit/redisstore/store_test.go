package redisstore

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.Main(m)) }

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCircuit(t *testing.T) {
	c := circuit{backoff: time.Second}
	ms := time.Millisecond
	tests := []struct {
		at        time.Duration
		op        string // allow, ok, fail
		wantAllow bool
		wantOpen  bool
	}{
		{0, "allow", true, false},
		{0, "fail", false, false},
		{1 * ms, "fail", false, false},
		{2 * ms, "ok", false, false}, // a success resets the count
		{3 * ms, "fail", false, false},
		{4 * ms, "fail", false, false},
		{5 * ms, "fail", false, true}, // third in a row: open for 1s
		{6 * ms, "allow", false, true},
		{1004 * ms, "allow", false, true},
		{1005 * ms, "allow", true, false}, // one probe
		{1005 * ms, "allow", false, false},
		{1006 * ms, "fail", false, true}, // the probe failed: open again
		{2005 * ms, "allow", false, true},
		{2006 * ms, "allow", true, false},
		{2007 * ms, "ok", false, false}, // the probe passed: closed
		{2008 * ms, "allow", true, false},
		{2009 * ms, "allow", true, false},
	}
	for i, tt := range tests {
		now := t0.Add(tt.at)
		switch tt.op {
		case "allow":
			if got := c.allow(now); got != tt.wantAllow {
				t.Fatalf("step %d: allow = %v", i, got)
			}
		case "ok":
			c.success()
		case "fail":
			c.failure(now)
		}
		if got := c.open(now); got != tt.wantOpen {
			t.Fatalf("step %d: open = %v", i, got)
		}
	}
}

func TestParse(t *testing.T) {
	s := &Store{id: "me"}
	tests := []struct {
		give   string
		want   Ban
		wantOK bool
	}{
		{"b r1 60000 2 1 192.0.2.1", Ban{Client: "192.0.2.1", For: time.Minute, Level: 2, Auth: true}, true},
		{"b r1 1500 1 0 2001:db8::", Ban{Client: "2001:db8::", For: 1500 * time.Millisecond, Level: 1}, true},
		{"l r1 192.0.2.1", Ban{Client: "192.0.2.1"}, true},
		{"b me 60000 2 1 192.0.2.1", Ban{}, false}, // our own
		{"l me 192.0.2.1", Ban{}, false},
		{"b r1 0 2 1 192.0.2.1", Ban{}, false},
		{"b r1 x 2 1 192.0.2.1", Ban{}, false},
		{"b r1 1 2 1", Ban{}, false},
		{"", Ban{}, false},
	}
	for _, tt := range tests {
		got, ok := s.parse(tt.give)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parse(%q) = %+v, %v", tt.give, got, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("b r1 60000 2 1 192.0.2.1")
	f.Add("l r1 192.0.2.1")
	s := &Store{id: "me"}
	f.Fuzz(func(t *testing.T, msg string) {
		b, ok := s.parse(msg)
		if ok && b.Client == "" {
			t.Fatalf("%q: empty client", msg)
		}
		if ok && b.For < 0 {
			t.Fatalf("%q: negative duration", msg)
		}
	})
}

func newStore(t testing.TB, url string) *Store {
	t.Helper()
	s, err := New(&config.LimitStore{URL: url, Timeout: config.Duration(50 * time.Millisecond)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTake walks one shared bucket (one token per 10s, burst 3) and a
// network bucket (burst 4) through the local bucket's answers. Tokens come
// back so slowly that the test's own time (up to a second on a loaded
// machine) changes no answer but Reset and Wait, by what elapsed.
func TestTake(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL())
	const iv = 10 * time.Second
	c := Bucket{Key: "p:192.0.2.1", Interval: int64(iv), Tolerance: int64(3 * iv)}
	n := Bucket{Key: "p-network:192.0.2.0/24", Interval: int64(iv), Tolerance: int64(4 * iv)}
	c2 := Bucket{Key: "p:192.0.2.2", Interval: int64(iv), Tolerance: int64(3 * iv)}
	tests := []struct {
		b             Bucket
		wantAllowed   bool
		wantNet       bool
		wantRemaining int
		wantReset     time.Duration // less what elapsed since the first take
		wantWait      time.Duration // likewise
	}{
		{c, true, false, 2, iv, 0},
		{c, true, false, 1, 2 * iv, 0},
		{c, true, false, 0, 3 * iv, 0},
		{c, false, false, 0, 3 * iv, iv},
		{c2, true, false, 2, iv, 0}, // network has 1 left
		{c2, false, true, 0, 4 * iv, iv},
	}
	start := time.Now()
	for i, tt := range tests {
		r, err := s.Take(tt.b, n)
		if err != nil {
			t.Fatal(err)
		}
		// The answer is the bucket's at some instant since start.
		slack := time.Since(start) + 10*time.Millisecond
		near := func(got, want time.Duration) bool { return got <= want && got > want-slack }
		if r.Allowed != tt.wantAllowed || r.Net != tt.wantNet || r.Remaining != tt.wantRemaining ||
			!near(r.Reset, tt.wantReset) || (tt.wantWait > 0) != (r.Wait > 0) || tt.wantWait > 0 && !near(r.Wait, tt.wantWait) {
			t.Fatalf("step %d (%v in): %+v", i, slack, r)
		}
	}
	// A refused network take left c2's bucket alone: it holds one token's
	// worth of time (its key lives ~10s), not two.
	ttl, err := s.rdb.PTTL(context.Background(), bucketKeys(c2.Key, n.Key)[0]).Result()
	if err != nil || ttl <= 0 || ttl > iv+10*time.Millisecond {
		t.Fatalf("c2's bucket: ttl %v, %v", ttl, err)
	}
}

// TestDeadStoreCost: against a port nothing listens on, a decision fails
// with a connection error (no wait for the timeout), and after three
// failures costs nothing (the circuit is open: no command is sent).
func TestDeadStoreCost(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL())
	srv.Kill()
	b := Bucket{Key: "p:x", Interval: 1e6, Tolerance: 1e6}
	for range 3 {
		if _, err := s.Take(b, Bucket{}); err == nil {
			t.Fatal("no error from a dead store")
		}
	}
	if _, err := s.Take(b, Bucket{}); err != ErrUnavailable {
		t.Fatalf("circuit not open: %v", err)
	}
	if got := errorsOf(s); got["connection"] != 3 || s.Errors() != 3 {
		t.Fatalf("errors %d, by kind %v; want 3 connection errors", s.Errors(), got)
	}
}

// errorsOf is s's error counts by kind.
func errorsOf(s *Store) map[string]uint64 {
	m := map[string]uint64{}
	s.ErrorsByKind(func(k string, n uint64) { m[k] = n })
	return m
}

// TestHungStoreCost: a server that accepts connections and never answers
// costs the timeout per decision (each fails as a timeout), and nothing
// once the circuit is open.
func TestHungStoreCost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	s := newStore(t, "redis://"+ln.Addr().String())
	t.Cleanup(func() {
		s.Close()
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	b := Bucket{Key: "p:x", Interval: 1e6, Tolerance: 1e6}
	for range 3 {
		if _, err := s.Take(b, Bucket{}); err == nil {
			t.Fatal("no error from a hung store")
		}
	}
	// Each decision ended at the timeout (not at some later error), and
	// the fourth sent nothing.
	if got := errorsOf(s); got["timeout"] != 3 || s.Errors() != 3 {
		t.Fatalf("errors %d, by kind %v; want 3 timeouts", s.Errors(), got)
	}
	if _, err := s.Take(b, Bucket{}); err != ErrUnavailable || s.Errors() != 3 {
		t.Fatalf("circuit not open: %v", err)
	}
}

// BenchmarkTakeDirect and BenchmarkTakeBatched: one EVALSHA round trip per
// decision against decisions pipelined by the batchers, 1024 buckets.
func BenchmarkTakeDirect(b *testing.B)  { benchTake(b, true) }
func BenchmarkTakeBatched(b *testing.B) { benchTake(b, false) }

func benchTake(b *testing.B, direct bool) {
	srv := redistest.Start(b)
	s := newStore(b, srv.URL())
	s.direct = direct
	keys := make([]Bucket, 1024)
	for i := range keys {
		keys[i] = Bucket{Key: "bench:" + strconv.Itoa(i), Interval: 1e3, Tolerance: 1e9}
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) << 8
		for pb.Next() {
			if _, err := s.Take(keys[i&1023], Bucket{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
