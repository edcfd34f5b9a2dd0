// Package router is bulwark's request path: the routing table, forwarding,
// balancing, circuit breakers and client identity, and the listeners that
// serve them.
//
// # A request's path
//
// Read these in order to follow one request from the socket to its
// record; each names its file from the repository root. (TestTour checks
// that every function named here exists where it says.)
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
//  4. router/serve.go (*Router).ServeHTTP is net/http's handler: it runs
//     the steps below in order, and each refusal ends in finish.
//  5. router/path.go (*Router).normalizePath normalises the path routes
//     match (dot segments, escapes, slashes).
//  6. router/checkin.go (*Router).checkIn finds the client (clientip), the
//     router's own endpoints, the route and admission's decision.
//  7. router/router.go (*table).route picks the first route that matches.
//  8. ratelimit/admit.go (*Admission).Admit is admission: bans, the
//     per-client and per-network buckets, the in-flight cap.
//  9. router/body.go (*Router).takeBody takes the request body before the
//     queue, so a slow body never holds a backend slot.
//  10. router/queue.go (*admitQueue).acquire waits for a slot of the
//     backend's concurrency cap, known clients first under pressure.
//  11. router/breaker/breaker.go (*Breaker).Allow asks the backend's
//     breaker whether the request may go.
//  12. router/relay.go (*Router).relay rewrites the request for the
//     backend, forwards it and copies the answer to the client.
//  13. router/forward.go (*Backend).roundTrip picks a target
//     (router/balance.go (*Backend).pick), asks its breaker, and retries on
//     another target only after a connect error.
//  14. router/upstream/transport.go (*Transport).RoundTrip sends the request
//     on a pooled keep-alive connection; router/upstream/head.go
//     parseResponseHead reads the common answer head in one pass.
//  15. router/serve.go (*Router).finish records the request: admission's
//     Done, stats, the target's latency, the access log.
//
// The router's own answers go through writeSmall (router/forward.go); the
// mapping of forwarding errors to status codes is statusFor
// (router/errors.go), its only place.
package router
