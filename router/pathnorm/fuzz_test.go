package pathnorm

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"/", "/a/b", "//a//b//", "/./a/../b/.", "/../..", "/%2e%2E/a", "/a%2F..%2Fb",
		"/a%5C%5cb", "/a\\b", "/%6Cimited/a", "/a%20b%c3%a9", "/a%zz", "/a%2", "/%00",
		"/a b\"c", "*", "", "/p/http%3A%2F%2Fh", "/%252e%252e", "/a/..//b",
	} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw string, mode uint8) {
		o := Options{MergeSlashes: mode&1 == 0, EscapedSlashes: EscapedSlashes(mode>>1) % 3}
		p, err := Normalize(raw, o)
		if err != nil {
			return
		}
		if again, err := Normalize(p.Send, o); err != nil || again != p {
			t.Fatalf("not idempotent: %q → %+v → %+v, %v", raw, p, again, err)
		}
		checkForm(t, "Send", p.Send, o)
		checkForm(t, "Match", p.Match, o)
		checkEscapes(t, p.Send, o)
		if u, err := url.PathUnescape(p.Send); err != nil || u != p.Unescaped {
			t.Fatalf("Unescaped %q, url.PathUnescape(%q) = %q, %v", p.Unescaped, p.Send, u, err)
		}
		// net/url sends Send as it is.
		if u := (url.URL{Path: p.Unescaped, RawPath: p.Send}); u.EscapedPath() != p.Send {
			t.Fatalf("EscapedPath %q, want %q", u.EscapedPath(), p.Send)
		}
		if !strings.Contains(p.Send, "%2F") && p.Match != p.Unescaped {
			t.Fatalf("Match %q, Unescaped %q differ without an escaped slash", p.Match, p.Unescaped)
		}
		if !strings.Contains(raw, "%") && !strings.Contains(raw, "\\") {
			if want := reference(raw, o.MergeSlashes); p.Match != want {
				t.Fatalf("%q: Match %q, reference %q", raw, p.Match, want)
			}
		}
	})
}

// checkForm checks what Send and Match share: a leading slash, no dot
// segment, no empty one but the last with MergeSlashes.
func checkForm(t *testing.T, name, s string, o Options) {
	t.Helper()
	if !strings.HasPrefix(s, "/") {
		t.Fatalf("%s %q does not start with /", name, s)
	}
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		if seg == "." || seg == ".." {
			t.Fatalf("%s %q holds a dot segment", name, s)
		}
		if o.MergeSlashes && seg == "" && i < len(segs)-1 {
			t.Fatalf("%s %q holds //", name, s)
		}
	}
}

// checkEscapes checks Send's escapes: upper case, none of an unreserved
// character or a control byte, escaped slashes as the options say, and only
// bytes a path may hold raw.
func checkEscapes(t *testing.T, s string, o Options) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !plain[c] && c != '/' {
				t.Fatalf("Send %q holds a raw %q", s, c)
			}
			continue
		}
		if i+2 >= len(s) {
			t.Fatalf("Send %q ends in a short escape", s)
		}
		h := s[i+1 : i+3]
		if strings.ToUpper(h) != h {
			t.Fatalf("Send %q has a lower-case escape", s)
		}
		v := unhex(h[0])<<4 | unhex(h[1])
		switch {
		case unreserved[v]:
			t.Fatalf("Send %q escapes the unreserved %q", s, v)
		case v < 0x20 || v == 0x7f:
			t.Fatalf("Send %q escapes a control byte", s)
		case v == '/' && o.EscapedSlashes != Keep:
			t.Fatalf("Send %q keeps %%2F with %v", s, o.EscapedSlashes)
		case v == '\\' && o.EscapedSlashes == Reject:
			t.Fatalf("Send %q holds %%5C with Reject", s)
		}
		i += 2
	}
}

// reference normalises a path without escapes or backslashes the simple
// way: path.Clean with merged slashes (keeping a trailing slash where the
// last segment is empty or a dot segment), RFC 3986's own algorithm
// without. Bytes a path may not hold raw are left as they are in Match.
func reference(p string, merge bool) string {
	if !merge {
		return removeDotSegments(p)
	}
	c := path.Clean(p)
	last := p[strings.LastIndexByte(p, '/')+1:]
	if c != "/" && (last == "" || last == "." || last == "..") {
		c += "/"
	}
	return c
}

// removeDotSegments is RFC 3986 section 5.2.4, rule by rule.
func removeDotSegments(in string) string {
	var out string
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			out = out[:max(strings.LastIndexByte(out, '/'), 0)]
		case in == "/..":
			in = "/"
			out = out[:max(strings.LastIndexByte(out, '/'), 0)]
		case in == "." || in == "..":
			in = ""
		default:
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				out, in = out+in, ""
			} else {
				out, in = out+in[:i+1], in[i+1:]
			}
		}
	}
	return out
}

func TestReference(t *testing.T) {
	// The RFC's own examples (5.2.4).
	for give, want := range map[string]string{
		"/a/b/c/./../../g":    "/a/g",
		"/mid/content=5/../6": "/mid/6",
	} {
		if got := removeDotSegments(give); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", give, got, want)
		}
	}
}
