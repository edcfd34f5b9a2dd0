package ratelimit

import (
	"strconv"

	"github.com/bulwark-router/bulwark/config"
	"golang.org/x/time/rate"
)

// maxPolicies is how many limit policies one config may hold: a client
// record names its buckets' policies in one byte (0 is "no policy").
const maxPolicies = 255

// Policy names a limits.POLICY of the config. The router looks it up once per
// route with Admission.Policy and passes it to Admit. A *Policy stays valid
// across Update: a policy kept by name keeps its identity (and its clients'
// buckets), a changed one applies its new rate, a removed one stops limiting.
// Its methods are safe for concurrent use.
type Policy struct {
	a    *Admission
	name string
	id   uint8
}

// Name returns the policy's name in the config.
func (p *Policy) Name() string { return p.name }

// Limit returns the policy's current per-client rate and burst, or 0, 0 when
// the policy was removed by a reload.
func (p *Policy) Limit() (rate.Limit, int) {
	if lp := p.a.state.Load().limit(p); lp != nil {
		return lp.client.limit, lp.client.burst
	}
	return 0, 0
}

// limitParams is one generation of a policy: its buckets and headers.
// Immutable once built.
type limitParams struct {
	owner  *Policy
	client bucket
	dryRun bool
	net    *netParams // nil without per_network

	hdrPolicy    []string // RateLimit-Policy value (client bucket)
	hdrNetPolicy []string // RateLimit-Policy value listing both buckets
	quoted       string   // `"name"`
	netQuoted    string   // `"name-network"`
}

type netParams struct {
	bucket
	v4, v6 int // prefix lengths
}

func newLimitParams(owner *Policy, c *config.LimitPolicy) *limitParams {
	lp := &limitParams{owner: owner, client: newBucket(c.Rate, c.Burst), dryRun: c.DryRun}
	lp.quoted = strconv.Quote(owner.name)
	lp.hdrPolicy = []string{policyItem(lp.quoted, &lp.client)}
	if n := c.PerNetwork; n != nil {
		lp.net = &netParams{bucket: newBucket(n.Rate, n.Burst), v4: n.IPv4Prefix, v6: n.IPv6Prefix}
		lp.netQuoted = strconv.Quote(owner.name + "-network")
		lp.hdrNetPolicy = []string{lp.hdrPolicy[0] + ", " + policyItem(lp.netQuoted, &lp.net.bucket)}
	}
	return lp
}

// policyItem is one member of RateLimit-Policy
// (draft-ietf-httpapi-ratelimit-headers): quota q = the burst, window w = the
// seconds the bucket takes to refill from empty.
func policyItem(quoted string, b *bucket) string {
	return quoted + ";q=" + strconv.Itoa(b.burst) + ";w=" + strconv.FormatInt(b.window(), 10)
}

// sameLimits reports whether two generations limit identically (dry_run
// aside), so their buckets need no conversion.
func sameLimits(x, y *limitParams) bool {
	if x.client != y.client || (x.net == nil) != (y.net == nil) {
		return false
	}
	return x.net == nil || *x.net == *y.net
}

// change is what a reload does to one policy's buckets: convert them from
// one generation to the next, or drop them (to == nil).
type change struct {
	id       uint8
	from, to *limitParams
}
