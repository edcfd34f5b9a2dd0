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
// per slice; when a slice runs low (a quarter left) the next is fetched in
// the background, so a client spending steadily never waits for Redis.
// A refused client is refused by the router on its own until
// a whole slice has refilled (the Retry-After it gets says so), so a
// client over its limit costs one operation per slice too, and is
// admitted a slice at a time at the policy's rate; so is one that got
// only part of a slice (it waits for the rest to refill once the part is
// spent).

// leaseTTL is how long a slice may be spent before it is given back.
const leaseTTL = 500 * time.Millisecond

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

// Lease is the slice this router holds of one client's bucket. Its zero
// value holds nothing; the caller keeps one per client and policy (and
// may drop one that is Idle). Safe for concurrent use.
type Lease struct {
	mu   sync.Mutex // held across a renewal: one slice per router
	left int
	// Instants are the caller's nanoseconds (any clock it uses for all).
	got   int64 // when the slice was taken (0: none)
	reset int64 // when the shared bucket was to be full, as of got
	// A refusal holds until the shared bucket has a token again: until
	// then this router refuses without asking (net: by the network).
	refused int64
	net     bool
	// slice is the size asked for at the last renewal; fetching is set
	// while a prefetch of the next slice is in flight.
	slice    int
	fetching bool
}

// Idle reports whether l holds nothing worth keeping at now: its slice
// expired and no refusal holds. It does not wait for a renewal.
func (l *Lease) Idle(now int64) bool {
	if !l.mu.TryLock() {
		return false
	}
	defer l.mu.Unlock()
	return now-l.got >= int64(leaseTTL) && now >= l.refused
}

// Spend decides from l alone: a token of its slice, or a refusal that
// still holds, at now (the caller's nanoseconds). ok false means l must
// be renewed (Renew). prefetch true means the slice runs low: the caller
// should call Prefetch, so that the next slice arrives before it is
// needed.
func (s *Store) Spend(l *Lease, now int64) (r Result, ok, prefetch bool) {
	l.mu.Lock()
	r, ok = l.spend(now)
	if ok && r.Allowed && !l.fetching && l.slice > 1 && l.left <= l.slice/4 && now >= l.refused {
		l.fetching, prefetch = true, true
	}
	l.mu.Unlock()
	return r, ok, prefetch
}

// prefetch is a request for the rest of a slice (Prefetch).
type prefetch struct {
	l           *Lease
	now         int64     // the caller's clock at the request
	at          time.Time // the store's clock at the request
	client, net Bucket
}

// Prefetch tops l up to a whole slice in the background, so a client
// spending its slice steadily never waits for Redis. It never blocks
// (when 256 prefetches wait, this one is dropped and the next Spend that
// finds the slice empty renews it).
func (s *Store) Prefetch(l *Lease, now int64, client, net Bucket) {
	select {
	case s.prefetches <- prefetch{l: l, now: now, at: s.now(), client: client, net: net}:
	default:
		l.mu.Lock()
		l.fetching = false
		l.mu.Unlock()
	}
}

// prefetcher runs prefetches until Close.
func (s *Store) prefetcher() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case p := <-s.prefetches:
			s.fetch(p)
		}
	}
}

// fetch takes what l lacks of a whole slice. The lease never holds more
// than one slice, so the bound of lease mode stands.
func (s *Store) fetch(p prefetch) {
	l := p.l
	l.mu.Lock()
	want := l.slice - l.left
	l.mu.Unlock()
	var v []int64
	err := errSkip
	if want > 0 && s.circ.allow(s.now()) {
		v, err = s.lease(p.client, p.net, 0, want)
	}
	now := p.now + int64(s.now().Sub(p.at))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fetching = false
	if err != nil {
		return
	}
	// A refusal, or the part of a slice short, holds once the slice is
	// spent, as after a renewal.
	if v[0] < 1 {
		l.refused, l.net = now+v[2]+int64(want-1)*p.client.Interval, v[1] == 1
		return
	}
	l.left += int(v[0])
	l.got, l.reset = now, now+v[4]
	if short := int64(want) - v[0]; short > 0 {
		l.refused, l.net = now+short*p.client.Interval, false
	}
}

var errSkip = fmt.Errorf("redisstore: prefetch skipped")

// lease runs the lease script: it gives back back tokens and takes up to
// want, answering {taken, net, wait ns, remaining, ns until full}.
func (s *Store) lease(client, net Bucket, back, want int) ([]int64, error) {
	keys := bucketKeys(client.Key, net.Key)
	args := []any{us(client.Interval), us(client.Tolerance), back, want}
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
		return nil, err
	}
	s.ok()
	return v, nil
}

func (l *Lease) spend(now int64) (Result, bool) {
	if l.left > 0 && now-l.got < int64(leaseTTL) {
		l.left--
		return Result{Allowed: true, Remaining: l.left, Reset: time.Duration(max(l.reset-now, 0))}, true
	}
	if l.left == 0 && now < l.refused {
		return Result{Net: l.net, Wait: time.Duration(l.refused - now), Reset: time.Duration(max(l.reset-now, 0))}, true
	}
	return Result{}, false
}

// Renew takes a new slice of up to slice tokens of client's (and net's)
// bucket for l, giving back what is left of an expired one, in one
// operation, and spends one token of it. Requests of the same lease wait
// for one renewal (and then spend from it).
func (s *Store) Renew(l *Lease, now int64, client, net Bucket, slice int) (Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.spend(now); ok { // renewed while this one waited
		return r, nil
	}
	back := l.left
	l.left, l.slice = 0, slice
	if !s.circ.allow(s.now()) {
		return Result{}, ErrUnavailable
	}
	v, err := s.lease(client, net, back, slice)
	if err != nil {
		return Result{}, err
	}
	r := Result{Net: v[1] == 1, Wait: time.Duration(v[2]), Remaining: int(v[3]), Reset: time.Duration(v[4])}
	if v[0] < 1 {
		// Wait for a whole slice, not one token: a client over its
		// limit is admitted a slice at a time, at the same rate.
		iv := client.Interval
		if r.Net {
			iv = net.Interval
		}
		r.Wait += time.Duration(int64(slice-1) * iv)
		l.refused, l.net, l.reset = now+int64(r.Wait), r.Net, now+int64(r.Reset)
		return r, nil
	}
	l.left, l.got, l.reset = int(v[0])-1, now, now+int64(r.Reset)
	if short := int64(slice) - v[0]; short > 0 {
		// A part of a slice: once it is spent, wait for the rest to
		// refill rather than renew a token at a time.
		l.refused, l.net = now+short*client.Interval, false
	}
	r.Allowed, r.Remaining = true, l.left
	return r, nil
}

// Ops is the number of decision operations sent to Redis (a take, or a
// lease), for measuring.
func (s *Store) Ops() uint64 { return s.ops.Load() }
