package pathnorm

import (
	"errors"
	"testing"
)

var (
	merged    = Options{MergeSlashes: true}
	unmerged  = Options{}
	unescaped = Options{MergeSlashes: true, EscapedSlashes: Unescape}
	rejecting = Options{MergeSlashes: true, EscapedSlashes: Reject}
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		give  string
		opts  Options
		match string
		send  string // "" means the same as match
		err   error
	}{
		// Already normal: returned as given.
		{give: "/", opts: merged, match: "/"},
		{give: "/a/b/c", opts: merged, match: "/a/b/c"},
		{give: "/a/b/", opts: merged, match: "/a/b/"},
		{give: "/a.b/..c/c../.../~x_y-z", opts: merged, match: "/a.b/..c/c../.../~x_y-z"},
		{give: "/a:b@c!$&'()*+,;=", opts: merged, match: "/a:b@c!$&'()*+,;="},

		// Dot segments (RFC 3986 5.2.4 and its examples).
		{give: "/.", opts: merged, match: "/"},
		{give: "/..", opts: merged, match: "/"},
		{give: "/./", opts: merged, match: "/"},
		{give: "/../", opts: merged, match: "/"},
		{give: "/./a", opts: merged, match: "/a"},
		{give: "/../a", opts: merged, match: "/a"},
		{give: "/../../../a", opts: merged, match: "/a"},
		{give: "/a/./b", opts: merged, match: "/a/b"},
		{give: "/a/../b", opts: merged, match: "/b"},
		{give: "/a/b/..", opts: merged, match: "/a/"},
		{give: "/a/b/.", opts: merged, match: "/a/b/"},
		{give: "/a/b/../..", opts: merged, match: "/"},
		{give: "/a/b/c/./../../g", opts: merged, match: "/a/g"},
		{give: "/mid/content=5/../6", opts: merged, match: "/mid/6"},
		{give: "/x/../limited/a", opts: merged, match: "/limited/a"},
		{give: "/a/.../b", opts: merged, match: "/a/.../b"},
		{give: "/a/.b/b./..b", opts: merged, match: "/a/.b/b./..b"},

		// Slashes.
		{give: "//", opts: merged, match: "/"},
		{give: "//a", opts: merged, match: "/a"},
		{give: "/a//b///c", opts: merged, match: "/a/b/c"},
		{give: "/a//", opts: merged, match: "/a/"},
		{give: "/a//../b", opts: merged, match: "/b"},
		{give: "//limited/a", opts: merged, match: "/limited/a"},
		{give: "//", opts: unmerged, match: "//"},
		{give: "/a//b", opts: unmerged, match: "/a//b"},
		{give: "/a//../b", opts: unmerged, match: "/a/b"},
		{give: "/a/..//b", opts: unmerged, match: "//b"},
		{give: "/a/..//b", opts: merged, match: "/b"},

		// Escapes of unreserved characters are decoded.
		{give: "/%61", opts: merged, match: "/a"},
		{give: "/%6Cimited/a", opts: merged, match: "/limited/a"},
		{give: "/%41%5a%30%39%2D%2e%5F%7E", opts: merged, match: "/AZ09-._~"},
		{give: "/%2e/limited/a", opts: merged, match: "/limited/a"},
		{give: "/%2E%2E/a", opts: merged, match: "/a"},
		{give: "/a/%2e%2E/b", opts: merged, match: "/b"},
		{give: "/a/.%2e", opts: merged, match: "/"},
		{give: "/a/%2e", opts: merged, match: "/a/"},
		{give: "/%2e%2e%2e", opts: merged, match: "/..."},

		// Other escapes stay, in upper case; Match is decoded.
		{give: "/a%20b", opts: merged, match: "/a b", send: "/a%20b"},
		{give: "/caf%c3%a9", opts: merged, match: "/caf\u00e9", send: "/caf%C3%A9"},
		{give: "/a%3fb", opts: merged, match: "/a?b", send: "/a%3Fb"},
		{give: "/a%25b", opts: merged, match: "/a%b", send: "/a%25b"},
		{give: "/%2541", opts: merged, match: "/%41", send: "/%2541"},
		{give: "/%252e%252e/a", opts: merged, match: "/%2e%2e/a", send: "/%252e%252e/a"},
		{give: "/a%3Ab", opts: merged, match: "/a:b", send: "/a%3Ab"},
		{give: "/a%80", opts: merged, match: "/a\x80", send: "/a%80"},
		{give: "/a%ff", opts: merged, match: "/a\xff", send: "/a%FF"},

		// Bytes a path may not hold raw are escaped for the backend.
		{give: "/a\"b", opts: merged, match: "/a\"b", send: "/a%22b"},
		{give: "/a b", opts: merged, match: "/a b", send: "/a%20b"},
		{give: "/a{b}|^`<>", opts: merged, match: "/a{b}|^`<>", send: "/a%7Bb%7D%7C%5E%60%3C%3E"},
		{give: "/caf\u00e9", opts: merged, match: "/caf\u00e9", send: "/caf%C3%A9"},
		{give: "/a#b", opts: merged, match: "/a#b", send: "/a%23b"},

		// Escaped slashes are separators for matching.
		{give: "/limited%2Fa", opts: merged, match: "/limited/a", send: "/limited%2Fa"},
		{give: "/limited%2fa", opts: merged, match: "/limited/a", send: "/limited%2Fa"},
		{give: "/a%2F..%2Fb", opts: merged, match: "/b", send: "/a%2F..%2Fb"},
		{give: "/x%2F..%2Flimited/a", opts: merged, match: "/limited/a", send: "/x%2F..%2Flimited/a"},
		{give: "/a%2F%2Fb", opts: merged, match: "/a/b", send: "/a%2F%2Fb"},
		{give: "/a%2F%2Fb", opts: unmerged, match: "/a//b", send: "/a%2F%2Fb"},
		{give: "/p/http%3A%2F%2Fh", opts: merged, match: "/p/http:/h", send: "/p/http%3A%2F%2Fh"},
		{give: "/a%2F", opts: merged, match: "/a/", send: "/a%2F"},
		{give: "/%2F", opts: merged, match: "/", send: "/%2F"},
		{give: "/limited%2Fa", opts: unescaped, match: "/limited/a"},
		{give: "/a%2f..%2fb", opts: unescaped, match: "/b"},
		{give: "/a%2F%2Fb", opts: unescaped, match: "/a/b"},
		{give: "/a%2Fb", opts: rejecting, err: ErrEscapedSlash},
		{give: "/a%2fb", opts: rejecting, err: ErrEscapedSlash},

		// Backslashes are ordinary characters, sent escaped.
		{give: "/a%5Cb", opts: merged, match: "/a\\b", send: "/a%5Cb"},
		{give: "/a%5cb", opts: merged, match: "/a\\b", send: "/a%5Cb"},
		{give: "/a\\b", opts: merged, match: "/a\\b", send: "/a%5Cb"},
		{give: "/a%5C..%5Cb", opts: merged, match: "/a\\..\\b", send: "/a%5C..%5Cb"},
		{give: "/a%5Cb", opts: unescaped, match: "/a\\b", send: "/a%5Cb"},
		{give: "/a%5Cb", opts: rejecting, err: ErrEscapedSlash},
		{give: "/a\\b", opts: rejecting, err: ErrEscapedSlash},

		// Paths that cannot be normalised safely.
		{give: "", opts: merged, err: ErrNotOrigin},
		{give: "*", opts: merged, err: ErrNotOrigin},
		{give: "a/b", opts: merged, err: ErrNotOrigin},
		{give: "%2Fa", opts: merged, err: ErrNotOrigin},
		{give: "http://h/a", opts: merged, err: ErrNotOrigin},
		{give: "/a%zz", opts: merged, err: ErrBadEscape},
		{give: "/a%2", opts: merged, err: ErrBadEscape},
		{give: "/a%", opts: merged, err: ErrBadEscape},
		{give: "/a%%41", opts: merged, err: ErrBadEscape},
		{give: "/a%g0", opts: merged, err: ErrBadEscape},
		{give: "/a%00", opts: merged, err: ErrControl},
		{give: "/a%00b", opts: unmerged, err: ErrControl},
		{give: "/a%0a", opts: merged, err: ErrControl},
		{give: "/a%0D%0A", opts: merged, err: ErrControl},
		{give: "/a%1f", opts: merged, err: ErrControl},
		{give: "/a%7f", opts: merged, err: ErrControl},
		{give: "/a\x00", opts: merged, err: ErrControl},
		{give: "/a\tb", opts: merged, err: ErrControl},
		{give: "/a\x7f", opts: merged, err: ErrControl},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.give, tt.opts)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Normalize(%q, %+v) error %v, want %v", tt.give, tt.opts, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Normalize(%q, %+v): %v", tt.give, tt.opts, err)
			continue
		}
		send := tt.send
		if send == "" {
			send = tt.match
		}
		if got.Match != tt.match || got.Send != send {
			t.Errorf("Normalize(%q, %+v) = match %q send %q, want %q %q", tt.give, tt.opts, got.Match, got.Send, tt.match, send)
		}
	}
}

func TestNormalizeUnescaped(t *testing.T) {
	tests := []struct{ give, want string }{
		{"/a", "/a"},
		{"/a%20b", "/a b"},
		{"/limited%2Fa", "/limited/a"},
		{"/a%2F..%2Fb", "/a/../b"}, // Match is "/b"
		{"/a%2F%2Fb", "/a//b"},     // Match is "/a/b"
	}
	for _, tt := range tests {
		got, err := Normalize(tt.give, merged)
		if err != nil || got.Unescaped != tt.want {
			t.Errorf("Normalize(%q).Unescaped = %q, %v; want %q", tt.give, got.Unescaped, err, tt.want)
		}
	}
}

func TestNormalizeAllocs(t *testing.T) {
	for _, p := range []string{"/", "/limited/a", "/wsapi/session_context", "/a/b/", "/a.b/~c:d@e"} {
		if n := testing.AllocsPerRun(100, func() { Normalize(p, merged) }); n != 0 {
			t.Errorf("Normalize(%q): %v allocations, want 0", p, n)
		}
	}
}
