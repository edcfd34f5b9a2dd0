package rules

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.Main(m)) }

// loginLimit is the limit policy the tests' rules name.
const loginLimit = "limits:\n  login: {rate: 1/s, burst: 2}\n"

// baseYAML is testutil's base config with loginLimit.
const baseYAML = testutil.BaseYAML + loginLimit

// loadConfig loads baseYAML followed by extra.
func loadConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	return testutil.Config(t, loginLimit+extra)
}
