package router

import "math/rand/v2"

type balancePolicy uint8

const (
	roundRobin balancePolicy = iota
	leastRequests
	powerOfTwo
)

func balancePolicyFor(name string) balancePolicy {
	switch name {
	case "least_requests":
		return leastRequests
	case "p2c":
		return powerOfTwo
	}
	return roundRobin
}

// pick returns a ready target not in tried (a bit set of target indexes), or
// nil when none is left. It allocates nothing.
func (b *Backend) pick(tried uint64) *Target {
	if b.weighted {
		return b.pickWeighted(tried)
	}
	n := len(b.targets)
	if n == 1 {
		t := b.targets[0]
		if tried&1 == 0 && t.ready() {
			return t
		}
		return nil
	}
	switch b.policy {
	case leastRequests:
		return b.pickLeast(tried)
	case powerOfTwo:
		return b.pickP2C(tried)
	}
	start := int(b.rr.Add(1) % uint64(n))
	for i := range n {
		t := b.targets[(start+i)%n]
		if tried&(1<<t.index) == 0 && t.ready() {
			return t
		}
	}
	return nil
}

// pickLeast scans for the fewest in-flight requests; ties go round robin so
// an idle pool still spreads.
func (b *Backend) pickLeast(tried uint64) *Target {
	n := len(b.targets)
	start := int(b.rr.Add(1) % uint64(n))
	var best *Target
	var bestLoad int64
	for i := range n {
		t := b.targets[(start+i)%n]
		if tried&(1<<t.index) != 0 || !t.ready() {
			continue
		}
		if l := t.inFlight.Load(); best == nil || l < bestLoad {
			best, bestLoad = t, l
		}
	}
	return best
}

// pickP2C draws two distinct targets at random and keeps the less loaded
// one; when either draw is unusable it falls back to a full scan.
func (b *Backend) pickP2C(tried uint64) *Target {
	n := len(b.targets)
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	if t := betterOfTwo(b.targets[i], b.targets[j], tried); t != nil {
		return t
	}
	return b.pickLeast(tried)
}

// betterOfTwo returns the one of a and c not in tried and ready, the less
// loaded for its weight when both are (a on a tie), or nil when neither is.
func betterOfTwo(a, c *Target, tried uint64) *Target {
	okA, okC := usable(a, tried), usable(c, tried)
	switch {
	case okA && okC:
		if lessLoaded(c, a) {
			return c
		}
		return a
	case okA:
		return a
	case okC:
		return c
	}
	return nil
}
