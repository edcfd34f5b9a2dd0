package config

import (
	"fmt"
	"strings"
)

// routes checks each route: its match, backend, limit and edits.
func (v *validator) routes() {
	c := v.c
	if len(c.Routes) == 0 {
		v.fail("routes", "at least one route is required")
	}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if r.Backend == "" {
			v.fail(p+".backend", "required")
		} else if _, ok := c.Backends[r.Backend]; !ok {
			v.fail(p+".backend", "unknown backend %q%s", r.Backend, suggest(r.Backend, c.BackendNames()))
		}
		m := r.Match
		if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
			v.fail(p+".match.path", "must start with /")
		} else if m.Path != "" {
			v.matchable(p+".match.path", m.Path, false)
		}
		if m.PathPrefix != "" && !strings.HasPrefix(m.PathPrefix, "/") {
			v.fail(p+".match.path_prefix", "must start with /")
		} else if m.PathPrefix != "" {
			v.matchable(p+".match.path_prefix", m.PathPrefix, true)
		}
		if m.Path != "" && len(m.Paths) > 0 {
			v.fail(p+".match", "use path or paths, not both")
		}
		for j, pp := range m.Paths {
			if !strings.HasPrefix(pp, "/") {
				v.fail(fmt.Sprintf("%s.match.paths[%d]", p, j), "must start with /")
			} else {
				v.matchable(fmt.Sprintf("%s.match.paths[%d]", p, j), pp, false)
			}
		}
		for j, meth := range m.Methods {
			if !methodRE.MatchString(meth) {
				v.fail(fmt.Sprintf("%s.match.methods[%d]", p, j), "invalid method %q (want upper case, e.g. GET)", meth)
			}
		}
		if strings.ContainsAny(m.Host, "/ ") {
			v.fail(p+".match.host", "invalid host %q", m.Host)
		}
		if r.Limit != "" && r.Limit != "none" {
			if _, ok := c.Limits[r.Limit]; !ok {
				v.fail(p+".limit", "unknown limit policy %q%s", r.Limit, suggest(r.Limit, append(sortedKeys(c.Limits), "none")))
			}
		}
		switch r.Abuse {
		case "", "auth":
		default:
			v.fail(p+".abuse", "unknown value %q (want auth)", r.Abuse)
		}
		if !statNameRE.MatchString(r.Stats.Name) {
			v.fail(p+".stats.name", "invalid name %q (want [A-Za-z0-9_]{1,64})", r.Stats.Name)
		}
		v.headerEdits(p+".headers.request", r.Headers.Request, true)
		v.headerEdits(p+".headers.response", r.Headers.Response, false)
		v.prefixes(p, r)
	}
}

// matchable fails a route path that no normalised request path can match.
func (v *validator) matchable(path, p string, prefix bool) {
	if why := unmatchable(p, prefix, v.c.Server.Path); why != "" {
		v.fail(path, "%q never matches: %s", p, why)
	}
}
