package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		give error
		want string
	}{
		{errBusy, "busy"},
		{errQueueFull, "busy"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: timeoutErr{}}), "timeout"},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, "connection"},
		{redis.ErrClosed, "connection"},
		{errors.New("CLUSTERDOWN The cluster is down"), "cluster"},
		{errors.New("TRYAGAIN Multiple keys request during rehashing of slot"), "cluster"},
		{errors.New("READONLY You can't write against a read only replica."), "cluster"},
		{redis.Nil, "reply"},
	}
	for _, tt := range tests {
		if got := ErrorKinds[kindOf(tt.give)]; got != tt.want {
			t.Errorf("kindOf(%v) = %s, want %s", tt.give, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestStoreState: a store whose server dies goes down after three failed
// commands (one log line, errors counted by kind) and comes back up with
// the server, by itself (one log line).
func TestStoreState(t *testing.T) {
	srv := redistest.Start(t)
	core, logs := observer.New(zap.InfoLevel)
	s, err := New(&config.LimitStore{URL: srv.URL(), Timeout: config.Duration(250 * time.Millisecond)}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	b := Bucket{Key: "p:state", Interval: 1e6, Tolerance: 1e9}
	if _, err := s.Take(b, Bucket{}); err != nil || !s.Up() {
		t.Fatalf("first take: %v, up %v", err, s.Up())
	}
	srv.Kill()
	for i := range 3 {
		if _, err := s.Take(b, Bucket{}); err == nil {
			t.Fatalf("take %d on a dead server", i)
		}
	}
	if s.Up() {
		t.Fatal("up after three failures")
	}
	byKind := map[string]uint64{}
	s.ErrorsByKind(func(k string, n uint64) { byKind[k] = n })
	if byKind["connection"] != 3 {
		t.Fatalf("errors by kind %v", byKind)
	}
	if n := logs.FilterMessage("limit store down: deciding by limit_store.on_error").Len(); n != 1 {
		t.Fatalf("%d down lines", n)
	}
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for !s.Up() && time.Now().Before(deadline) {
		s.Take(b, Bucket{})
		time.Sleep(10 * time.Millisecond)
	}
	if !s.Up() {
		t.Fatal("not up again within 5s of the server's return")
	}
	if n := logs.FilterMessage("limit store up: shared limits again").Len(); n != 1 {
		t.Fatalf("%d up lines", n)
	}
}
