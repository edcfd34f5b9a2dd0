package config

import "testing"

func TestPrefixMessages(t *testing.T) {
	const app = "backends:\n  app: {targets: ['http://127.0.0.1:9000']}\nroutes:\n"
	for _, tt := range []struct{ name, give, want string }{
		{"relative", "  - {backend: app, strip_prefix: api}\n",
			`routes[0].strip_prefix: invalid prefix "api": must start with / (line 4)`},
		{"dot segment", "  - {backend: app, rewrite_prefix: /v2/../admin, strip_prefix: /api}\n",
			`routes[0].rewrite_prefix: invalid prefix "/v2/../admin": it holds a dot segment (line 4)`},
		{"double slash", "  - {backend: app, strip_prefix: /a//b}\n",
			`routes[0].strip_prefix: invalid prefix "/a//b": it holds // (line 4)`},
		{"escape", "  - {backend: app, strip_prefix: /a%20b}\n",
			`routes[0].strip_prefix: invalid prefix "/a%20b": want letters, digits and -._~!$&'()*+,;=:@ between slashes, unescaped (line 4)`},
		{"rewrite of nothing", "  - {backend: app, rewrite_prefix: /v2}\n",
			`routes[0].rewrite_prefix: nothing to replace: set strip_prefix or match.path_prefix (line 4)`},
		{"typo", "  - {backend: app, strip_prefx: /api}\n",
			`routes[0].strip_prefx: unknown key (did you mean "strip_prefix"? known: abuse, backend, headers, inspect_body, limit, match, rewrite_prefix, stats, strip_prefix, timeouts) (line 4)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(app + tt.give))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	for _, ok := range []string{
		"  - {backend: app, strip_prefix: /, rewrite_prefix: /v2/}\n",
		"  - {backend: app, match: {path_prefix: /api/}, rewrite_prefix: /}\n",
		"  - {backend: app, strip_prefix: /api/v1:x@y, rewrite_prefix: /v2}\n",
	} {
		if _, err := Load([]byte(app + ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
