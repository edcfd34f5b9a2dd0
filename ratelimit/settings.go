package ratelimit

import (
	"fmt"

	"github.com/bulwark-router/bulwark/config"
)

// state is one generation of the configuration as the request path sees it.
// Update builds a new one and publishes it atomically. Immutable once
// published.
type state struct {
	gen uint64
	// at is the instant (time base) the generation was installed: buckets
	// of changed policies are converted as of this instant.
	at      int64
	limits  [maxPolicies + 1]*limitParams // by Policy.id; nil: unused
	changes []change                      // from generation gen-1
	byName  map[string]*Policy
	abuse   *abuseSettings
}

// limit returns p's parameters in this generation, nil when p is nil or was
// removed.
func (st *state) limit(p *Policy) *limitParams {
	if p == nil {
		return nil
	}
	if lp := st.limits[p.id]; lp != nil && lp.owner == p {
		return lp
	}
	return nil
}

// abuseSettings is config.Abuse in the form the request path uses, times in
// nanoseconds. Immutable.
type abuseSettings struct {
	dryRun      bool
	maxConns    int
	maxInFlight int32
	capacity    int // max_tracked_clients
	v6bits      int // client_ip.ipv6_prefix

	banAfter  int // 0: no bans for rejections
	banWithin int64
	banDur    int64
	banMax    int64

	authMax    int // 0: no auth-failure scoring
	authWithin int64
	authStatus [10]uint64 // bitmap of statuses 0..639

	ovMax  int64 // 0: no overload shedding
	ovWait int64

	lists *prefixLists
	rep   repParams // from the Admission's options, not the file
}

func newAbuseSettings(c *config.Config) (*abuseSettings, error) {
	ab := c.Abuse
	if ab.MaxTrackedClients < 1 {
		return nil, fmt.Errorf("abuse.max_tracked_clients: must be at least 1")
	}
	s := &abuseSettings{
		dryRun:      ab.DryRun,
		maxConns:    ab.MaxConnsPerClient,
		maxInFlight: int32(min(ab.MaxInFlightPerClient, 1<<30)),
		capacity:    ab.MaxTrackedClients,
		v6bits:      c.ClientIP.IPv6Prefix,
		banAfter:    ab.Ban.AfterRejections,
		banWithin:   int64(ab.Ban.Within),
		banDur:      int64(ab.Ban.Duration),
		banMax:      int64(max(ab.Ban.MaxDuration, ab.Ban.Duration)),
		authMax:     ab.AuthFailures.Max,
		authWithin:  int64(ab.AuthFailures.Within),
		ovMax:       int64(ab.Overload.MaxInFlight),
		ovWait:      int64(ab.Overload.MaxQueueWait),
	}
	if s.v6bits <= 0 || s.v6bits > 128 {
		s.v6bits = 128
	}
	if (s.banAfter > 0 || s.authMax > 0) && s.banDur <= 0 {
		return nil, fmt.Errorf("abuse.ban.duration: must be greater than 0")
	}
	for _, st := range ab.AuthFailures.Statuses {
		if st < 0 || st >= 640 {
			return nil, fmt.Errorf("abuse.auth_failures.statuses: invalid status %d", st)
		}
		s.authStatus[st/64] |= 1 << (st % 64)
	}
	lists, err := newPrefixLists(ab.Allow, ab.Deny)
	if err != nil {
		return nil, err
	}
	s.lists = lists
	return s, nil
}

// authFailure reports whether status counts against a client on an auth
// route.
func (s *abuseSettings) authFailure(status int) bool {
	return s.authMax > 0 && status >= 0 && status < 640 && s.authStatus[status/64]&(1<<(status%64)) != 0
}

// banFor returns the length of a client's level-th ban (1 for the first):
// abuse.ban.duration doubled for each ban before it, at most max_duration.
func (s *abuseSettings) banFor(level int) int64 {
	d := s.banDur
	for i := 1; i < level && d < s.banMax; i++ {
		d *= 2
	}
	return min(d, s.banMax)
}
