package router

import (
	"net/url"
	"strings"
)

// prefixRewrite is a route's strip_prefix and rewrite_prefix, compiled: a
// path the backend gets that starts with from at a segment boundary has
// from replaced with to.
type prefixRewrite struct {
	from string // decoded, as match.path_prefix
	to   string // "" when only stripping; needs no escaping (validated)
}

// compilePrefix returns nil when the route rewrites no path.
func compilePrefix(strip, rewrite, pathPrefix string) *prefixRewrite {
	switch {
	case strip != "":
		return &prefixRewrite{from: strip, to: rewrite}
	case rewrite != "" && pathPrefix != "":
		return &prefixRewrite{from: pathPrefix, to: rewrite}
	}
	return nil
}

// apply rewrites u's path (the outgoing request's copy of the URL) in its
// escaped form, so the client's escapes reach the backend as they were.
// A path that does not start with the prefix is left as it is.
func (pr *prefixRewrite) apply(u *url.URL) {
	esc := u.EscapedPath()
	p, ok := rewritePrefix(esc, pr.from, pr.to)
	if !ok {
		return
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return // cannot happen: p's escapes are esc's
	}
	u.Path, u.RawPath = dec, p
}

// rewritePrefix replaces from at the start of the escaped path esc with to.
// from is matched against esc decoded, as routes match (so %2F is a slash
// there too), and must end at a segment boundary: from ends with "/", or
// esc's next character is a slash or there is none. What follows is joined
// to to with one slash; an empty result is "/":
//
//	from /api,  to ""  : /api -> /,  /api/ -> /,  /api/x -> /x
//	from /api/, to /v2 : /api/x -> /v2/x,  /api/ -> /v2
//	from /api,  to /v2/: /api -> /v2/,  /api/ -> /v2/,  /api/x/ -> /v2/x/
//
// and /apix does not start with /api.
func rewritePrefix(esc, from, to string) (string, bool) {
	i, j := 0, 0 // in esc, in from
	for j < len(from) {
		if i >= len(esc) {
			return "", false
		}
		c, n := esc[i], 1
		if c == '%' && i+2 < len(esc) {
			if h, ok := unhex2(esc[i+1], esc[i+2]); ok {
				c, n = h, 3
			}
		}
		if c != from[j] {
			return "", false
		}
		i, j = i+n, j+1
	}
	tail, slash := esc[i:], false
	switch {
	case strings.HasSuffix(from, "/"), tail == "":
	case tail[0] == '/':
		tail, slash = tail[1:], true
	case len(tail) >= 3 && tail[0] == '%' && tail[1] == '2' && (tail[2] == 'F' || tail[2] == 'f'):
		tail, slash = tail[3:], true
	default:
		return "", false
	}
	if tail == "" && !slash {
		if to == "" {
			return "/", true
		}
		return to, true
	}
	return strings.TrimSuffix(to, "/") + "/" + tail, true
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
