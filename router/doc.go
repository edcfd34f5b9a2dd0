// Package router is bulwark's request path: the routing table, forwarding,
// balancing, circuit breakers and client identity, and the listeners that
// serve them.
//
// # A request's path
//
// Read these in order to follow one request from the socket to its
// record; each names its file from the repository root, then the
// function. (TestTour checks that every function named here exists where
// it says.)
//
//  1. router/server.go (*Server).Start opens the public listener, wraps it
//     (PROXY protocol, per-client connection caps) and, with
//     server.early_refusal, puts the connection front outermost.
//  2. router/front/conn.go (*conn).Read is the front: it reads raw HTTP/1.1
//     heads off the socket and asks its Decider about each complete one
//     before net/http sees it.
//  3. router/front.go (*frontDecider).Refuse is the router's Decider: the
//     same checks as ServeHTTP's (checkIn, looking only), and a refusal's
//     answer written without net/http. Anything it does not refuse goes on
//     to net/http.
//  4. router/serve.go (*Router).ServeHTTP is net/http's handler. It reads
//     top to bottom as the steps below (router/steps.go), each of which
//     answers the request when it ends it.
//  5. router/steps.go (*Router).identify normalises the path
//     (router/path.go (*Router).normalizePath) and runs the checks before
//     admission: router/checkin.go (*Router).checkIn finds the client
//     (clientip), the router's own endpoints, the route (router/router.go
//     (*table).route) and admission's decision (ratelimit/admit.go
//     (*Admission).Admit: bans, the per-client and per-network buckets,
//     the in-flight cap).
//  6. router/steps.go (*Router).refusedAtCheckIn answers what the checks
//     turned away; a refusal of admission's is written by
//     router/refusal.go writeRefusal.
//  7. router/steps.go (*Router).takeRequestBody takes the body before the
//     queue (router/body.go (*Router).takeBody), so a slow body never
//     holds a backend slot; router/steps.go (*Router).passKeyedLimit then
//     applies a route's limit by key (limit_key), which may read the body.
//  8. router/steps.go (*Router).enterQueue waits for a slot of the
//     backend's concurrency cap (router/queue.go (*admitQueue).acquire),
//     known clients first under pressure.
//  9. router/steps.go (*Router).passBreaker asks the backend's breaker
//     (router/breaker/breaker.go (*Breaker).Allow).
//  10. router/relay.go (*Router).relay rewrites the request for the
//     backend, forwards it and copies the answer to the client.
//  11. router/forward.go (*Backend).roundTrip picks a target
//     (router/balance.go (*Backend).pick), asks its breaker, and retries on
//     another target only after a connect error.
//  12. router/upstream/transport.go (*Transport).RoundTrip sends the request
//     on a pooled keep-alive connection; router/upstream/head.go
//     parseResponseHead reads the common answer head in one pass.
//  13. router/steps.go (*Router).record, deferred once ServeHTTP knows the
//     request is not for its own endpoints, accounts for it however it
//     ended: the breaker's Done, router/serve.go (*Router).finish (stats,
//     the target's latency, the access log, admission's Done), the queue
//     slot and the body's buffers given back.
//
// The router's own answers go through writeSmall (router/forward.go); the
// mapping of forwarding errors to status codes is statusFor
// (router/errors.go), its only place.
package router
