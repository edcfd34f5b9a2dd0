package ratelimit

import (
	"errors"
	"net/netip"
	"sync"
	"time"
)

// Errors of Ban, for the admin API to map to statuses.
var (
	// ErrBanAllowlisted: the client is in abuse.allow, where bans never apply.
	ErrBanAllowlisted = errors.New("client is in abuse.allow: a ban would never apply")
	// ErrBanTableFull: the client table is full of records that cannot be
	// evicted, so the client could not be given one.
	ErrBanTableFull = errors.New("client table full (abuse.max_tracked_clients): try again")
	// ErrTooManyManualBans: maxManualBans admin bans are active.
	ErrTooManyManualBans = errors.New("too many active admin bans: lift some first")
)

// maxManualBans bounds the admin bans whose reason is remembered.
const maxManualBans = 10_000

// manualBans remembers why an operator banned a client, by table key. A
// note stands while the client's ban ends at until: a ban made since by
// the router itself (a different end) is not the operator's. Safe for
// concurrent use.
type manualBans struct {
	mu sync.Mutex
	m  map[key]manualNote
}

type manualNote struct {
	until  int64 // the ban's end, time base
	reason string
	by     string
}

// note records k's ban. It drops notes of ended bans first and refuses a
// new one past maxManualBans.
func (mb *manualBans) note(k key, n manualNote, t int64) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.m == nil {
		mb.m = map[key]manualNote{}
	}
	if _, ok := mb.m[k]; !ok && len(mb.m) >= maxManualBans {
		for k2, n2 := range mb.m {
			if n2.until <= t {
				delete(mb.m, k2)
			}
		}
		if len(mb.m) >= maxManualBans {
			return ErrTooManyManualBans
		}
	}
	mb.m[k] = n
	return nil
}

// lookup returns k's note when it is for a ban ending at until.
func (mb *manualBans) lookup(k key, until int64) (manualNote, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	n, ok := mb.m[k]
	return n, ok && n.until == until
}

func (mb *manualBans) forget(k key) {
	mb.mu.Lock()
	delete(mb.m, k)
	mb.mu.Unlock()
}

// Ban bans client (IPv6 grouped by client_ip.ipv6_prefix) for d from now,
// as an operator asks through the admin API: at once, on the connection
// front's early refusals too, and on every router of the fleet when a
// limit store is configured. It replaces a ban already running. reason and
// by (who asked) are listed by Bans. d must be greater than 0; bounding it
// is the caller's job (see MaxBan).
func (a *Admission) Ban(client netip.Addr, d time.Duration, reason, by string) (BanInfo, error) {
	if d <= 0 {
		return BanInfo{}, errors.New("ban duration must be greater than 0")
	}
	k := a.clientKey(client)
	st := a.state.Load()
	if st.abuse.lists.lookup(k) == allowed {
		return BanInfo{}, ErrBanAllowlisted
	}
	t := a.ns(a.now())
	until := t + int64(d)
	if err := a.manual.note(k, manualNote{until: until, reason: reason, by: by}, t); err != nil {
		return BanInfo{}, err
	}
	s, h := a.shard(k)
	s.mu.Lock()
	e := s.find(h, k)
	if e == nil {
		e = s.insert(h, k, t, a, st.abuse)
	}
	if e == nil {
		s.mu.Unlock()
		a.manual.forget(k)
		return BanInfo{}, ErrBanTableFull
	}
	e.banUntil = until
	e.banLevel = max(e.banLevel, 1)
	e.strikes, e.authFail = 0, 0
	e.flags &^= banAuth | banDry
	info := a.banInfo(e)
	s.mu.Unlock()
	a.shareBan(k, banEvent{until: until, level: 1}, t)
	return info, nil
}

// MaxBan is the longest ban Ban should be asked for:
// abuse.ban.max_duration (at least abuse.ban.duration).
func (a *Admission) MaxBan() time.Duration {
	return time.Duration(a.state.Load().abuse.banMax)
}
