package router

import "strings"

// The access line's request fields: the route, host, user agent and query,
// with the values of secret-bearing query parameters (log.redact_query)
// replaced, so a token in a URL does not end up in the logs.

// redacted stands in for a hidden query value.
const redacted = "REDACTED"

// redactSet holds log.redact_query's names, lower-cased.
type redactSet map[string]struct{}

func newRedactSet(names []string) redactSet {
	set := make(redactSet, len(names))
	for _, n := range names {
		set[strings.ToLower(n)] = struct{}{} // config names: ASCII in practice
	}
	return set
}

// hides reports whether the parameter named name (as sent) is one whose
// value is hidden. Names are compared without ASCII case; an escaped name
// is compared as sent.
func (s redactSet) hides(name string) bool {
	if len(s) == 0 || name == "" {
		return false
	}
	if _, ok := s[name]; ok {
		return true
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			b := []byte(name)
			for j, c := range b {
				if 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			_, ok := s[string(b)]
			return ok
		}
	}
	return false
}

// redactQuery returns q with the value of every parameter s hides replaced
// by REDACTED. It returns q itself, allocating nothing, when nothing is
// hidden. Parameters split at '&' and ';' as servers variously do.
func (s redactSet) redactQuery(q string) string {
	if len(s) == 0 || q == "" {
		return q
	}
	var b strings.Builder
	copied := 0 // q[:copied] is in b
	for start := 0; start <= len(q); {
		end := start + strings.IndexAny(q[start:], "&;")
		if end < start {
			end = len(q)
		}
		param := q[start:end]
		if eq := strings.IndexByte(param, '='); eq >= 0 && s.hides(param[:eq]) && param[eq+1:] != redacted {
			if b.Len() == 0 {
				b.Grow(len(q) + len(redacted))
			}
			b.WriteString(q[copied : start+eq+1])
			b.WriteString(redacted)
			copied = end
		}
		start = end + 1
	}
	if copied == 0 {
		return q
	}
	b.WriteString(q[copied:])
	return b.String()
}
