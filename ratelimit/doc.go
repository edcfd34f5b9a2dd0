// Package ratelimit is bulwark's per-client admission: allow and deny
// lists, bans, per-client connection and in-flight caps, overload shedding,
// and token buckets per client and per network, over a client table whose
// memory is bounded whatever the traffic.
//
// # Use
//
// The router builds one Admission from the config (New), resolves each
// route's policy once (Policy), and per request calls Admit with the
// client's address (IPv6 already grouped by client_ip.ipv6_prefix); a
// refused Decision is answered by the router (router/refusal.go, with
// RateLimit for the rate-limit fields), an admitted one is followed by
// exactly one Done when the response status is known. AcquireConn counts
// connections per client at accept (the router's ConnCapListener closes
// those over the cap); BansHandler serves the admin bans API;
// Snapshot feeds the status page; Update applies a reloaded config, keeping
// state. Admit takes one shard lock and allocates nothing.
//
// Admit checks, cheapest refusal first: allow list (bypasses everything),
// deny list (403 denied), ban (403 banned), per-client in flight (429
// too_many_in_flight), overload (503 overload), the client's bucket (429
// rate_limit), the network's bucket (429 network_limit). Refusals are
// counted through stats.Recorder.Rejected and logged at most once per
// client per second. Dry run (abuse.dry_run for everything, a policy's
// dry_run for its buckets) admits what would have been refused and says so
// in Decision.DryRun; those are counted in Snapshot.DryRun, not as
// rejections.
//
// # Buckets
//
// A bucket is golang.org/x/time/rate's token bucket kept as one int64, its
// theoretical arrival time (GCRA): 8 bytes per client and policy instead of
// an 80-byte rate.Limiter with a mutex of its own, under the shard lock that
// is held anyway. bucket_test.go runs both side by side and checks they
// agree step for step, and that a reload converts buckets as
// rate.Limiter.SetLimitAt and SetBurstAt would (keeping each client's
// tokens).
//
// # The client table
//
// Records (96 bytes, see entry) live in shards, each with its own mutex,
// its own open-addressing index and its share of
// abuse.max_tracked_clients, a hard cap: a shard never holds more records
// and never allocates past its share. An idle record with nothing worth
// keeping (buckets full again, no ban to remember, no counter inside its
// window) is expired by the sweeper; a new client in a full shard takes the
// place of one:
//
//  1. a record with nothing worth keeping goes first: dropping it changes
//     nothing, a full bucket is a fresh one;
//  2. else the least recently seen of a random sample whose state is only
//     bucket debt and counters goes, and its buckets' debt is written to a
//     sketch: a fixed-size count-min sketch of tats (16 bytes or less per
//     tracked client) from which every new bucket starts. A client evicted
//     with a drained bucket comes back to a drained bucket, not a fresh
//     burst. The sketch can only overestimate debt, and never beyond an
//     empty bucket of the client's own policy, so the price of a collision
//     is that an innocent newcomer may start without its burst, never with
//     a lower rate and never banned;
//  3. records that are banned or have requests or connections in flight are
//     never evicted. A newcomer to a shard holding only those is decided
//     without a record: its buckets live in the sketch alone (stricter,
//     never looser), bans and per-client caps cannot apply to it, and
//     Snapshot.Untracked counts it.
//
// We keep drained buckets in the sketch rather than refuse new clients
// beyond the cap: refusing would make the cap itself the attack (fill the
// table, and every newcomer, legitimate ones first, is turned away), while
// with the sketch an attacker cycling through more addresses than the table
// holds gains nothing and a newcomer is always served at its policy's rate.
// table_test.go shows both. A million tracked clients take about 130 bytes
// each (BenchmarkTableMemory): record, index slot and sketch.
//
// # Bans, scoring, overload
//
// abuse.ban.after_rejections refusals (rate limits, network limits, too
// many in flight) within abuse.ban.within ban a client for
// abuse.ban.duration, doubled at each new ban up to max_duration; a client
// quiet for max_duration after its ban starts over. On routes with abuse:
// auth, more than abuse.auth_failures.max listed statuses within its window
// ban too. Overload shedding is described on overload: it sheds the
// heaviest recent clients first, and only when the router has had a
// standing queue for max_queue_wait, never on a busy router that drains.
//
// # Fleets
//
// With limit_store (package redisstore), a policy's per-client and
// per-network buckets live in Redis and every router using that store
// shares them: same rate, burst and Retry-After as the local bucket, one
// atomic script per decision, timed by the Redis server's clock. The
// round trip happens before the shard lock. The local bucket follows along,
// so that limit_store.on_error: local (the default) falls back to it with
// this router's recent traffic; allow admits without a rate limit, deny
// refuses with 503 (reason overload). Bans are announced to the fleet and
// applied within milliseconds; lifting one lifts it everywhere. Strikes
// towards a ban and auth-failure counts stay per router. A reload does
// not change limit_store.
//
// # Reputation and attack mode
//
// Each record also holds a reputation (reputation.go), in 6 bytes that
// were padding, so a client costs no more than before: first seen, recent
// good answers and recent client errors, next to the refusals, strikes and
// bans it already holds. Decision.Class says what the client is: allow
// listed, known (WithReputation: 20 good answers over a minute by
// default), new, or suspect (banned within max_duration, refused twice
// within ban.within, failing auth, or answered with 4xx half the time). Done
// feeds it. The router's backend queues order by it under pressure.
//
// Attack mode (attack.go) is a flood of new clients, well above the
// learnt baseline, while a backend queue (NotePressure) or the router is
// under pressure. The sweeper checks once a second and reports the change
// through stats.Recorder.UnderAttack and one log line at each end.
//
// # Time
//
// Admit and Done take their instant as an argument; the sweeper, Lift, Bans
// and Snapshot read the clock given with WithClock. Internally time is
// nanoseconds since shortly before New (see timeBase), so that 0 means
// "never" in every record field.
package ratelimit
