package router

import (
	"strings"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// route is a compiled config.Route. Matching reads only immutable fields and
// allocates nothing.
type route struct {
	index   int
	name    string // stats name
	backend *Backend
	policy  string            // limit policy name; "" for none
	limit   *ratelimit.Policy // nil: no rate limit
	keyed   *keyedLimit       // the policy's buckets belong to a value of the request (keyed.go)
	// inspect is how much of the body rules may read (routes[].inspect_body
	// or a body key; bodyrules.go); 0: none.
	inspect int
	auth    bool // responses count toward abuse.auth_failures
	// responseTimeout replaces the backend's response_timeout; 0: none.
	responseTimeout time.Duration
	// reqEdits and resEdits are headers.request and headers.response; nil
	// when they edit nothing.
	reqEdits, resEdits *headerEdits
	// rewrite changes the path the backend gets; nil: none.
	rewrite *prefixRewrite
	perAPI  bool
	// apiPrefix is the prefix stripped before taking the per-API segment.
	apiPrefix string

	path     string
	paths    map[string]struct{}
	prefix   string
	methods  []string
	host     string
	anyMatch bool
}

func compileRoute(i int, rc *config.Route, b *Backend) *route {
	m := rc.Match
	r := &route{
		index:           i,
		name:            rc.Stats.Name,
		backend:         b,
		auth:            rc.Abuse == "auth",
		perAPI:          rc.Stats.PerAPI,
		responseTimeout: rc.Timeouts.Response.D(),
		path:            m.Path,
		prefix:          m.PathPrefix,
		methods:         m.Methods,
		host:            strings.ToLower(m.Host),
	}
	r.reqEdits = compileEdits(rc.Headers.Request, r.name)
	r.resEdits = compileEdits(rc.Headers.Response, r.name)
	r.rewrite = compilePrefix(rc.StripPrefix, rc.RewritePrefix, m.PathPrefix)
	if rc.Limit != "none" {
		r.policy = rc.Limit
	}
	if len(m.Paths) > 0 {
		r.paths = make(map[string]struct{}, len(m.Paths))
		for _, p := range m.Paths {
			r.paths[p] = struct{}{}
		}
	}
	r.apiPrefix = m.PathPrefix
	r.anyMatch = r.path == "" && r.paths == nil && r.prefix == "" && len(r.methods) == 0 && r.host == ""
	return r
}

// match reports whether a request of method for host (the Host field) and
// path (unescaped) is the route's.
func (r *route) match(method, host, p string) bool {
	if r.anyMatch {
		return true
	}
	// Cheapest first: most requests fail a route's method list or path
	// before its path set is hashed.
	if len(r.methods) > 0 {
		ok := false
		for _, m := range r.methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if r.path != "" && p != r.path {
		return false
	}
	if r.prefix != "" && !strings.HasPrefix(p, r.prefix) {
		return false
	}
	if r.paths != nil {
		if _, ok := r.paths[p]; !ok {
			return false
		}
	}
	if r.host != "" && !hostMatches(r.host, host) {
		return false
	}
	return true
}

// hostMatches compares a configured host with a request's Host header,
// ignoring case and any port. A configured "*.example.com" matches one or
// more labels in front of example.com.
func hostMatches(want, got string) bool {
	if i := strings.LastIndexByte(got, ':'); i >= 0 && !strings.HasSuffix(got, "]") {
		got = got[:i]
	}
	got = strings.TrimSuffix(got, ".")
	if rest, ok := strings.CutPrefix(want, "*."); ok {
		return len(got) > len(rest)+1 && got[len(got)-len(rest)-1] == '.' &&
			strings.EqualFold(got[len(got)-len(rest):], rest)
	}
	return strings.EqualFold(want, got)
}

// apiName returns the per-API segment of path for a per_api route: the path
// segment right after the route's path_prefix ("/wsapi/session_context" →
// "session_context"), or the last segment for routes without a prefix
// ("/wsapi/stage_user" → "stage_user"). The stats recorder bounds and
// sanitises it.
func (r *route) apiName(path string) string {
	if r.apiPrefix == "" {
		return path[strings.LastIndexByte(path, '/')+1:]
	}
	rest, ok := strings.CutPrefix(path, r.apiPrefix)
	if !ok {
		return ""
	}
	rest = strings.TrimPrefix(rest, "/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
