package redisstore

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// ErrorKinds are the kinds failed commands are counted by (the label of
// bulwark_limit_store_errors_total): timeout (no answer within
// limit_store.timeout), connection (refused, reset, closed), cluster (the
// cluster is moving slots or has none for the key: CLUSTERDOWN, TRYAGAIN,
// MOVED past the redirects, READONLY, MASTERDOWN, LOADING), busy (the
// router's own queue was full) and reply (any other error Redis answered).
var ErrorKinds = [...]string{"timeout", "connection", "cluster", "busy", "reply"}

const (
	kindTimeout = iota
	kindConnection
	kindCluster
	kindBusy
	kindReply
)

// kindOf sorts err into one of ErrorKinds.
func kindOf(err error) int {
	var ne net.Error
	switch {
	case errors.Is(err, errBusy), errors.Is(err, errQueueFull):
		return kindBusy
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	}
	msg := err.Error()
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "READONLY", "MASTERDOWN", "LOADING"} {
		if strings.HasPrefix(msg, p) {
			return kindCluster
		}
	}
	var re redis.Error
	if errors.As(err, &re) {
		return kindReply
	}
	return kindConnection
}

// ErrorsByKind calls f with each kind of ErrorKinds and the number of
// failed commands of that kind so far.
func (s *Store) ErrorsByKind(f func(kind string, n uint64)) {
	for i, k := range ErrorKinds {
		f(k, s.errsBy[i].Load())
	}
}

// Up reports the store's state: false from the moment the circuit opens
// (tripAfter failed commands in a row) until a command succeeds again;
// true before the first command.
func (s *Store) Up() bool { return !s.down.Load() }

// ok records a command that succeeded, and logs the return of a store
// that was down.
func (s *Store) ok() {
	s.circ.success()
	if s.down.Load() && s.down.CompareAndSwap(true, false) {
		since := time.Duration(s.now().UnixNano() - s.downAt.Load())
		s.log.Info("limit store up: shared limits again", zap.Duration("down_for", since),
			zap.Uint64("errors_total", s.errs.Load()))
	}
}

// fail counts an error by kind, feeds the circuit, logs the store going
// down once and other errors at most once per 10s, and asks a cluster
// client to look up the slot map again (a failover moved it).
func (s *Store) fail(err error) {
	n := s.errs.Add(1)
	kind := kindOf(err)
	s.errsBy[kind].Add(1)
	now := s.now()
	s.circ.failure(now)
	if cc, ok := s.rdb.(*redis.ClusterClient); ok && kind != kindBusy {
		cc.ReloadState(context.Background())
	}
	if s.circ.open(now) && !s.down.Load() && s.down.CompareAndSwap(false, true) {
		s.downAt.Store(now.UnixNano())
		s.lastLog.Store(now.UnixNano())
		s.log.Warn("limit store down: deciding by limit_store.on_error",
			zap.Error(err), zap.String("kind", ErrorKinds[kind]), zap.Uint64("errors_total", n))
		return
	}
	last := s.lastLog.Load()
	if now.UnixNano()-last >= int64(10*time.Second) && s.lastLog.CompareAndSwap(last, now.UnixNano()) {
		s.log.Warn("limit store error: deciding by limit_store.on_error",
			zap.Error(err), zap.String("kind", ErrorKinds[kind]), zap.Uint64("errors_total", n))
	}
}
