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
			`server.path.normalise: unknown key (known: escaped_slashes, merge_slashes, normalize) (line 8)`},
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
