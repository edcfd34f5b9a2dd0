package ratelimit

// RateLimit returns what the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers say of d's limit policy: the
// RateLimit-Policy value (quota q = burst, window w = seconds to refill
// from empty; every policy's bucket, its network's too), and the name of
// the bucket that decided (the network's for a per-network refusal). Both
// are shared and never changed; policy is nil when no limit policy
// applied.
func (d *Decision) RateLimit() (policy []string, name string) {
	lp := d.lp
	if lp == nil {
		return nil, ""
	}
	policy, name = lp.hdrPolicy, lp.quoted
	if lp.net != nil {
		policy = lp.hdrNetPolicy
	}
	if d.net {
		name = lp.netQuoted
	}
	return policy, name
}
