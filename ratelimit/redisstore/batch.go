package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBatch is the most decisions one pipeline carries.
const maxBatch = 128

// batchers is how many pipelines may be in flight at once.
const batchers = 2

// call is one decision waiting for its batch.
type call struct {
	keys  []string
	args  []any
	res   Result
	err   error
	taken atomic.Bool   // a batcher took it: done closes within its timeout
	done  chan struct{} // closed when res and err are set
}

// batch sends queued decisions, up to maxBatch per round trip, until Close.
// Under light load a batch holds one decision and costs what a lone
// EVALSHA does; under load the decisions that queued during one round trip
// share the next.
func (s *Store) batch() {
	defer s.wg.Done()
	calls := make([]*call, 0, maxBatch)
	for {
		select {
		case <-s.stop:
			return
		case c := <-s.calls:
			c.taken.Store(true)
			calls = append(calls[:0], c)
		}
	more:
		for len(calls) < maxBatch {
			select {
			case c := <-s.calls:
				c.taken.Store(true)
				calls = append(calls, c)
			default:
				break more
			}
		}
		s.runBatch(calls)
		clear(calls)
	}
}

func (s *Store) runBatch(calls []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmds := s.pipe(ctx, calls, false)
	var retry []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 { // the server restarted: send the script with them
		again := make([]*call, len(retry))
		for j, i := range retry {
			again[j] = calls[i]
		}
		for j, cmd := range s.pipe(ctx, again, true) {
			cmds[retry[j]] = cmd
		}
	}
	var failure error
	for i, c := range calls {
		c.res, c.err = result(cmds[i])
		if c.err != nil && failure == nil {
			failure = c.err
		}
	}
	// The store's state first, so a caller sees it with its answer.
	if failure != nil {
		s.fail(failure)
	} else {
		s.ok()
	}
	for _, c := range calls {
		close(c.done)
	}
}

// pipe sends calls' scripts in one pipeline, by hash or (eval) in full.
func (s *Store) pipe(ctx context.Context, calls []*call, eval bool) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	p := s.rdb.Pipeline()
	for i, c := range calls {
		if eval {
			cmds[i] = takeScript.Eval(ctx, p, c.keys, c.args...)
		} else {
			cmds[i] = p.EvalSha(ctx, takeScript.Hash(), c.keys, c.args...)
		}
	}
	p.Exec(ctx) // each command carries its own error
	return cmds
}

func result(cmd *redis.Cmd) (Result, error) {
	v, err := cmd.Int64Slice()
	if err == nil && len(v) != 5 {
		err = fmt.Errorf("redisstore: script answered %d values", len(v))
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Allowed: v[0] == 1, Net: v[1] == 1, Wait: time.Duration(v[2]),
		Remaining: int(v[3]), Reset: time.Duration(v[4])}, nil
}

// takeBatched queues one decision and waits for its batch. A decision no
// batcher took within the timeout fails as busy (it may still be sent
// later; its answer is dropped); one a batcher took waits for its batch,
// which ends within the timeout of its start and has counted its own
// failure (a hung store is counted as timeouts, once per batch).
func (s *Store) takeBatched(keys []string, args []any) (Result, error) {
	c := &call{keys: keys, args: args, done: make(chan struct{})}
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case s.calls <- c:
	case <-t.C:
		s.fail(errBusy)
		return Result{}, errBusy
	case <-s.stop:
		return Result{}, ErrUnavailable
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-t.C:
		if c.taken.Load() {
			<-c.done
			return c.res, c.err
		}
		s.fail(errBusy)
		return Result{}, errBusy
	}
}

var errBusy = fmt.Errorf("redisstore: no answer within limit_store.timeout")
