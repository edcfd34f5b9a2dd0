package config

import (
	"slices"
	"testing"
)

func TestRestartOnlyChanges(t *testing.T) {
	tests := []struct {
		name string
		give string // appended to minimal for the new config
		want []string
	}{
		{"nothing", "", nil},
		{"reloadable keys only", "server: {shutdown_grace: 5s, drain_delay: 1s, path: {merge_slashes: false}}\nlimits: {default: {rate: 1/s}}\n", nil},
		{"listen", "listen: ':9090'\n", []string{"listen"}},
		{"server timeouts", "server: {read_timeout: 1s, max_header_bytes: 4KiB, shutdown_grace: 1s}\n",
			[]string{"server.read_timeout", "server.max_header_bytes"}},
		{"admin token", "admin: {token: s3cret}\n", []string{"admin.token"}},
		{"limit store", "limit_store: {url: 'redis://127.0.0.1:6379/0'}\n", []string{"limit_store"}},
		{"attack", "abuse: {attack: {factor: 8}, new_client_share: 0.5}\n", []string{"abuse.attack.factor"}},
		{"challenge", "abuse: {challenge: {mode: pow, share: 0.5}, token: {ttl: 1h}}\n", []string{"abuse.token.ttl", "abuse.challenge.mode"}},
	}
	running, err := Load([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := Load([]byte(minimal + tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if got := RestartOnlyChanges(running, next); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
