// Package hostile holds bulwark's hostile-peer suite: table-driven cases in
// which a client or a backend sends what an attacker would (smuggling
// attempts, malformed framing, protocol confusion), run against a real
// router on loopback with both upstream transports. Every case checks the
// same invariants: no bytes of one client's exchange reach another client,
// no client fault moves a breaker, and the backend never sees a request a
// client did not send. The package has no code of its own; see its tests.
package hostile
