package ratelimit

import (
	"net/netip"

	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// Reputation standing shared through the limit store (see README, Fleets):
//
//   - A router writes a client's standing (first seen, good answers, the
//     calm and verified flags) when the client becomes known there, and
//     again when it earns a regular's standing: a write per client per
//     step, none per request.
//   - A router asks for a client's standing once, when it first sees the
//     client (a new record), off the request path: the client's first
//     requests are judged by what this router knows; the answer, within a
//     round trip, raises the record as a token does (first seen no later,
//     good answers no fewer, flags added), never lowers it.
//   - At start, the records read from abuse.state_file are asked for too,
//     and what the store holds replaces what the file said.
//   - A ban anywhere deletes the standing (the client starts over).

// Flags that say what of a record's standing this router has written.
const (
	repSharedKnown uint8 = 1 << 6
	repSharedCalm  uint8 = 1 << 7
)

// openRep starts sharing standing; called by openStore after the state
// file was read.
func (a *Admission) openRep(s *redisstore.Store) {
	s.OnRep(a.applyRep)
	var clients []string
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		for j := range sh.ents {
			if e := &sh.ents[j]; e.flags&used != 0 {
				clients = append(clients, e.k.addr().String())
			}
		}
		sh.mu.Unlock()
	}
	s.AskReps(clients)
}

// askRep asks the store for a client this router has just begun to track.
func (a *Admission) askRep(k key) {
	if a.fleet != nil {
		a.fleet.s.AskRep(k.addr().String(), false)
	}
}

// repToShare is the standing of e to write, if it has earned a step it
// has not written yet (marking it written). Called with the shard locked.
func (a *Admission) repToShare(e *entry, t int64, ab *abuseSettings) (redisstore.Rep, bool) {
	var step uint8
	switch {
	case e.flags&calmGood != 0 && e.flags&repSharedCalm == 0:
		step = repSharedCalm | repSharedKnown
	case e.flags&repSharedKnown == 0 && e.known(t, ab, 0):
		step = repSharedKnown
	default:
		return redisstore.Rep{}, false
	}
	e.flags |= step
	return redisstore.Rep{First: a.wall(int64(e.first) * 1e9), Good: e.good, Flags: e.flags & keepFlags}, true
}

// shareRep writes k's standing r.
func (a *Admission) shareRep(k key, r redisstore.Rep) { a.fleet.s.ShareRep(k.addr().String(), r) }

// applyRep takes a standing the store answered with. It runs on the
// store's goroutine.
func (a *Admission) applyRep(client string, r redisstore.Rep, replace bool) {
	addr, err := netip.ParseAddr(client)
	if err != nil {
		return
	}
	t := a.ns(a.now())
	first := a.ns(r.First) / 1e9
	if first < 1 {
		first = 1
	}
	k := a.clientKey(addr)
	s, h := a.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(h, k)
	if e == nil {
		return // gone again: its next first request asks anew
	}
	flags := r.Flags & keepFlags
	if replace {
		e.first, e.good = uint32(min(first, t/1e9)), r.Good
		e.flags = e.flags&^keepFlags | flags
	} else {
		if first < int64(e.first) {
			e.first = uint32(first)
		}
		e.good = max(e.good, r.Good)
		e.flags |= flags
	}
	// What the store holds needs no writing back from here.
	e.flags |= repSharedKnown
	if flags&calmGood != 0 {
		e.flags |= repSharedCalm
	}
}
