// Package redisstore shares rate-limit buckets and bans between the routers
// of a fleet through Redis (config limit_store).
//
// Buckets: every decision on a policy's bucket runs one Lua script (EVALSHA,
// EVAL after a server restart flushed the script cache) that does, on the
// server and atomically, what ratelimit's local bucket does: the generic
// cell rate algorithm form of a token bucket (one theoretical arrival time
// per key, the same rate, burst, Retry-After and remaining count). The
// script reads the server's clock (TIME), so routers whose clocks disagree
// still share one bucket exactly; the instant a router passes to Admit does
// not enter a shared decision. A full bucket has no key (keys expire when
// the bucket refills). Decisions queue for two batchers, each sending what
// queued during its previous round trip as one pipeline: a lone decision
// costs one round trip, and under load many share one (BenchmarkTakeDirect
// and BenchmarkTakeBatched compare).
//
// Bans: a ban is written as a key with the ban's TTL and announced on a
// pub/sub channel; every router applies the announcements of the others to
// its local table, and after each (re)subscription reads the ban keys to
// catch up on what it missed while disconnected.
//
// Counts: strikes and auth failures are counted per client in the store
// (counts.go) so that a fleet bans as one router would; keys.go lists the
// key space and its hash tags (Redis Cluster), shared.go the calls that
// reputation, token revocations and live rules use.
//
// Failures: each command is bounded by the configured timeout, no command
// is retried, and after three errors in a row the store is skipped for a
// second (then one request probes it). Errors are counted and logged at
// most once per ten seconds. go-redis reconnects by itself.
package redisstore
