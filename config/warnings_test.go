package config

import "testing"

func TestWarnings(t *testing.T) {
	const head = "backends: {app: {targets: ['http://127.0.0.1:9000']}}\n"
	tests := []struct {
		name string
		give string
		want string // Warnings().Error(); "" for none
	}{
		{"auth route with a burst under the ban",
			head + "routes:\n  - {backend: app, limit: login, abuse: auth}\nlimits:\n  login: {rate: 5/m, burst: 3}\nabuse: {auth_failures: {max: 10}}\n",
			`routes[0].abuse: limits.login.burst (3) is not above abuse.auth_failures.max (10): a client trying passwords is refused with 429 before its 11th failure can ban it for abuse.ban.duration (1m0s); raise the burst above 10, or lower auth_failures.max below 3 (line 3)`},
		{"auth route with room for the ban",
			head + "routes:\n  - {backend: app, limit: login, abuse: auth}\nlimits:\n  login: {rate: 5/m, burst: 11}\nabuse: {auth_failures: {max: 10}}\n", ""},
		{"auth route in dry run",
			head + "routes:\n  - {backend: app, limit: login, abuse: auth}\nlimits:\n  login: {rate: 5/m, burst: 1, dry_run: true}\nabuse: {auth_failures: {max: 10}}\n", ""},
		{"auth route without limit",
			head + "routes:\n  - {backend: app, limit: none, abuse: auth}\nabuse: {auth_failures: {max: 10}}\n", ""},
		{"auth route, the default policy applies",
			head + "routes:\n  - {backend: app, abuse: auth}\nlimits:\n  default: {rate: 1/s}\nabuse: {auth_failures: {max: 2, within: 1m}}\n",
			`routes[0].abuse: limits.default.burst (1) is not above abuse.auth_failures.max (2): a client trying passwords is refused with 429 before its 3rd failure can ban it for abuse.ban.duration (1m0s); raise the burst above 2 (line 3)`},
		{"auth route with auth failures off",
			head + "routes:\n  - {backend: app, abuse: auth}\n",
			`routes[0].abuse: auth failures are not counted: abuse.auth_failures.max is 0 (off) (line 3)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Warnings().Error()
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	for n, want := range map[int]string{1: "st", 2: "nd", 3: "rd", 4: "th", 11: "th", 12: "th", 13: "th", 21: "st", 22: "nd", 111: "th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
