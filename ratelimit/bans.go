package ratelimit

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"
)

// strike counts one refusal (rate limit, network limit, too many in flight)
// against a client: abuse.ban.after_rejections of them within
// abuse.ban.within ban it. The window starts at the first refusal after a
// quiet spell. Called with the shard locked.
func strike(e *entry, t int64, ab *abuseSettings) banEvent {
	if ab.banAfter <= 0 {
		return banEvent{}
	}
	if e.strikes == 0 || t-e.strikeAt > ab.banWithin {
		e.strikeAt, e.strikes = t, 0
	}
	if e.strikes < math.MaxUint16 {
		e.strikes++
	}
	if int(e.strikes) < ab.banAfter {
		return banEvent{counted: countStrike}
	}
	ev := ban(e, t, ab, false)
	ev.counted = countStrike
	return ev
}

// authFailure counts one failed authentication (a listed status on an
// abuse: auth route): more than abuse.auth_failures.max of them within
// abuse.auth_failures.within ban the client. Called with the shard locked.
func authFailure(e *entry, t int64, ab *abuseSettings) banEvent {
	if e.authFail == 0 || t-e.authAt > ab.authWithin {
		e.authAt, e.authFail = t, 0
	}
	if e.authFail < math.MaxUint16 {
		e.authFail++
	}
	if int(e.authFail) <= ab.authMax {
		return banEvent{counted: countAuth}
	}
	ev := ban(e, t, ab, true)
	ev.counted = countAuth
	return ev
}

// ban bans a client. A client banned again less than abuse.ban.max_duration
// after its previous ban ended gets twice the previous duration, up to
// max_duration; after a quiet max_duration it starts again from
// abuse.ban.duration. A ban made in dry run is recorded (and listed) but
// never enforced. Called with the shard locked.
func ban(e *entry, t int64, ab *abuseSettings, auth bool) banEvent {
	level := 1
	if e.banLevel > 0 && t-e.banUntil < ab.banMax {
		level = min(int(e.banLevel)+1, math.MaxUint8)
	}
	e.banUntil = t + ab.banFor(level)
	e.banLevel = uint8(level)
	e.strikes, e.authFail = 0, 0
	e.flags &^= banAuth | banDry
	if auth {
		e.flags |= banAuth
	}
	if ab.dryRun {
		e.flags |= banDry
	}
	return banEvent{until: e.banUntil, level: e.banLevel, auth: auth, dry: ab.dryRun}
}

func (a *Admission) logBan(k key, ev banEvent, t int64) {
	a.shareBan(k, ev, t)
	why := "rejections"
	if ev.auth {
		why = "auth_failures"
	}
	msg, lvl := "client banned", zap.WarnLevel
	if ev.dry {
		msg, lvl = "client would be banned (dry run)", zap.InfoLevel
	}
	if ce := a.log.Check(lvl, msg); ce != nil {
		ce.Write(zap.Stringer("client", k.addr()), zap.String("why", why),
			zap.Float64("ban_for_s", time.Duration(ev.until-t).Seconds()), zap.Int("ban_level", int(ev.level)))
	}
}

// BanInfo describes one active ban.
type BanInfo struct {
	// Client is the banned client as tracked (an IPv6 client is the first
	// address of its prefix).
	Client netip.Addr `json:"client"`
	Until  time.Time  `json:"until"`
	// Level is the number of bans in a row: the ban lasts
	// abuse.ban.duration doubled Level-1 times, at most max_duration.
	Level int `json:"level"`
	// Why is "rejections", "auth_failures" or "admin" (Ban).
	Why string `json:"why"`
	// Reason and By are an admin ban's reason and who made it.
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
	// DryRun bans are recorded but not enforced.
	DryRun bool `json:"dry_run"`
}

// Bans lists the active bans, soonest to end first.
func (a *Admission) Bans() []BanInfo {
	t := a.ns(a.now())
	var out []BanInfo
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		for j := range s.ents {
			e := &s.ents[j]
			if e.flags&used != 0 && e.banUntil > t {
				out = append(out, a.banInfo(e))
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(x, y BanInfo) int {
		if c := x.Until.Compare(y.Until); c != 0 {
			return c
		}
		return cmp.Compare(x.Client.String(), y.Client.String())
	})
	return out
}

func (a *Admission) banInfo(e *entry) BanInfo {
	b := BanInfo{Client: e.k.addr(), Until: a.wall(e.banUntil), Level: int(e.banLevel),
		Why: "rejections", DryRun: e.flags&banDry != 0}
	if e.flags&banAuth != 0 {
		b.Why = "auth_failures"
	}
	if n, ok := a.manual.lookup(e.k, e.banUntil); ok {
		b.Why, b.Reason, b.By = "admin", n.reason, n.by
	}
	return b
}

// Lift ends client's ban (IPv6 addresses are grouped by
// client_ip.ipv6_prefix first) and forgets its escalation, so a new ban
// starts again at abuse.ban.duration. It reports whether a ban was active.
func (a *Admission) Lift(client netip.Addr) bool {
	k := a.clientKey(client)
	a.manual.forget(k)
	if a.fleet != nil {
		a.fleet.s.ShareLift(k.addr().String()) // every router's ban ends
	}
	t := a.ns(a.now())
	s, h := a.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(h, k)
	if e == nil || e.banUntil <= t {
		return false
	}
	e.banUntil, e.banLevel, e.strikes, e.authFail = 0, 0, 0, 0
	e.flags &^= banAuth | banDry
	return true
}

// clientKey is the table key of an address as the router would give it:
// unmapped, IPv6 masked to client_ip.ipv6_prefix (a token's key whole).
func (a *Admission) clientKey(client netip.Addr) key {
	k := keyOf(client.Unmap())
	if _, tok := TokenID(client); !k.is4() && !tok {
		k = k.masked(a.state.Load().abuse.v6bits)
	}
	return k
}
