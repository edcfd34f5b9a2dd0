package redisstore

import "github.com/redis/go-redis/v9"

// takeScript takes one token from KEYS[1] (interval ARGV[1], tolerance
// ARGV[2], both in microseconds) and, when KEYS[2] is given, from it as well
// (ARGV[3], ARGV[4]); either both are taken or neither. It is the local
// bucket's take: tat' = max(tat, now) + interval, refused when tat' - now
// exceeds the tolerance (burst × interval), the excess being the wait.
//
// Times are microseconds since the Unix epoch as doubles (exact to well
// under a microsecond until the year 2255); the stored tat keeps three
// decimals, so nanosecond intervals survive. It returns {allowed (0/1),
// refused by the second key (0/1), wait ns, remaining tokens, ns until
// full}.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function tat(key)
  local v = redis.call('GET', key)
  if v then return math.max(tonumber(v), now) end
  return now
end
local function put(key, nxt)
  redis.call('SET', key, string.format('%.3f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
end
local iv1, tol1 = tonumber(ARGV[1]), tonumber(ARGV[2])
local t1 = tat(KEYS[1])
local n1 = t1 + iv1
if n1 - now - tol1 > 0 then
  return {0, 0, math.ceil((n1 - now - tol1) * 1000), 0, math.ceil((t1 - now) * 1000)}
end
if #KEYS > 1 then
  local iv2, tol2 = tonumber(ARGV[3]), tonumber(ARGV[4])
  local t2 = tat(KEYS[2])
  local n2 = t2 + iv2
  if n2 - now - tol2 > 0 then
    return {0, 1, math.ceil((n2 - now - tol2) * 1000), 0, math.ceil((t2 - now) * 1000)}
  end
  put(KEYS[2], n2)
end
put(KEYS[1], n1)
return {1, 0, 0, math.floor((tol1 - (n1 - now)) / iv1 + 1e-9), math.ceil((n1 - now) * 1000)}
`)
