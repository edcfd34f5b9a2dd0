package limitkey

import (
	"net/http"
	"net/url"
	"strings"
)

// Result says what Extract found.
type Result uint8

const (
	Found     Result = iota
	Missing          // no such value: the client's own "missing" bucket
	Duplicate        // a JSON body has the field twice: 400
)

// maxValue bounds a key's value; a longer one is cut (and hashed as cut).
const maxValue = 1024

// Extract returns the value spec names in a request: h its header, rawQuery
// its query, body the first bytes of its body (at most max_inspect_bytes).
// Values are folded to lower case with spec.Fold.
func Extract(spec Spec, h http.Header, rawQuery string, body []byte) (string, Result) {
	var v string
	res := Missing
	switch spec.Kind {
	case Header:
		if vs := h.Values(spec.Name); len(vs) > 0 && vs[0] != "" {
			v, res = vs[0], Found
		}
	case Cookie:
		for _, line := range h["Cookie"] {
			if c, ok := cookieValue(line, spec.Name); ok {
				v, res = c, Found
				break
			}
		}
	case Query:
		if x, dup := firstField(rawQuery, spec.Name); x != "" && !dup {
			v, res = x, Found
		}
	case Form:
		x, dup := firstField(string(body), spec.Name)
		switch {
		case dup:
			return "", Duplicate
		case x != "":
			v, res = x, Found
		}
	case JSON:
		v, res = JSONField(body, spec.Name)
	}
	if res != Found {
		return "", res
	}
	return Normalize(spec, v)
}

// Normalize is how a found value becomes a key: trimmed, cut at 1 KiB,
// folded with spec.Fold; an empty one is Missing.
func Normalize(spec Spec, v string) (string, Result) {
	v = strings.TrimSpace(v)
	if len(v) > maxValue {
		v = v[:maxValue]
	}
	if v == "" {
		return "", Missing
	}
	if spec.Fold {
		v = strings.ToLower(v)
	}
	return v, Found
}

func cookieValue(line, name string) (string, bool) {
	for part := range strings.SplitSeq(line, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == name {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// firstField returns the value of name in a query or form body, and
// whether it is there more than once.
func firstField(raw, name string) (string, bool) {
	var v string
	seen := false
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, val, _ := strings.Cut(kv, "=")
		if k != name {
			if u, err := url.QueryUnescape(k); err != nil || u != name {
				continue
			}
		}
		if seen {
			return v, true
		}
		seen = true
		if u, err := url.QueryUnescape(val); err == nil {
			v = u
		}
	}
	return v, false
}
