package config

import "testing"

// Each problem an operator is likely to make gets one line that says what
// is wrong, where, and what would be right.
func TestConfigMessages(t *testing.T) {
	const app = "backends:\n  app: {targets: ['http://127.0.0.1:9000']}\n"
	tests := []struct {
		name string
		give string
		want string // the whole error
	}{
		{"limit policy typo",
			app + "routes:\n  - {backend: app, limit: apii}\nlimits:\n  api: {rate: 5/s}\n",
			`routes[0].limit: unknown limit policy "apii" (did you mean "api"?) (line 4)`},
		{"limit policy unknown",
			app + "routes:\n  - {backend: app, limit: strict}\nlimits:\n  api: {rate: 5/s}\n",
			`routes[0].limit: unknown limit policy "strict" (line 4)`},
		{"limit none typo",
			app + "routes:\n  - {backend: app, limit: nnoe}\n",
			`routes[0].limit: unknown limit policy "nnoe" (did you mean "none"?) (line 4)`},
		{"challenge share and bucket",
			app + "routes: [{backend: app}]\nabuse:\n  challenge: {share: 1.5, rate: 0/s, burst: 0}\n",
			`abuse.challenge.share: must be between 0 and 1 (line 5)` + "\n" +
				`abuse.challenge.rate: must be positive (line 5)` + "\n" +
				`abuse.challenge.burst: must be at least 1 (line 5)`},
		{"backend typo",
			app + "routes:\n  - {backend: ap}\n",
			`routes[0].backend: unknown backend "ap" (did you mean "app"?) (line 4)`},
		{"unknown key near a known one",
			app + "routes:\n  - {bakend: app}\n",
			`routes[0].bakend: unknown key (did you mean "backend"? known: abuse, backend, headers, inspect_body, limit, match, rewrite_prefix, stats, strip_prefix, timeouts) (line 4)` + "\n" +
				`routes[0].backend: required`},
		{"unknown key far from all",
			app + "routes:\n  - backend: app\ncolour: blue\n",
			`colour: unknown key (known: abuse, admin, backends, client_ip, health, limit_store, limits, listen, listen_proxy_protocol, log, routes, rules, server, stats, tls) (line 5)`},
		{"target without scheme",
			"backends:\n  app: {targets: ['127.0.0.1:18110']}\nroutes: [{backend: app}]\n",
			`backends.app.targets[0]: invalid URL "127.0.0.1:18110" (want http://HOST:PORT or https://HOST:PORT) (line 2)`},
		{"target host:port read as a scheme",
			"backends:\n  app: {targets: ['localhost:18110']}\nroutes: [{backend: app}]\n",
			`backends.app.targets[0]: invalid URL "localhost:18110" (want http://HOST:PORT or https://HOST:PORT) (line 2)`},
		{"target with another scheme",
			"backends:\n  app: {targets: ['ftp://127.0.0.1:21']}\nroutes: [{backend: app}]\n",
			`backends.app.targets[0]: target "ftp://127.0.0.1:21": scheme must be http or https (want http://HOST:PORT or https://HOST:PORT) (line 2)`},
		{"rate with a unit of its own",
			app + "routes: [{backend: app}]\nlimits:\n  default: {rate: 5r/m}\n",
			`limits.default.rate: invalid rate "5r/m" (want N/s, N/m or N/h, e.g. 20/s) (line 5)`},
		{"rate per day",
			app + "routes: [{backend: app}]\nlimits:\n  default: {rate: 5/d}\n",
			`limits.default.rate: invalid rate "5/d" (want N/s, N/m or N/h, e.g. 20/s) (line 5)`},
		{"health details typo",
			app + "routes: [{backend: app}]\nhealth: {details: sumary}\n",
			`health.details: unknown value "sumary" (did you mean "summary"?) (want public or summary) (line 4)`},
		{"mapping key indented one space short",
			"listen: ':8080'\nbackends:\n  app:\n    targets: ['http://127.0.0.1:9000']\n   balance: p2c\nroutes: [{backend: app}]\n",
			`(syntax): did not find expected key (check this line's indentation) (line 5)`},
		{"mapping key indented too deep",
			"backends:\n  app:\n    targets: ['http://127.0.0.1:9000']\n  routes:\n - backend: app\n",
			`(syntax): did not find expected key (check this line's indentation) (line 5)`},
		{"tab",
			"listen: ':8080'\n\tbackends: {}\n",
			`(syntax): found character that cannot start any token (line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.give))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
