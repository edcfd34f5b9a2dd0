package ratelimit

import (
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// logGate lets at most one log line through per slot per second. A client
// maps to one slot, so it is logged at most once a second; clients that
// share a slot share that second, which also bounds refusal logs under a
// flood to len(slots) lines a second. Safe for concurrent use.
type logGate struct {
	slots [1 << 12]atomic.Uint32 // second+1 of the last line, 0: never
}

func (g *logGate) pass(h uint64, sec uint32) bool {
	s := &g.slots[h&(uint64(len(g.slots))-1)]
	old := s.Load()
	return old != sec+1 && s.CompareAndSwap(old, sec+1)
}

// report counts a refusal (or a dry-run one) and logs it, gated.
func (a *Admission) report(d *Decision, k key, t int64) {
	if d.DryRun {
		a.dry[d.Reason&15].Add(1)
	} else {
		a.rec.Rejected(d.Reason)
	}
	// |1 keeps clients off slot 0, which gates the table-saturated warning.
	if !a.gate.pass(hash64(k, a.seed)|1, uint32(t/1e9)) {
		return
	}
	// A refusal is a warning; one a dry run only counts is information.
	msg, lvl := "request refused", zap.WarnLevel
	if d.DryRun {
		msg, lvl = "request would be refused (dry run)", zap.InfoLevel
	}
	if ce := a.log.Check(lvl, msg); ce != nil {
		policy := ""
		if d.lp != nil {
			policy = d.lp.owner.name
		}
		ce.Write(zap.Stringer("client", k.addr()), zap.String("reason", d.Reason.String()),
			zap.Int("status", d.Status), zap.String("policy", policy),
			zap.Float64("retry_after_s", d.RetryAfter.Round(time.Millisecond).Seconds()))
	}
}
