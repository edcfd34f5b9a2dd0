package router

import "github.com/bulwark-router/bulwark/stats"

// declareSeries gives the recorder the state of every backend t built anew
// (breakers, and "up" for targets no active check watches, whose checker
// reports them itself) and declares every route's and backend's series, so
// the first scrape has them all. Called before t is served.
func (rt *Router) declareSeries(t, old *table) {
	series, _ := rt.rec.(stats.Series)
	for name, b := range t.backends {
		if old != nil && old.backends[name] == b {
			continue // kept, with its series
		}
		rt.rec.BreakerState(name, "", b.breaker.State())
		for _, tg := range b.targets {
			rt.rec.BreakerState(name, tg.raw, tg.breaker.State())
			if b.cfg.Health.Path == "" {
				rt.rec.BackendUp(name, tg.raw, true)
			}
		}
		if series != nil {
			series.DeclareBackend(name)
		}
	}
	if series != nil {
		for _, rte := range t.routes {
			series.DeclareRoute(rte.name, rte.backend.name)
		}
	}
}

// forgetRemovedTargets drops the per-target series of targets that left a
// backend (and the backend's own when it left), when the recorder keeps
// such series.
func (rt *Router) forgetRemovedTargets(old, cur *Backend) {
	f, ok := rt.rec.(stats.Series)
	if !ok {
		return
	}
	if cur == nil {
		f.Forget(old.name, "")
	}
	for _, tg := range old.targets {
		kept := false
		if cur != nil {
			for _, nt := range cur.targets {
				kept = kept || nt.raw == tg.raw
			}
		}
		if !kept {
			f.Forget(old.name, tg.raw)
		}
	}
}
