package ratelimit

import (
	"cmp"
	"container/heap"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/bulwark-router/bulwark/stats"
)

// Snapshot is the admission state for the admin page. A plain value.
type Snapshot struct {
	TrackedClients int `json:"tracked_clients"`
	// Capacity is abuse.max_tracked_clients.
	Capacity   int `json:"capacity"`
	ActiveBans int `json:"active_bans"`
	// Untracked counts requests decided without a client record because
	// the table was full of clients that could not be evicted.
	Untracked uint64 `json:"untracked"`
	// DryRun counts refusals that dry run let through, by reason.
	DryRun map[string]uint64 `json:"dry_run,omitempty"`
	// Top lists the clients with the highest recent request rate.
	Top      []ClientInfo  `json:"top"`
	Overload OverloadState `json:"overload"`
}

// ClientInfo is one tracked client.
type ClientInfo struct {
	Client netip.Addr `json:"client"`
	// Rate is requests per second over the last second (admitted or not).
	Rate float64 `json:"rate"`
	// Refusals is how many requests were refused while the client was
	// tracked.
	Refusals uint32 `json:"refusals"`
	InFlight int    `json:"in_flight"`
	Conns    int    `json:"conns"`
	// BannedUntil is zero when the client is not banned.
	BannedUntil time.Time `json:"banned_until,omitzero"`
}

// OverloadState is the router-wide shedding state.
type OverloadState struct {
	Enabled     bool  `json:"enabled"`
	MaxInFlight int64 `json:"max_in_flight"`
	InFlight    int64 `json:"in_flight"`
	// Saturated is true while in flight has stayed at the cap for
	// max_queue_wait.
	Saturated bool `json:"saturated"`
	// Threshold is the recent rate (requests/s) from which clients are
	// shed; -1 when nobody is.
	Threshold float64 `json:"threshold"`
	Shed      uint64  `json:"shed"`
}

// Snapshot reports the table, with the topN clients by recent rate. It
// visits every shard, one lock at a time: for the admin page, not the
// request path.
func (a *Admission) Snapshot(topN int) Snapshot {
	t := a.ns(a.now())
	st := a.state.Load()
	ab := st.abuse
	out := Snapshot{Capacity: ab.capacity, Untracked: a.untracked.Load()}
	top := &clientHeap{}
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		out.TrackedClients += s.count()
		for j := range s.ents {
			e := &s.ents[j]
			if e.flags&used == 0 {
				continue
			}
			if e.banUntil > t {
				out.ActiveBans++
			}
			if topN <= 0 {
				continue
			}
			r := e.rate(t)
			if top.Len() == topN && r <= (*top)[0].rate {
				continue
			}
			c := ClientInfo{Client: e.k.addr(), Rate: r, Refusals: e.refusals,
				InFlight: int(e.inflight), Conns: int(e.conns)}
			if e.banUntil > t {
				c.BannedUntil = a.wall(e.banUntil)
			}
			heap.Push(top, ranked{c, r})
			if top.Len() > topN {
				heap.Pop(top)
			}
		}
		s.mu.Unlock()
	}
	out.Top = make([]ClientInfo, 0, top.Len())
	for _, c := range *top {
		out.Top = append(out.Top, c.ClientInfo)
	}
	slices.SortFunc(out.Top, func(x, y ClientInfo) int {
		if c := cmp.Compare(y.Rate, x.Rate); c != 0 {
			return c
		}
		return x.Client.Compare(y.Client)
	})
	for _, r := range stats.Reasons() {
		if n := a.dry[r&15].Load(); n > 0 {
			if out.DryRun == nil {
				out.DryRun = map[string]uint64{}
			}
			out.DryRun[r.String()] = n
		}
	}
	th := math.Float64frombits(a.ov.threshold.Load())
	if math.IsInf(th, 1) {
		th = -1
	}
	since := a.ov.overSince.Load()
	out.Overload = OverloadState{
		Enabled:     ab.ovMax > 0,
		MaxInFlight: ab.ovMax,
		InFlight:    a.inFlight(),
		Saturated:   ab.ovMax > 0 && since != 0 && t-since >= ab.ovWait,
		Threshold:   th,
		Shed:        a.ov.shed.Load(),
	}
	return out
}

type ranked struct {
	ClientInfo
	rate float64
}

// clientHeap is a min-heap on rate: its root is the lightest of the top N.
type clientHeap []ranked

func (h clientHeap) Len() int           { return len(h) }
func (h clientHeap) Less(i, j int) bool { return h[i].rate < h[j].rate }
func (h clientHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *clientHeap) Push(x any)        { *h = append(*h, x.(ranked)) }
func (h *clientHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
