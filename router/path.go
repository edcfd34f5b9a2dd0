package router

import (
	"net/http"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/pathnorm"
)

// pathRules is server.path, compiled.
type pathRules struct {
	on   bool
	opts pathnorm.Options
}

func compilePathRules(c config.PathNorm) pathRules {
	pr := pathRules{on: c.Normalize, opts: pathnorm.Options{MergeSlashes: c.MergeSlashes}}
	switch c.EscapedSlashes {
	case "unescape":
		pr.opts.EscapedSlashes = pathnorm.Unescape
	case "reject":
		pr.opts.EscapedSlashes = pathnorm.Reject
	}
	return pr
}

// normalizePath normalises r's path as server.path says and returns the path
// that the router's own endpoints and the routes match. It sets r.URL's Path
// and RawPath to the normalised path the backend receives (both forwarding
// paths copy r.URL), allocating nothing when the path is already normal.
// ok is false when the path cannot be normalised safely: the client's fault,
// answered 400. With normalisation off the path is r.URL.Path, untouched.
func (rt *Router) normalizePath(r *http.Request) (path string, ok bool) {
	t := rt.table.Load()
	if !t.path.on {
		return r.URL.Path, true
	}
	// RawPath, when set, is the path as sent; when not, the path as sent is
	// the default escaping of Path.
	raw := r.URL.RawPath
	if raw == "" {
		raw = r.URL.EscapedPath()
	}
	p, err := pathnorm.Normalize(raw, t.path.opts)
	if err != nil {
		return "", false
	}
	if p.Send != raw {
		r.URL.Path, r.URL.RawPath = p.Unescaped, p.Send
	}
	return p.Match, true
}

// matchPath returns the path routes match for a raw path without escapes (a
// head the connection front decides), and false when it cannot be
// normalised: then the front leaves the request to net/http and
// ServeHTTP, which answers 400.
func (t *table) matchPath(raw string) (string, bool) {
	if !t.path.on {
		return raw, true
	}
	p, err := pathnorm.Normalize(raw, t.path.opts)
	return p.Match, err == nil
}
