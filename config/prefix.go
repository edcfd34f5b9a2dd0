package config

import "strings"

// prefixes checks a route's strip_prefix and rewrite_prefix: paths of
// segments of plain characters (no escape is needed to send them), with
// no empty or dot segment but for a trailing "/".
func (v *validator) prefixes(p string, r Route) {
	if r.StripPrefix != "" {
		if why := badPrefix(r.StripPrefix); why != "" {
			v.fail(p+".strip_prefix", "invalid prefix %q: %s", r.StripPrefix, why)
		}
	}
	if r.RewritePrefix != "" {
		if why := badPrefix(r.RewritePrefix); why != "" {
			v.fail(p+".rewrite_prefix", "invalid prefix %q: %s", r.RewritePrefix, why)
		}
		if r.StripPrefix == "" && r.Match.PathPrefix == "" {
			v.fail(p+".rewrite_prefix", "nothing to replace: set strip_prefix or match.path_prefix")
		}
	}
}

// badPrefix says what is wrong with a strip_prefix or rewrite_prefix, ""
// when nothing is.
func badPrefix(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "must start with /"
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	for _, seg := range segs {
		switch {
		case seg == "" && s != "/":
			return "it holds //"
		case seg == "." || seg == "..":
			return "it holds a dot segment"
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			case strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
			default:
				return "want letters, digits and -._~!$&'()*+,;=:@ between slashes, unescaped"
			}
		}
	}
	return ""
}
