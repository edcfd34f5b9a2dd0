package ratelimit

import (
	"math"
	"time"

	"go.uber.org/zap"
)

// run is the sweeper: every interval it expires idle records, trims shards
// over a lowered max_tracked_clients and reports the table's size. Owned by
// the Admission; Close stops it.
func (a *Admission) run(every time.Duration) {
	defer close(a.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-tick.C:
			t := a.ns(a.now())
			a.sweep(t)
			if a.stateFile != "" && t-a.stateAt >= int64(stateEvery) {
				a.stateAt = t
				if err := a.SaveState(); err != nil {
					a.log.Error("state file not written", zap.String("file", a.stateFile), zap.Error(err))
				}
			}
		}
	}
}

// sweepResult is what one sweep saw.
type sweepResult struct {
	tracked, bans int
	peak          float64
}

// sweep visits every shard once, one lock at a time. A record goes when it
// has nothing worth keeping (see entry.class: buckets full again, no ban to
// remember, no counter inside its window, nothing in flight) and its client
// has been idle for the idle TTL. Metrics are reported after the locks are
// released.
func (a *Admission) sweep(t int64) sweepResult {
	st := a.state.Load()
	ab := st.abuse
	var r sweepResult
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		if s.gen != st.gen {
			s.convert(st)
		}
		for j := range s.ents {
			e := &s.ents[j]
			if e.flags&used == 0 {
				continue
			}
			if t-e.seen >= a.idle && e.class(t, ab) == fresh {
				s.remove(uint32(j))
				continue
			}
			if e.banUntil > t {
				r.bans++
			}
			r.peak = math.Max(r.peak, e.rate(t))
		}
		for s.count() > s.limit {
			p, ok := s.evict(t, a, ab)
			if !ok {
				break
			}
			s.free = append(s.free, p)
		}
		r.tracked += s.count()
		s.mu.Unlock()

		ns := &a.nets[i]
		ns.mu.Lock()
		ns.sweep(st, t)
		ns.mu.Unlock()
	}
	a.ov.peak.Store(math.Float64bits(r.peak))
	a.rec.TrackedClients(r.tracked)
	a.rec.BansActive(r.bans)
	a.checkAttack(t, ab)
	return r
}
