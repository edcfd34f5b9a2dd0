package ratelimit

import (
	"time"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// leaseMinRate is the slowest policy lease mode slices: below it a slice
// would be one token (a login's 3/m), so those decide exactly.
const leaseMinRate = 10 // per second

// sliceFor is the slice a router takes of a bucket in lease mode: 100ms of
// the policy's rate, at most half its burst (and of the network bucket's),
// so N routers holding a slice each leave the others tokens; below 2 (a
// policy under 10/s, or a burst under 4) the decision is exact.
func sliceFor(client, net redisstore.Bucket) int {
	if client.Interval <= 0 || int64(time.Second)/client.Interval < leaseMinRate {
		return 1
	}
	n := int(int64(100*time.Millisecond) / client.Interval)
	n = min(n, int(client.Tolerance/client.Interval)/2)
	if net.Key != "" && net.Interval > 0 {
		n = min(n, int(net.Tolerance/net.Interval)/2)
	}
	return max(n, 1)
}
