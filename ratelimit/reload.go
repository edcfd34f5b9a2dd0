package ratelimit

import (
	"fmt"
	"slices"

	"github.com/bulwark-router/bulwark/config"
)

// Update applies a reloaded config. State carries over: a policy kept by
// name keeps its clients' buckets (converted to the new rate and burst,
// keeping each client's token count, when they changed), bans and counters
// are kept, allow/deny lists and every abuse setting switch at once. A
// removed policy's buckets are dropped. On error nothing changes.
func (a *Admission) Update(cfg *config.Config) error {
	ab, err := newAbuseSettings(cfg)
	if err != nil {
		return err
	}
	ab.rep = a.rep
	if ab.capacity/len(a.shards) >= maxShardRecords {
		return fmt.Errorf("abuse.max_tracked_clients: at most %d with %d shards", maxShardRecords*len(a.shards), len(a.shards))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.state.Load()
	if old == nil {
		old = &state{}
	}
	st := &state{gen: old.gen + 1, at: a.ns(a.now()), abuse: ab, byName: map[string]*Policy{}}

	names := make([]string, 0, len(cfg.Limits))
	for name := range cfg.Limits {
		names = append(names, name)
	}
	slices.Sort(names)
	var taken [maxPolicies + 1]bool // ids in use by the old or the new generation
	for id, lp := range old.limits {
		taken[id] = lp != nil
	}
	policies := map[string]*Policy{}
	for _, name := range names {
		p := a.policies[name]
		if p == nil {
			id := slices.Index(taken[1:], false) + 1
			if id == 0 {
				return fmt.Errorf("limits: at most %d policies", maxPolicies)
			}
			taken[id] = true
			p = &Policy{a: a, name: name, id: uint8(id)}
		}
		policies[name] = p
		lp := newLimitParams(p, cfg.Limits[name])
		st.limits[p.id] = lp
		st.byName[name] = p
		if prev := old.limits[p.id]; prev != nil && !sameLimits(prev, lp) {
			st.changes = append(st.changes, change{id: p.id, from: prev, to: lp})
		}
	}
	for name, p := range a.policies {
		if policies[name] == nil {
			st.changes = append(st.changes, change{id: p.id, from: old.limits[p.id]})
		}
	}
	a.policies = policies

	if old.abuse == nil || old.abuse.capacity != ab.capacity {
		a.sketch.Store(a.sketch.Load().Resized(ab.capacity))
	}
	a.state.Store(st)
	a.convertShards(st, ab.capacity)
	return nil
}

// convertShards brings every shard to st's generation now, so the next
// Update finds them all at st.gen (a shard converts lazily only from
// gen-1), and shares capacity, the most clients tracked, among them.
func (a *Admission) convertShards(st *state, capacity int) {
	n := len(a.shards)
	for i := range a.shards {
		limit := capacity / n
		if i < capacity%n {
			limit++
		}
		s := &a.shards[i]
		s.mu.Lock()
		if s.gen != st.gen {
			s.convert(st)
		}
		s.limit = max(limit, 1)
		s.mu.Unlock()
		ns := &a.nets[i]
		ns.mu.Lock()
		if ns.gen != st.gen {
			ns.convert(st)
		}
		ns.limit = max(limit, 1)
		ns.mu.Unlock()
	}
}

// convert applies a reload's changes to this shard's buckets, as of the
// instant the reload happened. Called with s.mu held; s.gen is st.gen-1.
func (s *shard) convert(st *state) {
	if len(st.changes) > 0 {
		for i := range s.ents {
			e := &s.ents[i]
			for j, id := range e.pol {
				if id == 0 {
					continue
				}
				for _, c := range st.changes {
					if c.id != id {
						continue
					}
					if c.to == nil {
						e.pol[j], e.tat[j] = 0, 0
					} else {
						e.tat[j] = c.from.client.convert(e.tat[j], st.at, &c.to.client)
					}
				}
			}
		}
	}
	s.gen = st.gen
}
