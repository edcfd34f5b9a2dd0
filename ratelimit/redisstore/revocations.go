package redisstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Token revocations, shared by the fleet. A revocation is the key
// RevokedKey(token), whose TTL is the token's life left, announced on
// revokedChannel as "<ms> <token>". Every router keeps the set in memory
// (WatchRevocations feeds it), so the request path never asks Redis.

// Revoke revokes token (an id) for ttl (the token's life left) and tells
// the fleet. One round trip, bounded by limit_store.timeout.
func (s *Store) Revoke(token string, ttl time.Duration) error {
	ttl = max(ttl, time.Millisecond)
	return s.do(func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, RevokedKey(token), "1", ttl)
			p.Publish(ctx, revokedChannel, strconv.FormatInt(ttl.Milliseconds(), 10)+" "+token)
			return nil
		})
		return err
	})
}

// Revoked reports whether token was revoked (a round trip: the request
// path reads the set WatchRevocations feeds instead).
func (s *Store) Revoked(token string) (bool, error) {
	var n int64
	err := s.do(func(ctx context.Context) (err error) {
		n, err = s.rdb.Exists(ctx, RevokedKey(token)).Result()
		return err
	})
	return n == 1, err
}

// WatchRevocations calls apply (on a goroutine the store owns, one call at
// a time, until Close) for each token another router revokes, with the
// time it stays revoked, and, after each (re)subscription, for every
// revocation in the store (so revocations made while this router was cut
// off arrive too). Call it at most once.
func (s *Store) WatchRevocations(apply func(token string, d time.Duration)) {
	s.subscribe(revokedChannel, func() {
		s.forEachKey(revokedPrefix, func(key, _ string, ttl time.Duration) {
			apply(untag(revokedPrefix, key), ttl)
		})
	}, func(msg string) {
		ms, token, ok := strings.Cut(msg, " ")
		n, err := strconv.ParseInt(ms, 10, 64)
		if ok && err == nil && n > 0 && token != "" {
			apply(token, time.Duration(n)*time.Millisecond)
		}
	})
}

// forEachKey calls each, one call at a time, with every key under prefix
// in the store (on every primary of a cluster), its value and its TTL
// (keys without one are skipped). A failed scan is counted.
func (s *Store) forEachKey(prefix string, each func(key, val string, ttl time.Duration)) {
	type found struct {
		key, val string
		ttl      time.Duration
	}
	var mu sync.Mutex
	var all []found
	scan := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, prefix+"*", 256).Iterator()
		for it.Next(ctx) {
			key := it.Val()
			p := c.Pipeline()
			get, ttl := p.Get(ctx, key), p.PTTL(ctx, key)
			if _, err := p.Exec(ctx); err != nil {
				continue // expired between SCAN and GET
			}
			if d := ttl.Val(); d > 0 {
				mu.Lock()
				all = append(all, found{key, get.Val(), d})
				mu.Unlock()
			}
		}
		return it.Err()
	}
	ctx := context.Background()
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		s.fail(err)
	}
	for _, f := range all {
		each(f.key, f.val, f.ttl)
	}
}
