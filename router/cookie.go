package router

import "strings"

// Limits on the Cookie fields the router reads for its own cookies: past
// them the request is read as carrying none of the router's cookies (it
// is served as a stranger), not refused, since the backend may accept it.
const (
	maxCookieBytes = 8 << 10 // all Cookie fields together
	maxCookies     = 64      // cookie pairs looked at
)

// findCookie returns the value of the first cookie called name in the
// Cookie fields, without allocating. ok is false when there is none or
// the fields pass the limits.
func findCookie(fields []string, name string) (v string, ok bool) {
	total, pairs := 0, 0
	for _, f := range fields {
		total += len(f)
		if total > maxCookieBytes {
			return "", false
		}
	}
	for _, f := range fields {
		for len(f) > 0 {
			pairs++
			if pairs > maxCookies {
				return "", false
			}
			var pair string
			if i := strings.IndexByte(f, ';'); i >= 0 {
				pair, f = f[:i], f[i+1:]
			} else {
				pair, f = f, ""
			}
			pair = trimSpace(pair)
			eq := strings.IndexByte(pair, '=')
			if eq < 0 || trimSpace(pair[:eq]) != name {
				continue
			}
			val := trimSpace(pair[eq+1:])
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val, true
		}
	}
	return "", false
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
