package config

import (
	"strings"
	"testing"
)

func TestServerPathDefaultsAndOverrides(t *testing.T) {
	tests := []struct {
		give string
		want PathNorm
	}{
		{"", PathNorm{Normalize: true, MergeSlashes: true, EscapedSlashes: "keep"}},
		{"server: {path: {normalize: false}}\n", PathNorm{Normalize: false, MergeSlashes: true, EscapedSlashes: "keep"}},
		{"server: {path: {merge_slashes: false, escaped_slashes: reject}}\n", PathNorm{Normalize: true, MergeSlashes: false, EscapedSlashes: "reject"}},
		{"server: {path: {escaped_slashes: unescape}}\n", PathNorm{Normalize: true, MergeSlashes: true, EscapedSlashes: "unescape"}},
	}
	for _, tt := range tests {
		c, err := Load([]byte(minimal + tt.give))
		if err != nil {
			t.Fatalf("%q: %v", tt.give, err)
		}
		if c.Server.Path != tt.want {
			t.Errorf("%q: server.path = %+v, want %+v", tt.give, c.Server.Path, tt.want)
		}
	}
}

func TestServerPathErrorsNameTheField(t *testing.T) {
	tests := []struct{ give, want string }{
		{"server:\n  path:\n    escaped_slashes: decode\n",
			`server.path.escaped_slashes: unknown value "decode" (want keep, unescape or reject) (line 8)`},
		{"server:\n  path:\n    escaped_slashes: \"\"\n",
			`server.path.escaped_slashes: unknown value "" (want keep, unescape or reject) (line 8)`},
		{"server:\n  path:\n    normalise: true\n",
			`server.path.normalise: unknown key (did you mean "normalize"? known: escaped_slashes, merge_slashes, normalize) (line 8)`},
		{"server:\n  path:\n    merge_slashes: often\n",
			`server.path.merge_slashes:`},
	}
	for _, tt := range tests {
		_, err := Load([]byte(minimal + tt.give))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.give, err, tt.want)
		}
	}
}

func TestRoutePathsNormalisationCannotMatch(t *testing.T) {
	tests := []struct {
		server, match, want string // want "" means valid
	}{
		{"", "{path: /a/b/}", ""},
		{"", "{path_prefix: /a/}", ""},
		{"", "{path_prefix: /a/..}", ""}, // begins /a/..b
		{"", "{path_prefix: /.well-known/}", ""},
		{"", "{path: /a/./b}", `routes[0].match.path: "/a/./b" never matches: it holds a dot segment`},
		{"", "{path: /a/..}", `routes[0].match.path: "/a/.." never matches: it holds a dot segment`},
		{"", "{path_prefix: /x/../a/}", `routes[0].match.path_prefix: "/x/../a/" never matches: it holds a dot segment`},
		{"", "{paths: [/a, /a//b]}", `routes[0].match.paths[1]: "/a//b" never matches: it holds //`},
		{"", "{path_prefix: /a//}", `routes[0].match.path_prefix: "/a//" never matches: it holds //`},
		{"server: {path: {merge_slashes: false}}", "{path: /a//b}", ""},
		{"server: {path: {normalize: false}}", "{path: /a/./b}", ""},
	}
	for _, tt := range tests {
		src := tt.server + `
backends:
  app: {targets: ["http://127.0.0.1:9000"]}
routes:
  - {match: ` + tt.match + `, backend: app}
`
		_, err := Load([]byte(src))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %s: %v", tt.server, tt.match, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %s: error %v, want %q", tt.server, tt.match, err, tt.want)
		}
	}
}
