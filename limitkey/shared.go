package limitkey

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared decides keyed buckets through the fleet's limit store, so every
// router spends from one bucket per value (an account's). A value's key
// lives in a hash slot of its own and is taken by a script of its own,
// never atomically with the client's buckets:
//
//	bulwark:key:{POLICY:HASH}  GCRA tat (µs) of a keyed bucket, HASH the
//	                           value's HMAC (hex): no value in clear
//
// The HMAC must be the same on every router: abuse.key_secret_file. Safe
// for concurrent use; Close closes its client.
type Shared struct {
	rdb     redis.UniversalClient
	timeout time.Duration
}

// NewShared decides through rdb (which Close closes), each command bounded
// by timeout.
func NewShared(rdb redis.UniversalClient, timeout time.Duration) *Shared {
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	return &Shared{rdb: rdb, timeout: timeout}
}

// Close closes the store's client.
func (s *Shared) Close() error { return s.rdb.Close() }

// SharedKey is the store's key of value hash k under policy.
func SharedKey(policy string, k uint64) string {
	return "bulwark:key:{" + policy + ":" + strconv.FormatUint(k, 16) + "}"
}

// Take spends one token of k's bucket under policy (perSec tokens a
// second, burst at most), as Buckets.Take does; err is the store's
// failure (the caller decides what that means: limit_store.on_error).
func (s *Shared) Take(policy string, k uint64, perSec float64, burst int) (bool, time.Duration, error) {
	return s.run(policy, k, perSec, burst, false)
}

// Empty reports whether k's bucket has no whole token, spending none.
func (s *Shared) Empty(policy string, k uint64, perSec float64, burst int) (bool, error) {
	ok, _, err := s.run(policy, k, perSec, burst, true)
	return !ok, err
}

func (s *Shared) run(policy string, k uint64, perSec float64, burst int, peek bool) (bool, time.Duration, error) {
	iv := 3.6e9 // µs: an hour, for a rate of 0
	if perSec > 0 {
		iv = 1e6 / perSec
	}
	tol := iv * float64(max(burst, 1))
	p := "0"
	if peek {
		p = "1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	v, err := keyTakeScript.Run(ctx, s.rdb, []string{SharedKey(policy, k)},
		strconv.FormatFloat(iv, 'f', 3, 64), strconv.FormatFloat(tol, 'f', 3, 64), p).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(v) != 2 {
		return false, 0, errShortReply
	}
	return v[0] == 1, time.Duration(v[1]), nil
}

type replyError string

func (e replyError) Error() string { return string(e) }

const errShortReply = replyError("limitkey: short reply from the limit store")

// keyTakeScript is the local bucket's take as GCRA (like the client
// buckets' script): tat' = max(tat, now) + interval (ARGV[1] µs), refused
// when tat' - now exceeds the tolerance (ARGV[2] µs, burst × interval);
// ARGV[3] = "1" only looks. It returns {allowed 0/1, wait ns}.
var keyTakeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local iv, tol = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = now
local v = redis.call('GET', KEYS[1])
if v then tat = math.max(tonumber(v), now) end
local nxt = tat + iv
if nxt - now - tol > 0 then
  return {0, math.ceil((nxt - now - tol) * 1000)}
end
if ARGV[3] ~= '1' then
  redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
end
return {1, 0}
`)
