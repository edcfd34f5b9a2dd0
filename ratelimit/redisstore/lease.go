package redisstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease mode (limit_store.mode: lease): a router takes a slice of a
// client's shared bucket in one operation and spends it locally, one token
// per request, until it is spent; a slice not spent within leaseTTL is
// given back with the next one (the same operation). Every admitted
// request still spent a token taken from the shared bucket, so a fleet
// never admits more than the bucket gives; what lease mode changes is
// when a token is spent: a router may spend in a window the tokens it
// took before it, at most one slice per router (it holds one at a time).
// So over any window the fleet admits at most rate×window + burst + N×slice
// (exact: rate×window + burst), and a hot client costs one Redis operation
// per slice. A refused request costs one operation per refusal period:
// the router refuses on its own until the wait the store gave is over.

// leaseTTL is how long a slice may be spent before it is given back.
const leaseTTL = 500 * time.Millisecond

// maxLeases bounds the lease table; past it, expired leases are dropped
// (their tokens come back as the bucket refills).
const maxLeases = 1 << 16

// leaseScript gives back ARGV[3] tokens and takes up to ARGV[4] from
// KEYS[1] (interval ARGV[1], tolerance ARGV[2], microseconds) and, when
// KEYS[2] is given, as many from it (ARGV[5], ARGV[6]): the same number
// from both. It returns {tokens taken, refused by the second key (0/1),
// wait ns, remaining, ns until full}; none taken is a refusal, as the
// take script's.
var leaseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local back, want = tonumber(ARGV[3]), tonumber(ARGV[4])
local function tat(key, iv)
  local v = redis.call('GET', key)
  local x = now
  if v then x = math.max(tonumber(v), now) end
  return math.max(x - back * iv, now)
end
local function put(key, nxt)
  redis.call('SET', key, string.format('%.3f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
end
local function avail(tt, iv, tol) return math.floor((tol - (tt - now)) / iv + 1e-9) end
local iv1, tol1 = tonumber(ARGV[1]), tonumber(ARGV[2])
local t1 = tat(KEYS[1], iv1)
local m = math.min(avail(t1, iv1, tol1), want)
local iv2, tol2, t2
local net = 0
if #KEYS > 1 then
  iv2, tol2 = tonumber(ARGV[5]), tonumber(ARGV[6])
  t2 = tat(KEYS[2], iv2)
  local m2 = avail(t2, iv2, tol2)
  if m2 < m then m = m2; if m < 1 then net = 1 end end
end
if m < 1 then
  if back > 0 then
    put(KEYS[1], t1)
    if t2 then put(KEYS[2], t2) end
  end
  if net == 1 then
    return {0, 1, math.ceil((t2 + iv2 - now - tol2) * 1000), 0, math.ceil((t2 - now) * 1000)}
  end
  return {0, 0, math.ceil((t1 + iv1 - now - tol1) * 1000), 0, math.ceil((t1 - now) * 1000)}
end
local n1 = t1 + m * iv1
put(KEYS[1], n1)
if t2 then put(KEYS[2], t2 + m * iv2) end
return {m, 0, 0, math.floor((tol1 - (n1 - now)) / iv1 + 1e-9), math.ceil((n1 - now) * 1000)}
`)

// lease is the slice this router holds of one client's bucket.
type lease struct {
	mu    sync.Mutex // held across a renewal: one slice per router
	left  int
	got   time.Time // when the slice was taken (zero: none)
	reset time.Time // when the shared bucket was to be full, as of got
	// A refusal holds until the shared bucket has a token again: until
	// then this router refuses without asking (net: by the network).
	refused time.Time
	net     bool
}

type leases struct {
	mu sync.Mutex
	m  map[string]*lease
}

func (ls *leases) get(k string, now time.Time) *lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = map[string]*lease{}
	}
	l := ls.m[k]
	if l == nil {
		if len(ls.m) >= maxLeases {
			for k, o := range ls.m {
				if o.mu.TryLock() {
					if now.Sub(o.got) >= leaseTTL {
						delete(ls.m, k)
					}
					o.mu.Unlock()
				}
			}
		}
		l = &lease{}
		ls.m[k] = l
	}
	return l
}

// TakeLease is Take in lease mode: it spends a token of the slice this
// router holds of client's (and net's) bucket, or takes a new slice of up
// to slice tokens (giving back what is left of an expired one) in one
// operation. slice below 2 is Take.
func (s *Store) TakeLease(client, net Bucket, slice int) (Result, error) {
	if slice < 2 {
		return s.Take(client, net)
	}
	now := s.now()
	l := s.leases.get(client.Key+" "+net.Key, now)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.left > 0 && now.Sub(l.got) < leaseTTL {
		l.left--
		return Result{Allowed: true, Remaining: l.left, Reset: max(l.reset.Sub(now), 0)}, nil
	}
	if now.Before(l.refused) {
		return Result{Net: l.net, Wait: l.refused.Sub(now), Reset: max(l.reset.Sub(now), 0)}, nil
	}
	back := l.left
	l.left = 0
	if !s.circ.allow(now) {
		return Result{}, ErrUnavailable
	}
	keys := bucketKeys(client.Key, net.Key)
	args := []any{us(client.Interval), us(client.Tolerance), back, slice}
	if net.Key != "" {
		args = append(args, us(net.Interval), us(net.Tolerance))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	s.ops.Add(1)
	v, err := leaseScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	cancel()
	if err == nil && len(v) != 5 {
		err = fmt.Errorf("redisstore: lease script answered %d values", len(v))
	}
	if err != nil {
		s.fail(err)
		return Result{}, err
	}
	s.ok()
	r := Result{Net: v[1] == 1, Wait: time.Duration(v[2]), Remaining: int(v[3]), Reset: time.Duration(v[4])}
	if v[0] < 1 {
		l.refused, l.net, l.reset = now.Add(r.Wait), r.Net, now.Add(r.Reset)
		return r, nil
	}
	l.left, l.got, l.reset = int(v[0])-1, now, now.Add(r.Reset)
	r.Allowed, r.Remaining = true, l.left
	return r, nil
}

// Ops is the number of decision operations sent to Redis (a take, or a
// lease), for measuring.
func (s *Store) Ops() uint64 { return s.ops.Load() }
