package testutil

import (
	"testing"

	"github.com/bulwark-router/bulwark/config"
)

// BaseYAML is the least a config needs: one backend (nothing listens at
// its target) and a catch-all route to it.
const BaseYAML = `
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - match: {path_prefix: /}
    backend: app
`

// Config loads BaseYAML followed by yaml, or fails t.
func Config(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]byte(BaseYAML + yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}
