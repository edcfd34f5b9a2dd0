package rules

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwark-router/bulwark/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const baseYAML = `
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - match: {path_prefix: /}
    backend: app
limits:
  login: {rate: 1/s, burst: 2}
`

func loadConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	c, err := config.Load([]byte(baseYAML + extra))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}
