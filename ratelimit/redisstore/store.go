package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// ErrUnavailable is returned instead of calling Redis while the circuit is
// open (after consecutive errors).
var ErrUnavailable = errors.New("redisstore: limit store unavailable")

// Bucket names one shared bucket and its parameters: Interval is the time
// per token and Tolerance the burst times Interval, both in nanoseconds.
// The zero Bucket (empty Key) means "no bucket".
type Bucket struct {
	Key       string
	Interval  int64
	Tolerance int64
}

// Result is a shared bucket's answer, the same fields the local bucket
// gives: Allowed, or refused with Wait until a token (Net: the second,
// per-network bucket refused); Remaining whole tokens after the take and
// Reset until the bucket is full again.
type Result struct {
	Allowed   bool
	Net       bool
	Wait      time.Duration
	Remaining int
	Reset     time.Duration
}

// Ban is a ban announced by another router: Client (as ratelimit tracks it)
// is banned For from the moment it arrives; For 0 lifts the ban.
type Ban struct {
	Client string
	For    time.Duration
	Level  int
	Auth   bool
}

// Store is a connection to the fleet's Redis. Build it with New; it is safe
// for concurrent use. Close stops its goroutines and closes the connections.
type Store struct {
	rdb  redis.UniversalClient
	log  *zap.Logger
	now  func() time.Time
	id   string // this router's instance, to skip its own announcements
	circ circuit
	// timeout bounds one decision's round trip, dial included.
	timeout time.Duration
	// direct sends each decision alone instead of through the batchers
	// (benchmarks compare the two).
	direct bool
	calls  chan *call

	errs    atomic.Uint64
	errsBy  [len(ErrorKinds)]atomic.Uint64
	lastLog atomic.Int64 // unix ns of the last error line
	down    atomic.Bool  // the circuit opened and nothing succeeded since
	downAt  atomic.Int64 // unix ns when down turned true

	out       chan string // ban and lift announcements to write
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	watching  atomic.Bool
	due       func(client string, auth bool)           // OnDue
	repGot    func(client string, r Rep, replace bool) // OnRep
	repAsks   chan repAsk                              // AskRep, nil before OnRep

	ops        atomic.Uint64 // decision operations sent (Ops)
	prefetches chan prefetch // lease mode's background renewals
}

// New connects (lazily: an unreachable server is not an error here) to the
// store c describes. log nil means no logs.
func New(c *config.LimitStore, log *zap.Logger) (*Store, error) {
	if c == nil {
		return nil, errors.New("redisstore: nil limit_store")
	}
	timeout := time.Duration(c.Timeout)
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	rdb, err := newClient(c, timeout)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Store{
		rdb:     rdb,
		log:     log,
		now:     time.Now,
		id:      strconv.FormatUint(rand.Uint64(), 36),
		circ:    circuit{backoff: time.Second},
		timeout: timeout,
		out:     make(chan string, 1024),
		calls:   make(chan *call, maxBatch),
		stop:    make(chan struct{}),
	}
	s.prefetches = make(chan prefetch, 256)
	s.wg.Add(2 + batchers)
	go s.write()
	go s.prefetcher()
	for range batchers {
		go s.batch()
	}
	return s, nil
}

// Take takes one token from client's shared bucket and, when net.Key is
// not empty, from net's as well (both or neither). It costs one round trip
// (at most the configured timeout), nothing while the circuit is open
// (ErrUnavailable).
func (s *Store) Take(client, net Bucket) (Result, error) {
	if !s.circ.allow(s.now()) {
		return Result{}, ErrUnavailable
	}
	s.ops.Add(1)
	keys := bucketKeys(client.Key, net.Key)
	args := []any{us(client.Interval), us(client.Tolerance)}
	if net.Key != "" {
		args = append(args, us(net.Interval), us(net.Tolerance))
	}
	if !s.direct {
		return s.takeBatched(keys, args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	r, err := result(takeScript.Run(ctx, s.rdb, keys, args...))
	cancel()
	if err != nil {
		s.fail(err)
		return Result{}, err
	}
	s.ok()
	return r, nil
}

// us formats nanoseconds as microseconds, exactly.
func us(ns int64) string { return strconv.FormatFloat(float64(ns)/1e3, 'f', -1, 64) }

// Errors is the number of failed commands so far.
func (s *Store) Errors() uint64 { return s.errs.Load() }

// Close stops the ban writer and watcher and closes the connections.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = s.rdb.Close()
	})
	return err
}
