package config

import "strings"

// unmatchable says why a route's path (or, with prefix, path prefix), which
// starts with "/", can never match a request path normalised as s says; ""
// when it can. The last segment of a prefix may be the start of a longer
// one ("/a/.." begins "/a/..b"), so only its complete segments count.
func unmatchable(p string, prefix bool, s PathNorm) string {
	if !s.Normalize {
		return ""
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if prefix && last {
			break
		}
		switch {
		case seg == "." || seg == "..":
			return "it holds a dot segment, which a normalised path never does"
		case seg == "" && !last && s.MergeSlashes:
			return "it holds //, which a normalised path never does (server.path.merge_slashes)"
		}
	}
	return ""
}
