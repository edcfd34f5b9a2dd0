package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Small shared-state calls for the features that judge a client beyond
// its buckets (reputation standing, token revocations) and for live rules.
// Each is one round trip bounded by limit_store.timeout; an error is
// counted (ErrorsByKind) and returned, and the caller decides locally.
// Keys are in keys.go.

func (s *Store) do(f func(ctx context.Context) error) error {
	if !s.circ.allow(s.now()) {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := f(ctx); err != nil && err != redis.Nil {
		s.fail(err)
		return err
	}
	s.ok()
	return nil
}

// SetRep replaces client's reputation standing with fields, kept for ttl.
func (s *Store) SetRep(client string, fields map[string]string, ttl time.Duration) error {
	return s.do(func(ctx context.Context) error {
		k := RepKey(client)
		_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, k)
			if len(fields) > 0 {
				p.HSet(ctx, k, fields)
				p.PExpire(ctx, k, ttl)
			}
			return nil
		})
		return err
	})
}

// Rep is client's reputation standing (empty when none is stored).
func (s *Store) Rep(client string) (map[string]string, error) {
	var m map[string]string
	err := s.do(func(ctx context.Context) (err error) {
		m, err = s.rdb.HGetAll(ctx, RepKey(client)).Result()
		return err
	})
	return m, err
}
