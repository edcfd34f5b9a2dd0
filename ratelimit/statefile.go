package ratelimit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// The state file (abuse.state_file) keeps what a restart must not hand
// back to an attacker or take from a regular: bans and their escalation
// levels, reputation records and token revocations. It is written every
// stateEvery by the sweeper and on Close (the drain), atomically (a
// temporary file renamed over it), and read by New. Times are kept as ages
// relative to the write, so a record read back an hour later is an hour
// older. One JSON object a line: a header, then records.

// stateEvery is how often the sweeper writes the state file.
const stateEvery = 30 * time.Second

// stateVersion is the file's format.
const stateVersion = 1

type stateHeader struct {
	Version     int               `json:"bulwark_state"`
	Written     time.Time         `json:"written"`
	Revocations map[string]string `json:"revocations,omitempty"` // token id (hex) → expiry, RFC 3339
}

// stateRecord is one client's record. Ages and durations in seconds.
type stateRecord struct {
	Client   string `json:"client"`
	FirstAge int64  `json:"first_age_s"`
	Good     uint8  `json:"good,omitempty"`
	Bad      uint8  `json:"bad,omitempty"`
	Flags    uint8  `json:"flags,omitempty"` // calmGood, verified
	BanLeft  int64  `json:"ban_left_s,omitempty"`
	BanAgo   int64  `json:"ban_ago_s,omitempty"` // since the last ban ended (escalation memory)
	BanLevel uint8  `json:"ban_level,omitempty"`
	BanAuth  bool   `json:"ban_auth,omitempty"`
	// An operator's ban: its reason and who made it (admin API).
	BanReason string `json:"ban_reason,omitempty"`
	BanBy     string `json:"ban_by,omitempty"`
}

// WithStateFile keeps bans, reputation and revocations in path across
// restarts (see statefile.go). "" (the default) keeps nothing.
func WithStateFile(path string) Option {
	return func(o *options) error {
		o.stateFile = path
		return nil
	}
}

// keepFlags are the entry flags a state file keeps.
const keepFlags = calmGood | verified

// worthKeeping reports whether a record says anything a restart should
// not forget.
func (e *entry) worthKeeping(t int64, ab *abuseSettings) bool {
	return e.banUntil > t || e.banLevel > 0 && t-e.banUntil < ab.banMax || e.reputable(t, ab) ||
		e.flags&keepFlags != 0 && t-e.seen < repKeep
}

// SaveState writes the state file now. Safe for concurrent use; a no-op
// without a state file.
func (a *Admission) SaveState() error {
	if a.stateFile == "" {
		return nil
	}
	a.stateMu.Lock()
	defer a.stateMu.Unlock()
	now := a.now()
	t := a.ns(now)
	ab := a.state.Load().abuse
	f, err := os.CreateTemp(filepath.Dir(a.stateFile), filepath.Base(a.stateFile)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	h := stateHeader{Version: stateVersion, Written: now.UTC()}
	if revs := a.revs.List(now); len(revs) > 0 {
		h.Revocations = map[string]string{}
		for id, until := range revs {
			h.Revocations[fmt.Sprintf("%016x", id)] = until.UTC().Format(time.RFC3339)
		}
	}
	if err := enc.Encode(h); err != nil {
		f.Close()
		return err
	}
	var recs []stateRecord
	for i := range a.shards {
		s := &a.shards[i]
		recs = recs[:0]
		s.mu.Lock()
		for j := range s.ents {
			e := &s.ents[j]
			if e.flags&used == 0 || !e.worthKeeping(t, ab) {
				continue
			}
			r := stateRecord{Client: e.k.addr().String(), FirstAge: (t - int64(e.first)*1e9) / 1e9,
				Good: e.good, Bad: e.bad, Flags: e.flags & keepFlags, BanLevel: e.banLevel, BanAuth: e.flags&banAuth != 0}
			if e.banUntil > t && e.flags&banDry == 0 {
				r.BanLeft = (e.banUntil - t + 1e9 - 1) / 1e9
				if n, ok := a.manual.lookup(e.k, e.banUntil); ok {
					r.BanReason, r.BanBy = n.reason, n.by
				}
			} else if e.banLevel > 0 {
				r.BanAgo = (t - e.banUntil) / 1e9
			}
			recs = append(recs, r)
		}
		s.mu.Unlock()
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), a.stateFile)
}

// loadState reads the state file back, if there is one: called by New
// before the Admission answers anything.
func (a *Admission) loadState() error {
	f, err := os.Open(a.stateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return sc.Err()
	}
	var h stateHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version != stateVersion {
		return fmt.Errorf("%s: not a bulwark state file of version %d", a.stateFile, stateVersion)
	}
	now := a.now()
	for id, until := range h.Revocations {
		var n uint64
		u, err := time.Parse(time.RFC3339, until)
		if _, serr := fmt.Sscanf(id, "%x", &n); serr == nil && err == nil && u.After(now) {
			a.revs.Revoke(n, u)
		}
	}
	t := a.ns(now)
	ab := a.state.Load().abuse
	n := 0
	for sc.Scan() {
		var r stateRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		c, err := netip.ParseAddr(r.Client)
		if err != nil || r.FirstAge < 0 {
			continue
		}
		k := keyOf(c)
		s, hh := a.shard(k)
		s.mu.Lock()
		e := s.find(hh, k)
		if e == nil {
			e = s.insert(hh, k, t, a, ab)
		}
		if e != nil {
			first := max(t/1e9-r.FirstAge, 1)
			e.first, e.seen = uint32(first), t
			e.good, e.bad, e.flags = r.Good, r.Bad, e.flags|r.Flags&keepFlags
			e.banLevel = r.BanLevel
			switch {
			case r.BanLeft > 0:
				e.banUntil = t + min(r.BanLeft, int64(ab.banMax/1e9))*1e9
				if r.BanBy != "" || r.BanReason != "" {
					a.manual.note(k, manualNote{until: e.banUntil, reason: r.BanReason, by: r.BanBy}, t)
				}
			case r.BanLevel > 0:
				e.banUntil = max(t-r.BanAgo*1e9, 1)
			}
			if r.BanAuth {
				e.flags |= banAuth
			}
			n++
		}
		s.mu.Unlock()
	}
	a.log.Info("state file read", zap.String("file", a.stateFile), zap.Int("records", n),
		zap.Int("revocations", len(h.Revocations)), zap.Duration("age", now.Sub(h.Written)))
	return sc.Err()
}
