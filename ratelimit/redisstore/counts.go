package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Counts toward a ban, shared by the fleet. Every router adds its
// client's strikes (rate-limit refusals, protocol faults) and auth
// failures to one count per client in the store, with the semantics of
// one router's count: the window opens at the first count and lasts
// within (the key's TTL), and the count that reaches the threshold
// bans the client (the router that counted it makes the ban and shares
// it) and resets the count, as a ban does. A client already banned is
// not counted.

// Count kinds.
const (
	Strikes      = "s"
	AuthFailures = "a"
)

// countScript adds one to KEYS[1] (a count whose window is ARGV[1] ms) unless
// KEYS[2] (the client's ban) exists; it returns 1, and deletes the count,
// when the count reaches ARGV[2], else 0. Both keys carry the client's tag.
var countScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// Count adds one of kind (Strikes or AuthFailures) to client's shared
// count, whose window is within, and calls the function set by OnDue when
// the count reaches at. It never blocks: the writer goroutine sends it
// (dropped, and counted as a busy error, when 1024 messages wait).
func (s *Store) Count(kind, client string, within time.Duration, at int) {
	if at < 1 || within <= 0 || (kind != Strikes && kind != AuthFailures) {
		return
	}
	ms := max(within.Milliseconds(), 1)
	s.enqueue("c " + kind + " " + strconv.FormatInt(ms, 10) + " " + strconv.Itoa(at) + " " + client)
}

// OnDue sets what runs when a shared count reaches its threshold: due
// gets the client and whether the count was of auth failures. It runs on
// the writer goroutine, one call at a time. Set it before the first Count.
func (s *Store) OnDue(due func(client string, auth bool)) { s.due = due }

// sendCount runs a "c KIND MS AT CLIENT" message.
func (s *Store) sendCount(f []string) error {
	if len(f) != 5 || s.circ.open(s.now()) {
		return nil // counts are best effort: none while the store is down
	}
	prefix := strikePrefix
	if f[1] == AuthFailures {
		prefix = authPrefix
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	n, err := countScript.Run(ctx, s.rdb, []string{clientKey(prefix, f[4]), clientKey(banPrefix, f[4])}, f[2], f[3]).Int()
	if err != nil {
		return err
	}
	if n == 1 && s.due != nil {
		s.due(f[4], f[1] == AuthFailures)
	}
	return nil
}

// isCount reports whether msg is a count message.
func isCount(msg string) bool { return strings.HasPrefix(msg, "c ") }
