package ratelimit

import (
	"net/netip"
	"time"
)

// ClientFacts is what the admission knows of one client and why it ranks
// where it does: the explain API's answer (the router adds the recent
// decisions, which it keeps in one ring for all clients).
type ClientFacts struct {
	Client    string    `json:"client"`
	TokenID   string    `json:"token_id,omitempty"` // hex, when the client is a reputation token
	Tracked   bool      `json:"tracked"`
	Class     string    `json:"class"`
	Score     Score     `json:"score"`
	Regular   bool      `json:"regular"`  // served well before the current pressure began
	Verified  bool      `json:"verified"` // solved a challenge, or holds a token
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Good      int       `json:"good_answers"`
	Bad       int       `json:"client_error_answers"`
	Refusals  int       `json:"refusals"`
	Strikes   int       `json:"strikes"`
	AuthFails int       `json:"auth_failures"`
	InFlight  int       `json:"in_flight"`
	Banned    bool      `json:"banned"`
	BanUntil  time.Time `json:"ban_until,omitzero"`
	BanLevel  int       `json:"ban_level"` // bans in a row (escalation)
	Revoked   bool      `json:"revoked,omitempty"`
	// Buckets are the client's token buckets: policy and tokens left.
	Buckets []BucketFacts `json:"buckets,omitempty"`
	// Pressure says whether the router is under pressure (UnderPressure)
	// and in attack mode: what makes the class matter.
	Pressure   bool `json:"under_pressure"`
	AttackMode bool `json:"attack_mode"`
}

// BucketFacts is one token bucket of a client.
type BucketFacts struct {
	Policy    string `json:"policy"`
	Remaining int    `json:"remaining"`
}

// Explain returns what is known of client at now. client is an address
// (IPv6 grouped as the router groups it) or a TokenKey.
func (a *Admission) Explain(now time.Time, client netip.Addr) ClientFacts {
	f := ClientFacts{Client: client.String(), Class: ClassNew.String(),
		Pressure: a.UnderPressure(), AttackMode: a.UnderAttack()}
	if id, ok := TokenID(client); ok {
		f.TokenID = hexID(id)
		f.Revoked = a.revs.Revoked(id, now)
	}
	k := a.clientKey(client)
	st := a.state.Load()
	if sd, ok := a.listedStanding(k); ok {
		f.Class, f.Score = sd.Class.String(), sd.Score
		return f
	}
	t := a.ns(now)
	s, e := a.lockFound(k)
	defer s.mu.Unlock()
	if e == nil {
		return f
	}
	v := a.view()
	f.Tracked = true
	f.Score = e.score(t, st.abuse, v)
	f.Class = classOf(f.Score).String()
	f.Regular = e.regular(v)
	f.Verified = e.flags&verified != 0
	f.FirstSeen = a.wall(int64(e.first) * 1e9)
	f.LastSeen = a.wall(e.seen)
	f.Good, f.Bad = int(e.good), int(e.bad)
	f.Refusals, f.Strikes, f.AuthFails = int(e.refusals), int(e.strikes), int(e.authFail)
	f.InFlight = int(e.inflight)
	f.Banned = e.banUntil > t && e.flags&banDry == 0
	if e.banUntil > t {
		f.BanUntil = a.wall(e.banUntil)
	}
	f.BanLevel = int(e.banLevel)
	if s.gen == st.gen {
		for i, id := range e.pol {
			for name, p := range st.byName {
				if lp := st.limit(p); lp != nil && id != 0 && lp.owner.id == id {
					f.Buckets = append(f.Buckets, BucketFacts{Policy: name, Remaining: lp.client.remaining(max(e.tat[i], t), t)})
					break
				}
			}
		}
	}
	return f
}

func hexID(id uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[id&15]
		id >>= 4
	}
	return string(b[:])
}
