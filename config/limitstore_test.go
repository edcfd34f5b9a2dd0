package config

import (
	"strings"
	"testing"
)

// limit_store's address forms: single server, cluster (URL seeds and
// addrs), Sentinel, and the mistakes each one invites.
func TestLimitStoreForms(t *testing.T) {
	const app = "backends:\n  app: {targets: ['http://127.0.0.1:9000']}\nroutes: [{backend: app}]\n"
	tests := []struct {
		name string
		give string
		want string // "" means valid; else a substring of the error
	}{
		{"single", "limit_store: {url: 'redis://127.0.0.1:6379/0'}", ""},
		{"cluster url", "limit_store: {cluster: true, url: 'redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002'}", ""},
		{"cluster addrs", "limit_store: {cluster: true, url: 'redis://127.0.0.1:7000', addrs: ['127.0.0.1:7001']}", ""},
		{"sentinel", "limit_store: {sentinel: {master_name: m, addrs: ['127.0.0.1:26379']}}", ""},
		{"sentinel with url", "limit_store: {url: 'rediss://:pw@x:1/2', sentinel: {master_name: m, addrs: ['127.0.0.1:26379']}}", ""},
		{"lease", "limit_store: {url: 'redis://127.0.0.1:6379', mode: lease}", ""},
		{"seeds without cluster", "limit_store: {url: 'redis://127.0.0.1:7000?addr=127.0.0.1:7001'}", "limit_store.url: addr= seeds need cluster: true"},
		{"addrs without cluster", "limit_store: {url: 'redis://127.0.0.1:7000', addrs: ['127.0.0.1:7001']}", "limit_store.addrs: seed addresses need cluster: true"},
		{"bad addr", "limit_store: {cluster: true, url: 'redis://127.0.0.1:7000', addrs: ['nope']}", `limit_store.addrs[0]: invalid address "nope"`},
		{"sentinel no name", "limit_store: {sentinel: {addrs: ['127.0.0.1:26379']}}", "limit_store.sentinel.master_name: required"},
		{"sentinel no addrs", "limit_store: {sentinel: {master_name: m}}", "limit_store.sentinel.addrs: at least one"},
		{"sentinel and cluster", "limit_store: {cluster: true, url: 'redis://x:1', sentinel: {master_name: m, addrs: ['x:2']}}", "cluster and sentinel exclude each other"},
		{"mode typo", "limit_store: {url: 'redis://127.0.0.1:6379', mode: leased}", `limit_store.mode: unknown value "leased"`},
		{"missing ca", "limit_store: {url: 'rediss://127.0.0.1:6379', ca_file: /nonexistent/ca.pem}", "limit_store.ca_file:"},
		{"no url", "limit_store: {on_error: local}", "limit_store.url: invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load([]byte(app + tt.give + "\n"))
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want == "" && c.LimitStore.Mode != "lease" && c.LimitStore.Mode != "exact":
				t.Fatalf("mode %q", c.LimitStore.Mode)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
