package router

import "math/rand/v2"

// setTiers splits the targets into primaries and backups and says whether
// picking needs the weighted path: a weight other than 1, or a backup.
func (b *Backend) setTiers() {
	b.primaries, b.backups = nil, nil
	b.weighted = false
	for _, t := range b.targets {
		if t.backup {
			b.backups = append(b.backups, t)
		} else {
			b.primaries = append(b.primaries, t)
		}
		if t.weight != 1 || t.backup {
			b.weighted = true
		}
	}
}

// usable reports whether t may be picked for a request that already tried
// the targets in tried.
func usable(t *Target, tried uint64) bool {
	return tried&(1<<t.index) == 0 && t.ready()
}

// tier returns the targets to balance over: the primaries while one of
// them is usable, else the backups (nginx's backup servers).
func (b *Backend) tier(tried uint64) []*Target {
	for _, t := range b.primaries {
		if usable(t, tried) {
			return b.primaries
		}
	}
	return b.backups
}

// pickWeighted is pick for a backend with weights or backups: each policy
// is skewed by weight within the tier in use.
func (b *Backend) pickWeighted(tried uint64) *Target {
	ts := b.tier(tried)
	switch b.policy {
	case leastRequests:
		return b.pickLeastWeighted(ts, tried)
	case powerOfTwo:
		return b.pickP2CWeighted(ts, tried)
	}
	return b.smooth(ts, tried, -1, 0)
}

// smooth is nginx's smooth weighted round robin over the usable targets of
// ts: each gains its weight, the richest is picked and pays the total, so
// weights 5:1:1 give a b a c a a a rather than a a a a a b c. With load >= 0
// only the targets whose in_flight/weight equals load/w take part (the
// ties of a least-loaded pick). It allocates nothing.
func (b *Backend) smooth(ts []*Target, tried uint64, load, w int64) *Target {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	var best *Target
	var total int64
	for _, t := range ts {
		if !usable(t, tried) || load >= 0 && t.inFlight.Load()*w != load*t.weight {
			continue
		}
		t.cw += t.weight
		total += t.weight
		if best == nil || t.cw > best.cw {
			best = t
		}
	}
	if best != nil {
		best.cw -= total
	}
	return best
}

// pickLeastWeighted picks the lowest in_flight/weight; ties (an idle pool,
// or sequential requests) go by smooth weighted round robin, so the spread
// follows the weights there too.
func (b *Backend) pickLeastWeighted(ts []*Target, tried uint64) *Target {
	var best *Target
	for _, t := range ts {
		if !usable(t, tried) {
			continue
		}
		if best == nil || lessLoaded(t, best) {
			best = t
		}
	}
	if best == nil {
		return nil
	}
	// in_flight may move between the two passes: then nobody ties and the
	// least loaded one found stands.
	if t := b.smooth(ts, tried, best.inFlight.Load(), best.weight); t != nil {
		return t
	}
	return best
}

// lessLoaded reports whether a's in_flight/weight is below c's.
func lessLoaded(a, c *Target) bool {
	return a.inFlight.Load()*c.weight < c.inFlight.Load()*a.weight
}

// pickP2CWeighted draws two distinct targets of ts with chances in
// proportion to their weights and keeps the one with the lower
// in_flight/weight (the first on a tie); when either draw is unusable it
// falls back to pickLeastWeighted.
func (b *Backend) pickP2CWeighted(ts []*Target, tried uint64) *Target {
	if len(ts) < 2 {
		return b.pickLeastWeighted(ts, tried)
	}
	var total int64
	for _, t := range ts {
		total += t.weight
	}
	i := drawWeighted(ts, total, -1)
	j := drawWeighted(ts, total-ts[i].weight, i)
	if t := betterOfTwo(ts[i], ts[j], tried); t != nil {
		return t
	}
	return b.pickLeastWeighted(ts, tried)
}

// drawWeighted returns the index of a target of ts drawn with chances in
// proportion to weight, skipping index skip; total is the weights' sum
// without skip's.
func drawWeighted(ts []*Target, total int64, skip int) int {
	r := rand.Int64N(total)
	last := 0
	for i, t := range ts {
		if i == skip {
			continue
		}
		last = i
		if r < t.weight {
			return i
		}
		r -= t.weight
	}
	return last
}
